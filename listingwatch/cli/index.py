"""`listingwatch index init|migrate|stats|load|replay|drop`: the listings and observations indices.

Writers only see the `<prefix>-listings` and `<prefix>-observations` aliases; `migrate`
moves them to new versioned indices when the templates under `index_config/templates/`
change. `load` never loses a record: what the node cannot take now is spooled to
`var/spool/<prefix>/` and replayed by `replay` or by the next `load`.
"""

from pathlib import Path
from typing import Annotated, Any

import typer

from core.errors import EXIT_BAD_INPUT, EXIT_SPOOLED
from listingwatch.terminal import FormatOption, OutputFormat, emit

index_app = typer.Typer(
    help=(
        "Create, migrate, inspect and load the Elasticsearch indices.\n\n"
        "Typical use: `listingwatch index init` once, `listingwatch index load crawl.jsonl` per crawl "
        "(re-loading the same file changes nothing), `listingwatch index migrate` after editing a template."
    ),
    no_args_is_help=True,
)


def _client() -> Any:
    from core.settings import get_settings
    from index_config.client import get_client
    from index_config.node import ensure_node

    settings = get_settings()
    ensure_node(settings)
    return get_client(settings)


def _print_families(title: str, report: dict[str, dict[str, Any]], fmt: OutputFormat = OutputFormat.table) -> None:
    columns = sorted({key for row in report.values() for key in row})
    emit([{"family": family, **{c: row.get(c) for c in columns}} for family, row in report.items()], fmt, title)


@index_app.command("init")
def init() -> None:
    """Install the templates and create the v1 indices behind the aliases (idempotent)."""
    from core.settings import get_settings
    from index_config.manage import init_indices

    _print_families("indices", init_indices(_client(), get_settings()))


@index_app.command("migrate")
def migrate() -> None:
    """Move each alias to a new versioned index when its template changed; copies every document."""
    from rich.progress import Progress

    from core.settings import get_settings
    from index_config.manage import migrate_indices

    with Progress(transient=True) as bar:
        task = bar.add_task("copying documents", total=None)
        report = migrate_indices(_client(), get_settings(), progress=lambda n: bar.advance(task, n))
    _print_families("migration", report)


@index_app.command("stats")
def stats(fmt: FormatOption = OutputFormat.table) -> None:
    """Documents, size and flagged count per index, and whether a migration is pending."""
    from core.settings import get_settings
    from index_config import spool
    from index_config.manage import index_stats

    settings = get_settings()
    _print_families("indices", index_stats(_client(), settings), fmt)
    if fmt is not OutputFormat.table:
        return
    typer.echo(f"spooled records waiting for replay: {spool.pending(settings)}")
    if held := spool.quarantined(settings):
        typer.secho(
            f"{held} spooled record(s) could not be read back and are kept in {spool.quarantine_dir(settings)}; "
            "repair them and move them into the spool folder to load them.",
            fg=typer.colors.RED,
        )


def _count_lines(path: Path) -> int | None:
    try:
        with path.open("rb") as fh:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))
    except OSError:
        return None


def _report(report: Any, what: str) -> None:
    from rich.console import Console
    from rich.table import Table

    from core.settings import get_settings
    from index_config import spool
    from listingwatch.terminal import escape

    console = Console(stderr=True)
    if report.replay is not None and report.replay.read:
        _report(report.replay, "replayed from the spool first")
    table = Table(show_header=False, title=escape(what))
    for key in ("read", "created", "updated", "unchanged", "observations", "duplicate_observations",
                "failed", "skipped_lines", "quarantined", "spooled"):  # fmt: skip
        table.add_row(key.replace("_", " "), str(getattr(report, key)))
    console.print(table)
    for error in report.errors[:50]:
        where = f"line {error.line}" if error.line else (error.url or error.id or "record")
        console.print(f"[yellow]skipped[/yellow] {escape(where)}: {escape(error.reason)}", highlight=False)
    if len(report.errors) > 50:
        console.print(f"… and {len(report.errors) - 50} more problems.")
    if report.quarantined:
        console.print(
            f"[red]{report.quarantined} spooled record(s) could not be read back[/red] and were moved, byte for "
            f"byte, to {escape(str(spool.quarantine_dir(get_settings())))}; repair them and move them back into "
            "the spool folder to load them.",
            highlight=False,
        )
    if report.spooled:
        console.print(
            f"[red]Elasticsearch at {escape(get_settings().es.shown_endpoint)} was unreachable[/red]: {report.spooled} "
            f"records wait in {escape(str(spool.spool_dir(get_settings())))}; run `listingwatch index replay` once "
            "it is back.",
            highlight=False,
        )


@index_app.command("load")
def load(
    file: Annotated[Path, typer.Argument(help="JSON-lines file of listings (what `listingwatch crawl` writes).")],
) -> None:
    """Upsert listings and record one observation per line; bad lines are reported by number and skipped.

    Re-loading a file changes nothing (stable IDs); first_seen and takedown status survive
    re-crawls. If the node is down, records are spooled and replayed on the next load.
    Exit status: 0 all loaded, 1 some lines or documents were rejected (or spooled ones quarantined),
    3 records were spooled.
    """
    from rich.progress import Progress

    from core.errors import ListingwatchError
    from core.settings import get_settings
    from index_config.client import get_client
    from index_config.loader import load_jsonl
    from listingwatch.terminal import escape

    settings = get_settings()
    if not file.is_file():
        raise ListingwatchError(f"Input file {file} does not exist; pass a JSON-lines file of listings.")
    with Progress(transient=True) as bar:
        task = bar.add_task(f"loading {escape(file.name)}", total=_count_lines(file))
        report = load_jsonl(file, settings, get_client(settings), progress=lambda n: bar.advance(task, n))
    _report(report, f"loaded {file}")
    if report.spooled:
        raise typer.Exit(EXIT_SPOOLED)
    replayed = report.replay
    if report.failed or report.skipped_lines or (replayed is not None and (replayed.quarantined or replayed.failed)):
        raise typer.Exit(EXIT_BAD_INPUT)


@index_app.command("replay")
def replay() -> None:
    """Send the records spooled while Elasticsearch was unreachable; what still fails stays spooled."""
    from core.settings import get_settings
    from index_config import spool
    from index_config.client import get_client
    from index_config.loader import replay_spool

    settings = get_settings()
    waiting = spool.pending(settings)
    if not waiting:
        typer.echo("The spool is empty; nothing to replay.")
        return
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task("replaying the spool", total=waiting)
        report = replay_spool(settings, get_client(settings), progress=lambda n: bar.advance(task, n))
    _report(report, "replayed the spool")
    if report.spooled:
        raise typer.Exit(EXIT_SPOOLED)
    if report.quarantined or report.failed:
        raise typer.Exit(EXIT_BAD_INPUT)


@index_app.command("drop")
def drop(
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: this deletes every listing and observation.")] = False,
) -> None:
    """Delete this prefix's indices and templates (for throwaway test or demo data)."""
    from core.errors import ListingwatchError
    from core.settings import get_settings
    from index_config.manage import delete_indices

    settings = get_settings()
    if not yes:
        raise ListingwatchError(
            f"Refusing to delete the {settings.es.index_prefix}-* indices without --yes; add it if you mean it."
        )
    delete_indices(_client(), settings)
    typer.echo(f"Deleted the {settings.es.index_prefix}-* indices and templates.")


def register(app: typer.Typer) -> None:
    """Add this area's commands to the root app."""
    app.add_typer(index_app, name="index")
