"""The one path from training to service: train -> int8 ONNX export -> promote.

`listingwatch model train`, the demo and the retrain DAG all come through here, so every
model they put in service has its int8 graph (one promoted without it is served on the slow
fp32 path) and the export's F1 check has run on it, and has passed the release gate
(`classifiers.gate`: issue #20's targets on held-out real rows, no fallback against the model
in service). Quick models are smoke-test models: the gate is not applied to them unless a
gated (full) model is in service, which a quick model then has to beat like any other.
"""

import contextlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import ListingwatchError
from core.settings import Settings

if TYPE_CHECKING:
    from .train import TrainConfig

Progress = Callable[[str, int, int], None]
EXPORT_STAGE = "exporting int8 ONNX"
GATE_STAGE = "release gate: held-out real rows and probes"
GATE_FILE = "evaluation/gate.json"


class ReleaseRefused(ListingwatchError):
    """A model that misses the release gate was not put in service."""


@dataclass(frozen=True)
class GateResult:
    applied: bool
    failures: list[str] = field(default_factory=list)
    note: str = ""
    report: Path | None = None

    @property
    def passed(self) -> bool:
        return not self.failures


def release_gate(settings: Settings, model_dir: Path) -> GateResult:
    """Measure `model_dir` (and the model in service) on the held-out real rows; written to evaluation/gate.json."""
    from .evaluate import real_test_examples
    from .gate import check, gate_report
    from .inference import Classifier
    from .modelcard import add_gate_section
    from .modeldir import ModelDir
    from .registry import active_model_dir

    served_dir = active_model_dir(settings)
    if served_dir is not None and served_dir.resolve() == Path(model_dir).resolve():
        served_dir = None
    quick = ModelDir.open(model_dir).meta.quick
    if quick and (served_dir is None or ModelDir.open(served_dir).meta.quick):
        return GateResult(False, note="quick (smoke-test) model: the release gate is not applied")
    if not settings.model.real_corpus.is_file():
        return GateResult(
            True,
            [f"no held-out real rows to check it on: model.real_corpus {settings.model.real_corpus} does not exist"],
        )
    examples = real_test_examples(settings)
    candidate = gate_report(Classifier.load(settings, model_dir=model_dir), examples)
    served, note = None, ""
    if served_dir is not None:
        try:
            served = gate_report(Classifier.load(settings, model_dir=served_dir), examples)
        except ListingwatchError as err:
            note = f"the model in service ({served_dir.name}) could not be measured, so no fallback check: {err}"
    failures = check(candidate, served)
    add_gate_section(Path(model_dir) / "MODEL_CARD.md", gate_lines(candidate, served, failures, note))
    out = Path(model_dir) / GATE_FILE
    out.parent.mkdir(parents=True, exist_ok=True)
    body = {"candidate": candidate, "served": served, "failures": failures, "note": note}
    out.write_text(json.dumps(body, indent=2, ensure_ascii=False), encoding="utf-8")
    return GateResult(True, failures, note, out)


def gate_lines(candidate: dict, served: dict | None, failures: list[str], note: str) -> list[str]:
    """The release gate's section of the model card."""
    from .gate import MAX_FALLBACK, probes_table, readings_table, substance_table

    against = f"against {served['model_version']} in service" if served else "no model in service to compare with"
    verdict = "**passed**" if not failures else f"**missed** ({len(failures)}): " + "; ".join(failures)
    lines = [
        f"Held-out real rows (`model.real_corpus`, test split), read bare and with the source kind; issue #20's "
        f"targets and no measure more than {MAX_FALLBACK} below the model in service ({against}). Verdict: {verdict}.",
        *([note] if note else []),
        "",
        *readings_table(candidate),
        "",
        "Substance class named on flagged offers of that class (flagged offers behind each figure):",
        "",
        *substance_table(candidate),
        "",
        "Probes (bare / source_kind market / shop; ✗ = wrong):",
        "",
        *probes_table(candidate),
    ]
    if served:
        lines += ["", f"The model in service, {served['model_version']}, on the same rows:", ""]
        lines += readings_table(served)
    return lines


def refusal(model_dir: Path, gate: GateResult) -> str:
    """The sentence (and the reasons) a refused promotion prints."""
    shown = "; ".join(gate.failures[:12]) + (f"; and {len(gate.failures) - 12} more" if len(gate.failures) > 12 else "")
    return (
        f"Not promoting {Path(model_dir).name}: it misses the release gate ({shown}). It stays in the registry "
        f"unpromoted; the full report is {gate.report or 'not written'}."
    )


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
    force: bool = False,
    config: "TrainConfig | None" = None,
    progress: Progress | None = None,
) -> Path:
    """Train a model, export it to int8 ONNX, and promote it if asked (None: only if none is in service yet).

    Promotion goes through the release gate (`release_gate`); a model that misses it is left in
    the registry unpromoted and `ReleaseRefused` says why. `force` promotes it anyway (a person's
    decision, recorded in the gate report).

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
            settings,
            quick=quick,
            seed=seed,
            layers=layers,
            real=real,
            triage=triage,
            config=config,
            progress=progress,
        )
    if export:
        export_step = (lambda done, total: progress(EXPORT_STAGE, done, total)) if progress else None
        export_model(model_dir, settings.model.real_corpus, progress=export_step)
    if promote or (promote is None and registry.promoted_version(settings) is None):
        if progress:
            progress(GATE_STAGE, 0, 1)
        gate = release_gate(settings, model_dir)
        if progress:  # a bar left at "0/1" (or at the export's last total) reads as a step that never ran
            progress(GATE_STAGE, 1, 1)
        if not gate.passed and not force:
            raise ReleaseRefused(refusal(model_dir, gate))
        if not gate.passed and gate.report is not None:
            body = json.loads(gate.report.read_text(encoding="utf-8"))
            gate.report.write_text(json.dumps({**body, "forced": True}, indent=2, ensure_ascii=False), encoding="utf-8")
        registry.promote(settings, model_dir.name)
    return model_dir
