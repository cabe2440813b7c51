"""The two ways to run the network: PyTorch (training, reference) and int8 ONNX Runtime (serving).

Both take padded ``input_ids``/``attention_mask`` arrays and return raw logits, so batching,
calibration and explanations are written once, in `classifiers.inference`, for either.
"""

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from .encoding import length_batches, pad_batch

ONNX_FILE = "onnx/model.int8.onnx"
ONNX_FP32_FILE = "onnx/model.onnx"


class Backend(Protocol):
    kind: str

    def logits(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray: ...


def cpu_threads() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


class TorchBackend:
    kind = "pytorch"

    def __init__(self, model) -> None:
        self.model = model.eval()

    @classmethod
    def load(cls, model_dir: Path) -> "TorchBackend":
        from transformers import AutoModelForSequenceClassification

        return cls(AutoModelForSequenceClassification.from_pretrained(model_dir, dtype="float32"))

    def logits(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            out = self.model(input_ids=torch.from_numpy(input_ids), attention_mask=torch.from_numpy(attention_mask))
        return out.logits.float().numpy()


class OnnxBackend:
    kind = "onnx-int8"

    def __init__(self, path: Path, threads: int | None = None) -> None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.intra_op_num_threads = threads or cpu_threads()
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        self.session = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
        self.kind = "onnx-int8" if path.name.endswith(".int8.onnx") else "onnx-fp32"

    def logits(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        (out,) = self.session.run(["logits"], {"input_ids": input_ids, "attention_mask": attention_mask})
        return np.asarray(out, dtype=np.float32)


def run_batched(backend: Backend, ids: Sequence[Sequence[int]], batch_size: int, n_outputs: int) -> np.ndarray:
    """Logits for every row, computed in length-sorted batches and returned in input order."""
    result = np.zeros((len(ids), n_outputs), dtype=np.float32)
    for batch in length_batches([len(r) for r in ids], batch_size):
        input_ids, mask = pad_batch([ids[i] for i in batch])
        result[batch] = backend.logits(input_ids, mask)
    return result
