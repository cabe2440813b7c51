"""One typed reader (and writer) for the files of a model directory.

Inference, training, evaluation, export, the CLI and the retrain job all need a model's
metadata, thresholds, stacker, headline metric and export verdict. They read them here, as
dataclasses, so a renamed key or a missing file is one clear error in one place instead of a
`KeyError` somewhere downstream.
"""

import json
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from core.errors import ListingwatchError
from core.labels import OUTPUTS

from .backends import ONNX_FILE
from .stacker import Stacker
from .text import InputFormat

META = "meta.json"
THRESHOLDS = "thresholds.json"
METRICS = "metrics.json"
LABELS = "labels.json"
STACKER = "stacker.json"
CARD = "MODEL_CARD.md"
VERIFICATION = "onnx/verification.json"


@dataclass(frozen=True)
class CorpusSpec:
    """Enough to rebuild the exact corpus a model was trained on (the splits included)."""

    per_family: int
    seed: int
    real_sha256: str | None = None  # SHA-256 of the real-text corpus file used; None = generated corpus only
    real_rows: dict[str, int] | None = None  # split -> cap on real rows drawn (stratified, seeded)
    triage_sha256: str | None = None  # SHA-256 of the analysts' triage labels file trained on (train split only)
    triage_rows: int | None = None  # how many triage rows that file held
    described_share: float = 0.0  # share of real train/validation market titles given a vendor-style description


@dataclass(frozen=True)
class Meta:
    version: str
    created_at: str
    base_model: str
    outputs: tuple[str, ...]
    sale_output: str
    max_length: int
    train_config: dict[str, Any]
    quick: bool
    corpus: dict[str, Any]
    train_seconds: float
    network: dict[str, Any] = field(default_factory=dict)
    lexicon_version: int = 0
    input_format: InputFormat = "fields"  # models before the context line read the fields only
    corpus_spec: CorpusSpec | None = None
    recalibrated_from: str | None = None

    @property
    def spec(self) -> CorpusSpec:
        if self.corpus_spec is not None:
            return self.corpus_spec
        return CorpusSpec(per_family=int(self.train_config["per_family"]), seed=int(self.train_config["seed"]))

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "Meta":
        known = set(cls.__dataclass_fields__) - {"outputs", "corpus_spec"}
        spec = data.get("corpus_spec")
        return cls(
            **{k: v for k, v in data.items() if k in known},
            outputs=tuple(data["outputs"]),
            corpus_spec=CorpusSpec(**spec) if spec else None,
        )


@dataclass(frozen=True)
class Thresholds:
    sale: float
    substance: float
    target_precision: float
    validation_precision: float
    validation_recall: float
    target_met: bool
    chosen_on: str

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "Thresholds":
        return cls(**{k: data[k] for k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Headline:
    name: str
    split: str
    value: float


@dataclass(frozen=True)
class ModelDir:
    """A complete model version on disk; `ModelDir.open` checks it and reads its JSON files once."""

    path: Path
    meta: Meta
    thresholds: Thresholds
    metrics: dict[str, Any]

    @property
    def version(self) -> str:
        return self.meta.version

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def headline(self) -> Headline:
        h = self.metrics["headline"]
        return Headline(name=h["name"], split=h["split"], value=float(h["value"]))

    @property
    def onnx_path(self) -> Path:
        return self.path / ONNX_FILE

    @property
    def has_onnx(self) -> bool:
        return self.onnx_path.is_file()

    @cached_property
    def stacker(self) -> Stacker:
        return Stacker.load(self.path / STACKER)

    @property
    def verification(self) -> dict[str, float] | None:
        f = self.path / VERIFICATION
        return json.loads(f.read_text(encoding="utf-8")) if f.is_file() else None

    @property
    def card(self) -> str:
        return (self.path / CARD).read_text(encoding="utf-8")

    @classmethod
    def open(cls, path: Path) -> "ModelDir":
        path = Path(path)
        missing = [n for n in (META, THRESHOLDS, METRICS, LABELS, STACKER) if not (path / n).is_file()]
        if missing:
            raise ListingwatchError(
                f"{path} is not a complete model directory (missing {', '.join(missing)}); "
                "train one with `listingwatch model train`."
            )
        try:
            meta = Meta.from_json(_read(path / META))
            thresholds = Thresholds.from_json(_read(path / THRESHOLDS))
            metrics = _read(path / METRICS)
            outputs = _read(path / LABELS)
        except (KeyError, TypeError, ValueError) as err:
            raise ListingwatchError(f"Model {path.name} has a malformed file ({err!r}); retrain it.") from None
        if tuple(outputs) != OUTPUTS:
            raise ListingwatchError(
                f"Model {path.name} predicts {outputs}, this code expects {list(OUTPUTS)}; retrain it."
            )
        return cls(path=path, meta=meta, thresholds=thresholds, metrics=metrics)


def _read(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
