"""`listingwatch report timeline`: detection, review and platform lags per source or platform.

The same figures as the overview page's lag chart; `--format csv` is for policy staff,
`json` for scripts. Platform lags count items still live as waiting (Kaplan–Meier), so a
median the data does not reach prints as "not reached".
"""

from datetime import UTC, datetime
from typing import Annotated

import typer

report_app = typer.Typer(help="Figures from the index and the store, as tables, CSV or JSON.", no_args_is_help=True)


@report_app.command("timeline")
def timeline(
    fmt: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
    by: Annotated[str, typer.Option("--by", help="Group by source or platform.")] = "source",
) -> None:
    """Median and p90 hours per source/platform: detection (posted -> flagged), review (flagged -> sent),
    platform (sent -> removed; items still live are censored, Kaplan–Meier). Covers every listing flagged now.
    """
    import csv
    import json
    import sys

    from elastic_transport import ConnectionError as TransportConnectionError

    from core.errors import ConfigError, ServiceUnavailable
    from core.settings import get_settings
    from core.store import session_scope
    from index_config.client import get_client
    from monitor.timeline import COLUMNS, cell, lag_rows, timelines

    problems = []
    if fmt not in ("table", "csv", "json"):
        problems.append(f"--format must be table, csv or json (got {fmt!r})")
    if by not in ("source", "platform"):
        problems.append(f"--by must be source or platform (got {by!r})")
    if problems:
        raise ConfigError("; ".join(problems).capitalize() + ".")
    settings = get_settings()
    try:
        with session_scope(settings) as db:
            found = timelines(get_client(settings), settings, db)
    except TransportConnectionError:
        raise ServiceUnavailable(
            f"Elasticsearch at {settings.es.shown_endpoint} is not answering; start it with `listingwatch es start`."
        ) from None
    rows = lag_rows(found.values(), by, datetime.now(UTC))
    if fmt == "json":
        typer.echo(json.dumps([r.as_dict() for r in rows], indent=2))
    elif fmt == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(COLUMNS)
        for r in rows:
            writer.writerow([cell(r, c) if c.startswith("platform_") else getattr(r, c) for c in COLUMNS])
    else:
        from rich.console import Console
        from rich.markup import escape
        from rich.table import Table

        table = Table(title=f"Lags per {by} in hours (median / p90); platform: still-live items censored")
        for header in (by, "flagged", "detection", "review", "sent/removed", "platform"):
            table.add_column(header, overflow="fold")
        for r in rows:
            table.add_row(
                escape(r.group),
                str(r.listings),
                f"{cell(r, 'detection_median_h')} / {cell(r, 'detection_p90_h')} (n={r.detection_n})",
                f"{cell(r, 'review_median_h')} / {cell(r, 'review_p90_h')} (n={r.review_n})",
                f"{r.sent}/{r.removed}",
                f"{cell(r, 'platform_median_h')} / {cell(r, 'platform_p90_h')}",
            )
        Console().print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(report_app, name="report")
