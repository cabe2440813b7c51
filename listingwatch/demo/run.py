"""The README's main job: from a fresh clone to flagged listings searchable in Elasticsearch.

Starts what is not running (local Elasticsearch node, local marketplace sites), makes sure
a model is active, then runs every enabled source's DAG through Airflow (`airflow dags
test`, one subprocess per source so one failing source cannot take the others down),
and reports per source. Safe to run twice: services already up are reused, the model is
not retrained, and re-indexing upserts by listing id.
"""

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from core.errors import ListingwatchError
from core.settings import Settings
from listingwatch.demo.services import ensure_sites, stop_sites
from listingwatch.library_logs import LibraryLogs
from listingwatch.orchestration.airflow_home import bootstrap_airflow, configure_airflow
from listingwatch.runs.paths import latest_summary
from listingwatch.runs.summary import RunSummary
from listingwatch.terminal import escape, plain

# What a first start should expect: the full model is about ten times the quick one's training work.
FIRST_TRAINING = {False: "roughly 10 minutes on 2 CPU cores", True: "a few minutes"}


@dataclass
class SourceOutcome:
    source: str
    ok: bool
    seconds: float
    summary: RunSummary | None
    detail: str


def _step(console: Console, text: str) -> Any:
    return console.status(f"[bold]{text}[/bold]", spinner="dots")


def _bar(console: Console) -> Progress:
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    return Progress(*columns, TimeElapsedColumn(), console=console)


def _finish(progress: Progress, line: TaskID) -> None:
    """Mark a stage's line done (full bar, clock stopped): one line a stage, each ending complete, so none
    reads as a step that never ran (a stage without a count, such as calibration, shows 1/1)."""
    task = next(t for t in progress.tasks if t.id == line)
    total = task.total or 1
    progress.update(line, total=total, completed=total)
    progress.stop_task(line)


def demo_log(settings: Settings) -> Path:
    """Where the demo writes what libraries say (warnings, INFO lines); each source's DAG log sits beside it."""
    return settings.var_dir / "logs" / "demo.log"


def ensure_model(settings: Settings, console: Console, *, quick: bool = False) -> str:
    """The active model's version; with none, train, export and promote one first (the full model unless `quick`).

    A bar line a stage: the fine-tune's training steps, calibration, the export's steps, the release gate.
    """
    from classifiers.registry import active_model_dir
    from classifiers.release import train_and_release

    active = active_model_dir(settings)
    if active is not None:
        return active.name
    console.print(
        f"No trained model yet: training the {'quick smoke-test' if quick else 'full'} classifier once "
        f"(fine-tune, calibrate, int8 export). This takes {FIRST_TRAINING[quick]}; later runs reuse the model."
    )
    with _bar(console) as progress:
        lines = {"start": progress.add_task("building the training corpus and loading the base model", total=None)}

        def report(stage: str, step: int, total: int) -> None:
            if stage not in lines:
                _finish(progress, lines[next(reversed(lines))])
                lines[stage] = progress.add_task(stage, total=total or None)
            progress.update(lines[stage], completed=step, total=total or None)

        # A demo needs a model in service to show anything, so one that misses the release gate is
        # put in service anyway (recorded as forced in its gate report) and the terminal says so.
        model_dir = train_and_release(settings, quick=quick, promote=True, force=True, progress=report)
        _finish(progress, lines[next(reversed(lines))])
    gate = model_dir / "evaluation" / "gate.json"
    missed = json.loads(gate.read_text(encoding="utf-8"))["failures"] if gate.is_file() else []
    if missed:
        console.print(
            plain(
                f"Note: {model_dir.name} misses the release gate on {len(missed)} target(s) "
                f"({'; '.join(missed[:3])}{'; …' if len(missed) > 3 else ''}). It serves this demo; "
                f"`listingwatch model train` would not promote it. Details: {gate}."
            ),
            style="yellow",
            soft_wrap=True,
        )
    return model_dir.name


def enabled_sources(settings: Settings, console: Console) -> list[str]:
    """Names of enabled sources; broken YAML files are reported and skipped, not fatal."""
    from crawlers.sources import load_sources

    names = []
    for name, config in load_sources(settings.crawl.sources_dir).items():
        if isinstance(config, Exception):
            console.print(f"[yellow]skipping source {escape(name)}: {escape(config)}[/yellow]")
        elif config.enabled:
            names.append(name)
    return names


