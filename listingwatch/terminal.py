"""Showing text from outside (crawled pages, source files, error messages) in a terminal, inert.

Rich reads ``[...]`` as markup: a listing title ``M30 [/] blues`` crashed the end of the demo,
an invalid regex holding ``[/x]`` crashed `sources check`, and ``[link=...]`` in a title became
a hidden clickable link. Raw control characters (an ESC sequence in a title) can rewrite the
terminal itself. So every external string reaches the console through `plain` (a `Text`,
never parsed as markup) or `escape` (when it is interpolated into a line that has markup of
our own), both of which also show control characters as ``\\xNN`` instead of sending them.

`emit` is the one way list commands print rows (`--format table|tsv|json`), and `parse_time`
the one reading of `--at`.
"""

import json
import re
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape as _escape_markup
from rich.table import Table
from rich.text import Text

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def visible(value: object) -> str:
    """The text with control characters (except newline and tab) written out as ``\\xNN``."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(value))


def escape(value: object) -> str:
    """For interpolating into a Rich markup string: markup-escaped and control characters made visible."""
    return _escape_markup(visible(value))


def plain(value: object, style: str = "") -> Text:
    """A table cell or line that Rich never parses as markup."""
    return Text(visible(value), style=style)


class OutputFormat(StrEnum):
    table = "table"
    tsv = "tsv"
    json = "json"


FormatOption = Annotated[
    OutputFormat,
    typer.Option(
        "--format",
        help="table (for people), tsv (one row a line, for cut/awk) or json (for scripts).",
        case_sensitive=False,
    ),
]


def _tsv_cell(value: object) -> str:
    """One TSV field: tabs and line breaks would split the row, so they become spaces."""
    if value is None:
        return ""
    return " ".join(visible(value).replace("\t", " ").splitlines())


def _json_value(value: object) -> object:
    if value is None or isinstance(value, (bool, int, float, str, list, dict)):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def emit(rows: Sequence[dict[str, Any]], fmt: OutputFormat = OutputFormat.table, title: str | None = None) -> None:
    """Print `rows` (same keys in the same order) as a table, TSV or JSON on stdout.

    Off a terminal a table is drawn at its natural width: a listing id or URL piped into another
    command must arrive whole, not folded over lines or cut with an ellipsis.
    """
    columns = list(rows[0]) if rows else []
    if fmt is OutputFormat.json:
        typer.echo(json.dumps([{k: _json_value(v) for k, v in row.items()} for row in rows], indent=2))
        return
    if fmt is OutputFormat.tsv:
        lines = ["\t".join(columns)] if columns else []
        lines += ["\t".join(_tsv_cell(row[c]) for c in columns) for row in rows]
        if lines:
            typer.echo("\n".join(lines))
        return
    console = Console() if sys.stdout.isatty() else Console(width=100_000, soft_wrap=True)
    table = Table(title=title)
    for column in columns:
        table.add_column(column, overflow="fold" if console.is_terminal else "ignore")
    for row in rows:
        table.add_row(*(plain("" if row[c] is None else row[c]) for c in columns))
    console.print(table)


def parse_time(value: str) -> datetime:
    """`--at`: ISO 8601 with `Z` or an offset, or a date (midnight); no zone means UTC."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a time; write ISO 8601 such as 2026-11-01, 2026-11-01T14:30 or 2026-11-01T14:30:00Z."
        ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
