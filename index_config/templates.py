"""The versioned index templates under `templates/`, rendered for one index prefix.

Each family (`listings`, `observations`) is a composable index template built from the shared
settings component and the family's mappings component. A fingerprint of those JSON files is
stamped into every index's mapping `_meta`, so `migrate` can tell whether the index behind an
alias was built from the templates on disk or from an older version of them.
"""

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

TEMPLATE_DIR = Path(__file__).parent / "templates"
FAMILIES = ("listings", "observations")


@cache
def _read(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((TEMPLATE_DIR / name).read_text(encoding="utf-8"))
    return data


def _substitute(value: Any, prefix: str) -> Any:
    if isinstance(value, str):
        return value.replace("{prefix}", prefix)
    if isinstance(value, list):
        return [_substitute(v, prefix) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v, prefix) for k, v in value.items()}
    return value


def fingerprint(family: str) -> str:
    """Short hash of every JSON file that shapes the family's indices (key order does not matter)."""
    parts = [_read("settings.component.json"), _read(f"{family}.component.json"), _read(f"{family}.index.json")]
    canonical = json.dumps(parts, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class RenderedTemplates:
    """Everything to PUT for one prefix: component templates by name, index templates by name."""

    components: dict[str, dict[str, Any]]
    index_templates: dict[str, dict[str, Any]]


def render(prefix: str) -> RenderedTemplates:
    components = {f"{prefix}-settings": _substitute(_read("settings.component.json"), prefix)}
    index_templates = {}
    for family in FAMILIES:
        components[f"{prefix}-{family}-mappings"] = _substitute(_read(f"{family}.component.json"), prefix)
        body = _substitute(_read(f"{family}.index.json"), prefix)
        body["template"] = {"mappings": {"_meta": {"family": family, "fingerprint": fingerprint(family)}}}
        index_templates[f"{prefix}-{family}"] = body
    return RenderedTemplates(components=components, index_templates=index_templates)
