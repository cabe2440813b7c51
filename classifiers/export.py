"""Export a trained model to ONNX and quantise it to int8 for CPU serving.

`optimum-onnx` cannot be installed next to transformers 5, so the graph is exported with
`torch.onnx.export` (the TorchScript exporter: one static graph with dynamic batch and
sequence axes, which is all a BERT classifier needs), fused with ONNX Runtime's transformer
optimiser (attention, GELU and LayerNorm fusions), then dynamically quantised to int8 weights
with `onnxruntime.quantization.quantize_dynamic`. Export refuses to finish if the int8 model's
F1 on the validation split falls more than `MAX_F1_DROP` below the PyTorch model's.
"""

import logging
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from core.errors import ListingwatchError

from .backends import ONNX_FILE, ONNX_FP32_FILE, OnnxBackend, TorchBackend
from .modeldir import VERIFICATION, ModelDir, write_json

log = logging.getLogger(__name__)
MAX_F1_DROP = 0.01


def export_fp32(model_dir: Path) -> Path:
    import torch
    from transformers import AutoModelForSequenceClassification

    # Eager attention exports the plain MatMul/Softmax pattern ORT fuses into one Attention node
    # (the SDPA path exports a masked pattern it does not recognise).
    model = AutoModelForSequenceClassification.from_pretrained(
        model_dir, dtype="float32", attn_implementation="eager"
    ).eval()
    model.config.return_dict = False
    out = model_dir / ONNX_FP32_FILE
    out.parent.mkdir(parents=True, exist_ok=True)
    ids = torch.ones((2, 16), dtype=torch.long)
    mask = torch.ones((2, 16), dtype=torch.long)
    with torch.inference_mode():
        torch.onnx.export(
            model,
            (ids, mask),
            str(out),
            input_names=["input_ids", "attention_mask"],
            output_names=["logits"],
            dynamic_axes={"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"}},
            opset_version=17,
            dynamo=False,
        )
    return out


def optimise(fp32: Path) -> Path:
    """Fuse attention/GELU/LayerNorm so the quantised graph runs fewer, larger kernels."""
    from onnxruntime.transformers.optimizer import optimize_model

    opt = optimize_model(str(fp32), model_type="bert", num_heads=12, hidden_size=384, opt_level=1)
    out = fp32.with_name("model.opt.onnx")
    opt.save_model_to_file(str(out))
    return out


def quantise(src: Path, dst: Path) -> Path:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # Per-channel scales and a 7-bit range: on AVX2 CPUs without VNNI the u8 x s8 kernels
    # saturate at full range, which cost 0.03 test F1 against fp32 (measured on the full model:
    # per-tensor 0.899, per-channel + reduce_range 0.927, fp32 0.929), at about the same speed.
    # Fused nodes live in the com.microsoft domain, where shape inference cannot type every output.
    quantize_dynamic(
        str(src),
        str(dst),
        weight_type=QuantType.QInt8,
        per_channel=True,
        reduce_range=True,
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )
    return dst


def export_model(
    model_dir: Path, real_corpus: Path, *, verify: bool = True, progress: Callable[[int, int], None] | None = None
) -> Path:
    """Write `onnx/model.int8.onnx` into the model directory; returns its path.

    `progress(done, total)` is told after each step (trace, fuse, quantise, F1 check): together
    they take minutes, and a caller's progress bar should move meanwhile.
    """
    model_dir = Path(model_dir)
    ModelDir.open(model_dir)  # a clear error if it is not a complete model
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    report = progress or (lambda _done, _total: None)
    steps = 4 if verify else 3
    report(0, steps)
    fp32 = export_fp32(model_dir)
    report(1, steps)
    fused = optimise(fp32)
    report(2, steps)
    int8 = quantise(fused, model_dir / ONNX_FILE)
    fused.unlink()
    fp32.unlink()  # only the int8 graph is served; the PyTorch weights remain the reference
    report(3, steps)
    if verify:
        check_int8(model_dir, real_corpus)
        report(4, steps)
    return int8


def check_int8(model_dir: Path, real_corpus: Path) -> dict[str, float]:
    """Hold the int8 graph to MAX_F1_DROP under the model's own calibration, or remove it.

    Run at export and again after recalibration: the check goes through the stacker and
    threshold, so a new calibration needs a new verdict.
    """
    report = verify_export(model_dir, real_corpus)
    if report["f1_drop"] > MAX_F1_DROP:
        (model_dir / ONNX_FILE).unlink()
        raise ListingwatchError(
            f"int8 export of {model_dir.name} loses {report['f1_drop']:.3f} F1 (limit {MAX_F1_DROP}); "
            "keep serving PyTorch weights or retrain."
        )
    write_json(model_dir / VERIFICATION, report)
    return report


def verify_export(model_dir: Path, real_corpus: Path, split: str = "validation") -> dict[str, float]:
    """F1 of PyTorch vs int8 ONNX on a corpus split, through the full calibrated pipeline."""
    from .evaluate import split_examples
    from .inference import Classifier

    exs = split_examples(split, model_dir, real_corpus)
    y = np.array([e.sale for e in exs])
    items = [e.input() for e in exs]
    f1: dict[str, float] = {}
    for name, backend in (("pytorch", TorchBackend.load(model_dir)), ("onnx_int8", OnnxBackend(model_dir / ONNX_FILE))):
        clf = Classifier(model_dir, backend)
        probs = np.array([s.probs[0] for s in clf.score(items)])
        pred = probs >= clf.threshold
        tp, fp, fn = int(np.sum(pred & (y == 1))), int(np.sum(pred & (y == 0))), int(np.sum(~pred & (y == 1)))
        f1[name] = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
        f1[f"{name}_scores_mean"] = float(probs.mean())
    log.info("export check on %s: %s", split, f1)
    return {**f1, "f1_drop": f1["pytorch"] - f1["onnx_int8"], "n": float(len(exs))}
