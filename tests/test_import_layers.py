"""The architecture the README describes, checked: no import cycles, and stages that do not know each other.

Imports are read from the source (every import, including those inside functions), so a
lazy import cannot hide a cycle or a layer violation.
"""

import ast
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = (
    "listingwatch",
    "crawlers",
    "classifiers",
    "index_config",
    "webapp",
    "takedown",
    "dags",
    "benchmarks",
    "tests",
)
STAGES = ("crawlers", "classifiers", "index_config")
# What composes the stages; a stage importing any of these would make the data flow circular.
COMPOSERS = tuple(f"listingwatch.{name}" for name in ("runs", "orchestration", "jobs", "demo", "cli", "pipeline"))


@cache
def modules() -> dict[str, Path]:
    found = {}
    for top in PACKAGES:
        for path in (ROOT / top).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def imports_of(name: str) -> set[str]:
    """The project modules `name` imports (a package's own submodules excepted)."""
    path, known = modules()[name], modules()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets.update([base, *(f"{base}.{alias.name}" for alias in node.names)])
    found = set()
    for target in targets:
        while target and target not in known:
            target = target.rpartition(".")[0]
        if target and target != name and not target.startswith(name + "."):
            found.add(target)
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while (w := stack.pop()) != v:
                component.append(w)
            if component:
                found.append(sorted([v, *component]))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_no_module_imports_itself_in_a_circle() -> None:
    assert cycles({name: imports_of(name) for name in modules()}) == []


def test_the_cycle_check_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


# Sanctioned crossings, each with its reason. Analysts' search folds query words with the lexicon's
# folding (the same folding the classifier reads) and expands substance names from its vocabulary:
# the lexicon is the shared drug-vocabulary contract, kept as data beside the classifier.
ALLOWED = {("index_config.search", "classifiers.lexicon")}


@pytest.mark.parametrize("stage", STAGES)
def test_a_stage_imports_no_other_stage_and_nothing_that_composes_them(stage: str) -> None:
    forbidden = tuple(s for s in STAGES if s != stage) + COMPOSERS
    crossings = sorted(
        f"{name} -> {target}"
        for name in modules()
        if name == stage or name.startswith(stage + ".")
        for target in imports_of(name)
        if any(target == f or target.startswith(f + ".") for f in forbidden) and (name, target) not in ALLOWED
    )
    assert crossings == []
