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
    "core",
    "listingwatch",
    "crawlers",
    "classifiers",
    "index_config",
    "webapp",
    "takedown",
    "monitor",
    "dags",
    "benchmarks",
    "tests",
)


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


# The house, floor by floor. A package may import its own floor's shared ground (`core`) and the
# floors named for it here, never a floor above it and never a sibling stage: data flows one way
# (fetch -> extract -> classify -> index -> search/triage -> packet), between stages as JSON lines
# of `Listing` or through the index. `takedown` (the packet stage, last in the flow) builds on the
# crawler (re-fetching a listing, WARC evidence) and the index (reading confirmed listings). The
# shells run the stages: `listingwatch` (CLI, runs, Airflow glue, jobs, demo) may import any
# floor; `webapp` any floor but the command shell; `dags` only the Airflow glue. `monitor` (alerts,
# timelines, adaptive schedules) reads the index and the store and sends messages, for the shells.
CORE = ("core",)
STAGES = ("crawlers", "classifiers", "index_config")
MAY_IMPORT: dict[str, tuple[str, ...]] = {
    "core": (),
    "crawlers": CORE,
    "classifiers": CORE,
    "index_config": CORE,
    "takedown": (*CORE, "crawlers", "index_config"),
    "monitor": (*CORE, *STAGES, "takedown"),
    "webapp": (*CORE, *STAGES, "takedown", "monitor"),
    "listingwatch": (*CORE, *STAGES, "takedown", "monitor", "webapp", "listingwatch"),
    "dags": ("listingwatch.orchestration",),
}


def crossings_of(package: str) -> list[str]:
    allowed = (package, *MAY_IMPORT[package])
    return sorted(
        f"{name} -> {target}"
        for name in modules()
        if name == package or name.startswith(package + ".")
        for target in imports_of(name)
        if not any(target == a or target.startswith(a + ".") for a in allowed)
    )


@pytest.mark.parametrize("package", sorted(MAY_IMPORT))
def test_each_package_imports_only_the_floors_below_it(package: str) -> None:
    assert crossings_of(package) == []


def test_every_first_party_package_has_a_floor() -> None:
    shipped = {p.name for p in ROOT.iterdir() if (p / "__init__.py").is_file()} - {"tests", "benchmarks"}
    assert shipped <= set(MAY_IMPORT), f"give {sorted(shipped - set(MAY_IMPORT))} a row in MAY_IMPORT"


def test_the_layer_check_finds_a_breach(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(MAY_IMPORT, "takedown", CORE)
    assert any(c.startswith("takedown.") and "-> index_config" in c for c in crossings_of("takedown"))
