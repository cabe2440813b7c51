"""The one path from training to service: train -> int8 ONNX export -> promote.

`listingwatch model train`, the demo and the retrain DAG all come through here, so every
model they put in service has its int8 graph (one promoted without it is served on the slow
fp32 path) and the export's F1 check has run on it.
"""

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

from core.settings import Settings

Progress = Callable[[str, int, int], None]
EXPORT_STAGE = "exporting int8 ONNX"


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """Hide transformers' warnings and progress bars while training; errors still show.

    Fine-tuning starts from a checkpoint without the classification head, so loading it
    prints a load report calling the head MISSING and suggesting training, a list of layers
    "not sharded" and a weight-loading bar: all expected here, and on the demo's first run
    they were the only output for minutes. Callers report the training stages instead.
    """
    from transformers.utils import logging as hf_logging

    verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()


def train_and_release(
    settings: Settings,
    *,
    quick: bool = False,
    seed: int = 0,
    layers: int = 6,
    real: Path | None = None,
    use_real: bool = True,
    triage: Path | None = None,
    export: bool = True,
    promote: bool | None = None,
    progress: Progress | None = None,
) -> Path:
    """Train a model, export it to int8 ONNX, and promote it if asked (None: only if none is in service yet).

    `real` is a real-text corpus; unset, the configured one is used when it exists (full training
    only), unless `use_real` is off. `triage` is a file of analysts' labels (`listingwatch triage
    export`) that joins the train split only. Returns the new model directory;
    `registry.promoted_version` says whether it went into service.
    """
    from classifiers import registry
    from classifiers.export import export_model
    from classifiers.train import default_real_corpus, train_model

    if real is None and use_real:
        real = default_real_corpus(settings, quick)
    with quiet_transformers():
        model_dir = train_model(
            settings, quick=quick, seed=seed, layers=layers, real=real, triage=triage, progress=progress
        )
    if export:
        export_step = (lambda done, total: progress(EXPORT_STAGE, done, total)) if progress else None
        export_model(model_dir, progress=export_step)
    if promote or (promote is None and registry.promoted_version(settings) is None):
        registry.promote(settings, model_dir.name)
    return model_dir
