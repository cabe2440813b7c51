"""docs/crawlers.md names exactly the keys a source YAML may hold, and its examples are valid sources.

A user writes a source from that page alone: a key it names that the model lacks is refused by
`sources check` (the model forbids unknown keys), and a key the model has that it leaves out is
one nobody can find. The keys are where the page names them as keys: the first column of the
*Keys* table (``a.b``; ``a.b``, ``c`` names ``a.c`` too; ``a.*`` is the keys its row lists, else
a group the page describes in a paragraph of its own, below) and the ``yaml`` examples.
"""

import re
import types
import typing
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

from crawlers.sources import FieldSelectors, LinkRule, SourceConfig

DOC = Path(__file__).resolve().parents[1] / "docs" / "crawlers.md"
# Key groups the page describes once, in a paragraph that starts with these words, not key by key.
GROUPS: dict[type[BaseModel], str] = {LinkRule: "A **link rule**", FieldSelectors: "The **field** keys"}
NAME = re.compile(r"[a-z_][a-z0-9_]*")


def _models(annotation: object) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return [m for arg in typing.get_args(annotation) for m in _models(arg)]
    return []


def model_keys(model: type[BaseModel] = SourceConfig, prefix: str = "") -> set[str]:
    """Dotted keys of the model; a block of a group type counts as one key (its members are checked apart)."""
    keys = set()
    for name, field in model.model_fields.items():
        nested = _models(field.annotation)
        if nested and nested[0] not in GROUPS:
            keys |= model_keys(nested[0], f"{prefix}{name}.")
        else:
            keys.add(prefix + name)
    return keys


def _text() -> str:
    return DOC.read_text(encoding="utf-8")


def _keys_table() -> list[tuple[str, str]]:
    """(first cell, last cell) of each row of the Keys table."""
    section = _text().split("\n## Keys\n", 1)[1]
    rows = [line for line in section.lstrip("\n").split("\n\n", 1)[0].splitlines() if line.startswith("| `")]
    return [(cells[1], cells[-2]) for cells in (row.split(" | ") for row in (f" {r} " for r in rows))]


def documented_keys() -> set[str]:
    keys = set()
    for first, description in _keys_table():
        prefix = ""
        for token in re.findall(r"`([^`]+)`", first):
            if token.endswith(".*"):
                group = token.removesuffix(".*")
                listed = [t for t in re.findall(r"`([^`]+)`", description) if NAME.fullmatch(t)]
                keys |= {f"{group}.{name}" for name in listed} if listed else {group}
                continue
            key = token if "." in token or not prefix else prefix + token
            prefix = key.rpartition(".")[0] + "." if "." in key else ""
            keys.add(key)
    return keys


def group_members(opening: str) -> set[str]:
    """The key names in the paragraph that starts with `opening`."""
    paragraph = _text().split(opening, 1)[1].split("\n\n", 1)[0]
    return {t for t in re.findall(r"`([^`]+)`", paragraph) if NAME.fullmatch(t)} - {"fields"}


def yaml_examples() -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", _text(), flags=re.S)


def test_the_page_is_read_as_written() -> None:
    assert len(_keys_table()) >= 40
    assert {"name", "links.listings", "fields", "politeness.autothrottle_target_concurrency"} <= documented_keys()


def test_every_key_the_docs_name_exists() -> None:
    unknown = documented_keys() - model_keys()
    assert not unknown, f"docs/crawlers.md names keys the source model does not have: {sorted(unknown)}"


def test_every_key_of_the_model_is_documented() -> None:
    missing = model_keys() - documented_keys()
    assert not missing, f"add these keys to the Keys table of docs/crawlers.md: {sorted(missing)}"


@pytest.mark.parametrize("group", sorted(GROUPS, key=lambda g: g.__name__))
def test_each_key_group_paragraph_names_its_keys(group: type[BaseModel]) -> None:
    assert group_members(GROUPS[group]) == set(group.model_fields)


@pytest.mark.parametrize("example", [e for e in yaml_examples() if e.startswith("name:")])
def test_every_source_example_is_a_valid_source(example: str) -> None:
    SourceConfig.model_validate(yaml.safe_load(example))


def test_the_docs_hold_source_examples() -> None:
    assert sum(e.startswith("name:") for e in yaml_examples()) >= 5


def test_an_undocumented_key_is_caught() -> None:
    class Extra(SourceConfig):
        shiny: bool = False

    assert "shiny" in model_keys(Extra) - documented_keys()
