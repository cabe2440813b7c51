"""`listingwatch app serve|refresh`: the analysts' web app.

`app serve` runs it with uvicorn (log in with an account from `listingwatch users add`);
`app refresh` rebuilds the seller clusters and counts saved searches' new matches, which the
pipeline also does after each run.
"""

from typing import Annotated

import typer

app_app = typer.Typer(
    help=(
        "The analysts' web app: search, listing evidence, triage, sellers, overview, saved searches and a JSON API.\n\n"
        "Create an account first: `listingwatch users add NAME --role analyst`, then `listingwatch app serve` "
        "and open the printed URL. API docs are at /docs once logged in."
    ),
    no_args_is_help=True,
)


@app_app.command("serve")
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (default web.host, 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default web.port, 8000).")] = None,
) -> None:
    """Run the web app in the foreground until Ctrl-C."""
    import uvicorn

    from core.settings import get_settings
    from index_config.node import ensure_node
    from webapp.app import create_app

    settings = get_settings()
    ensure_node(settings)
    host, port = host or settings.web.host, port or settings.web.port
    typer.echo(f"listingwatch web app on http://{host}:{port}/ (Ctrl-C stops it)")
    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning", proxy_headers=False)


@app_app.command("refresh")
def refresh() -> None:
    """Rebuild seller clusters and count saved searches' new matches now."""
    from core.settings import get_settings
    from index_config.analyst_views import refresh_analyst_views

    report = refresh_analyst_views(get_settings())
    typer.echo(f"seller clusters: {report['sellers']['clusters']} from {report['sellers']['listings']} listings")
    for row in report["saved_searches"]:
        state = row.get("error") or f"{row['new_matches']} new of {row['total']}"
        typer.echo(f"saved search {row['user']}/{row['name']}: {state}")


def register(app: typer.Typer) -> None:
    app.add_typer(app_app, name="app")
