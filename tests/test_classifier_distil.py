"""Distillation: a shallower student trained on the teacher's outputs tracks the teacher on unseen families."""

import numpy as np
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from classifiers.backends import TorchBackend, run_batched
from classifiers.corpus import build_corpus
from classifiers.encoding import encode
from classifiers.train import TrainConfig, distil, shallow_copy
from core.labels import OUTPUTS
from tests.plugins.model import TrainedModel


def _sale_probs(model, tokenizer, texts: list[str]) -> np.ndarray:
    ids = encode(tokenizer, texts, 64).ids
    return 1 / (1 + np.exp(-run_batched(TorchBackend(model), ids, 64, len(OUTPUTS))[:, 0]))


def test_student_keeps_spread_layers_and_learns_the_teacher(trained_model: TrainedModel) -> None:
    teacher = AutoModelForSequenceClassification.from_pretrained(trained_model.model_dir, dtype="float32").eval()
    tokenizer = AutoTokenizer.from_pretrained(trained_model.model_dir)
    corpus = build_corpus(per_family=8, seed=5)
    transfer = [e for e in corpus if e.split == "train"][:200]
    held_out = [e.text() for e in corpus if e.split == "validation"][:150]
    cfg = TrainConfig(per_family=8, epochs=2, max_length=64, layers=2, learning_rate=1e-4)

    untrained = shallow_copy(teacher, 2)
    assert untrained.config.distilled_from_layers == [0, 3]
    assert teacher.config.num_hidden_layers == 6  # the teacher itself is not cut down

    student = distil(teacher, tokenizer, transfer, cfg)

    assert student.config.num_hidden_layers == len(student.bert.encoder.layer) == 2
    want = _sale_probs(teacher, tokenizer, held_out)
    gap_before = np.abs(_sale_probs(untrained, tokenizer, held_out) - want).mean()
    gap_after = np.abs(_sale_probs(student, tokenizer, held_out) - want).mean()
    assert gap_after < gap_before * 0.75, (gap_before, gap_after)
