"""Versioned model directories and which one is in service.

Layout under ``settings.model.models_dir``::

    <version>/            weights + tokenizer (save_pretrained), meta.json, labels.json,
                          stacker.json, thresholds.json, metrics.json, MODEL_CARD.md,
                          onnx/model.int8.onnx (after export), evaluation/<split>/ (reports)
    PROMOTED              the version in service (one line), written atomically

Versions sort by creation time (``clf-YYYYMMDD-HHMMSS-<kind>``), so "latest" is the greatest
complete directory name. A directory counts as complete once `meta.json` exists: it is
written last by training, so a crashed run never becomes "latest".
"""

import re
from datetime import UTC, datetime
from pathlib import Path

from core import jsonl
from core.errors import ListingwatchError
from core.settings import Settings

PROMOTED = "PROMOTED"
_VERSION = re.compile(r"^clf-\d{8}-\d{6}(?:-[a-z0-9]+)*$")


def new_version(kind: str, now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    return f"clf-{now:%Y%m%d-%H%M%S}-{kind}"


def is_complete(model_dir: Path) -> bool:
    return (model_dir / "meta.json").is_file()


def list_models(settings: Settings) -> list[Path]:
    root = settings.model.models_dir
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and _VERSION.match(p.name) and is_complete(p))


def latest_model(settings: Settings) -> Path | None:
    models = list_models(settings)
    return models[-1] if models else None


def promoted_version(settings: Settings) -> str | None:
    marker = settings.model.models_dir / PROMOTED
    return marker.read_text(encoding="utf-8").strip() or None if marker.is_file() else None


def promote(settings: Settings, version: str) -> Path:
    """Put `version` in service; the marker is replaced atomically so readers never see half a name."""
    model_dir = settings.model.models_dir / version
    if not is_complete(model_dir):
        raise ListingwatchError(
            f"Cannot promote {version}: no complete model at {model_dir}; list models with `listingwatch model info`."
        )
    jsonl.write_text(settings.model.models_dir / PROMOTED, version + "\n")
    return model_dir


def active_model_dir(settings: Settings) -> Path | None:
    """`settings.model.active` if set, else the promoted version, else (nothing promoted yet) the latest."""
    if settings.model.active:
        path = settings.model.models_dir / settings.model.active
        if not is_complete(path):
            raise ListingwatchError(
                f"Configured model {settings.model.active} is not in {settings.model.models_dir}; "
                "fix LISTINGWATCH_MODEL__ACTIVE or train it with `listingwatch model train`."
            )
        return path
    promoted = promoted_version(settings)
    if promoted:
        path = settings.model.models_dir / promoted
        if is_complete(path):
            return path
        raise ListingwatchError(
            f"Promoted model {promoted} is missing from {settings.model.models_dir}; "
            "promote another with `listingwatch model promote VERSION`."
        )
    return latest_model(settings)