def run_source_dag(settings: Settings, source: str, log_dir: Path) -> SourceOutcome:
    """`airflow dags test crawl_SOURCE` in a subprocess, its log kept in a file."""
    env = configure_airflow(settings)
    log_path = log_dir / f"crawl_{source}.log"
    started = time.monotonic()
    with log_path.open("w", encoding="utf-8") as log:
        done = subprocess.run(
            [sys.executable, "-m", "airflow", "dags", "test", f"crawl_{source}"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            check=False,
            cwd=settings.home,
        )
    seconds = time.monotonic() - started
    summary_path = latest_summary(settings, source)
    fresh = summary_path is not None and summary_path.stat().st_mtime >= time.time() - seconds
    summary = RunSummary.model_validate_json(summary_path.read_text(encoding="utf-8")) if fresh else None
    ok = done.returncode == 0 and summary is not None
    return SourceOutcome(source, ok, seconds, summary, "ok" if ok else f"failed: see {log_path}")


def summary_table(outcomes: list[SourceOutcome]) -> Table:
    """Counts per source; the long parts (substances, failure details) follow in `summary_notes`.

    Every cell is short, so the table fits an 80-column terminal without cutting values off.
    """
    table = Table(title="Pipeline runs")
    numeric = ("pages", "listings", "new", "changed", "flagged", "time")
    for column in ("source", *numeric, "status"):
        table.add_column(column, justify="right" if column in numeric else "left", no_wrap=True)
    for o in outcomes:
        s = o.summary
        table.add_row(
            plain(o.source),
            *(str(v) for v in ((s.pages_fetched, s.listings, s.new, s.changed, s.flagged) if s else ("-",) * 5)),
            f"{o.seconds:.0f}s",
            "[green]ok[/green]" if o.ok else "[red]failed[/red]",
        )
    return table


def summary_notes(outcomes: list[SourceOutcome]) -> list[str]:
    """One line per source: flagged listings by substance, or why it failed."""
    lines = []
    for o in outcomes:
        if not o.ok:
            lines.append(f"{o.source}: {o.detail}")
        elif o.summary and o.summary.flagged_by_substance:
            found = ", ".join(f"{k} {v}" for k, v in sorted(o.summary.flagged_by_substance.items()))
            lines.append(f"{o.source} flagged by substance: {found}")
    return lines


def top_flagged(settings: Settings, size: int = 5) -> list[dict[str, Any]]:
    """The highest-scoring flagged listings in the index: what an analyst would look at first."""
    from index_config.client import get_client
    from index_config.manage import listings_alias
    from index_config.queries import HIGHEST_SCORE_FIRST, flagged_listings

    return flagged_listings(
        get_client(settings),
        listings_alias(settings),
        sort=HIGHEST_SCORE_FIRST,
        size=size,
        fields=["title", "url", "source", "classification.score", "classification.substances"],
    )


def flagged_table(hits: list[dict[str, Any]]) -> Table:
    table = Table(title="Top flagged listings in Elasticsearch")
    for column in ("score", "substances", "source", "title", "url"):
        table.add_column(column, overflow="fold")
    for hit in hits:
        cls = hit.get("classification") or {}
        table.add_row(  # crawled text: shown as typed, never read as markup
            f"{cls.get('score', 0):.3f}",
            plain(", ".join(cls.get("substances") or [])),
            plain(hit.get("source", "")),
            plain((hit.get("title") or "")[:80]),
            plain(hit.get("url", "")),
        )
    return table


def liaison_round(settings: Settings, sites_url: str, console: Console) -> None:
    """One liaison round (listingwatch/demo/liaison.py) so the Takedowns page has figures; a failure only warns."""
    from index_config.client import get_client
    from listingwatch.demo.liaison import REVIEWER, play_round

    try:
        with _step(console, f"Playing one liaison round as the demo reviewer ({REVIEWER}) and the local platforms"):
            done = play_round(settings, get_client(settings), sites_url)
    except ListingwatchError as err:
        console.print(plain(f"liaison round skipped: {err}"))
        return
    console.print(
        plain(
            f"Liaison round: {done.confirmed} offers confirmed by {REVIEWER}, {len(done.packets)} signed packets "
            f"sent, {done.removed} removed by the platforms, {done.seller_deleted} deleted by the seller, "
            f"{done.declined} declined, {done.checked} checked. See /liaison in the web app."
        ),
        soft_wrap=True,
    )


def run_demo(
    settings: Settings, console: Console, *, only: list[str] | None = None, quick_model: bool = False
) -> list[SourceOutcome]:
    """Bring everything up, run the source DAGs, print what was found; returns per-source outcomes.

    Libraries' warnings and log lines go to `demo_log`, not between the bars and tables.
    """
    with LibraryLogs(demo_log(settings), console) as library_logs:
        return _run_demo(settings, console, library_logs, only, quick_model)


def _run_demo(
    settings: Settings, console: Console, library_logs: LibraryLogs, only: list[str] | None, quick_model: bool
) -> list[SourceOutcome]:
    from index_config.client import get_client
    from index_config.manage import init_indices, listings_alias
    from index_config.node import ensure_node

    with _step(console, "Starting the local Elasticsearch node (first start takes a minute)"):
        ensure_node(settings)
        init_indices(get_client(settings), settings)
    console.print(plain(f"Elasticsearch: {settings.es.shown_endpoint}"))
    with _step(console, "Starting the local marketplace sites"):
        url, _started = ensure_sites(settings)
    console.print(plain(f"Local marketplace sites: {url}"))
    version = ensure_model(settings, console, quick=quick_model)
    library_logs.install()  # transformers, imported by training, keeps a console handler of its own
    console.print(plain(f"Classifier model: {version}"))
    with _step(console, "Preparing Airflow (database, pools, DAG files)"):
        bootstrap_airflow(settings)
    library_logs.install()  # Airflow's first import puts its console handler on the root logger
    console.print(plain(f"Airflow home: {configure_airflow(settings)['AIRFLOW_HOME']}"))

    sources = only or enabled_sources(settings, console)
    if not sources:
        raise ListingwatchError(f"No enabled sources in {settings.crawl.sources_dir}; add one (see docs/engineers.md).")
    log_dir = settings.var_dir / "logs" / "demo"
    log_dir.mkdir(parents=True, exist_ok=True)
    outcomes = []
    with _bar(console) as progress:
        overall = progress.add_task("Running source DAGs through Airflow", total=len(sources))
        for source in sources:
            progress.update(overall, description=f"DAG crawl_{source}: crawl -> classify -> index")
            outcomes.append(run_source_dag(settings, source, log_dir))
            progress.advance(overall)
    console.print(summary_table(outcomes))
    for line in summary_notes(outcomes):
        console.print(plain(line), highlight=False, soft_wrap=True)
    console.print(flagged_table(top_flagged(settings)))
    liaison_round(settings, url, console)
    from listingwatch.demo.webapp import ensure_app, ensure_demo_login

    with _step(console, "Starting the analysts' web app"):
        app, _started = ensure_app(settings)
        login = ensure_demo_login(settings)
    console.print(f"Web app: {app}/search?flagged=true  (log in as {login[0]} / {login[1]})", markup=False)
    alias = listings_alias(settings)
    endpoint = escape(settings.es.shown_endpoint)
    console.print(
        "Query the index yourself:\n"
        f"  curl -s '{endpoint}/{alias}/_search?q=classification.flagged:true&size=5&pretty'\n"
        "Airflow UI with these DAGs: `listingwatch airflow standalone`.\n"
        "Services (node, sites, web app) are left running; stop them with `listingwatch demo --stop`.\n"
        f"Library warnings and logs: {escape(demo_log(settings))}; each source's DAG log: {escape(log_dir)}/.",
        soft_wrap=True,  # a command wrapped with hard newlines breaks when copied
    )
    return outcomes


def stop_demo(settings: Settings, console: Console) -> None:
    """Stop what the demo started: the web app, the local sites process and the local Elasticsearch node."""
    from index_config.node import stop_node
    from listingwatch.demo.webapp import stop_app

    console.print("Stopped the web app." if stop_app(settings) else "No web app started by the demo is running.")
    stopped = stop_sites(settings)
    console.print("Stopped the local sites." if stopped else "No local sites process started by the demo is running.")
    stop_node(settings)
    console.print("Stopped the local Elasticsearch node.")
