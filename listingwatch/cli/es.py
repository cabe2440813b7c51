"""`listingwatch es fetch|start|stop|status|logs`: the project-managed local Elasticsearch node.

The node is Elastic's integ-test distribution, fetched once with Maven into `.cache/` and
run on the system JDK with its data under `var/es/<port>/`. With `es.url` set, the
pipeline talks to that external node instead and only `status` applies.
"""

from typing import Annotated

import typer

from listingwatch.terminal import FormatOption, OutputFormat, emit

es_app = typer.Typer(
    help=(
        "Run the local Elasticsearch node the pipeline writes to.\n\n"
        "`fetch` downloads the pinned distribution once (Maven), `start` configures it for 127.0.0.1 "
        "and waits until it is healthy (reusing a healthy node already on the port), `stop` ends it. "
        "Port, heap and the `secure` profile (TLS + password) come from settings: "
        "LISTINGWATCH_ES__PORT=9201, LISTINGWATCH_ES__PROFILE=secure, or the `es:` block of listingwatch.yaml."
    ),
    no_args_is_help=True,
)


@es_app.command("fetch")
def fetch() -> None:
    """Download and unpack the pinned distribution into the cache (does nothing when it is already there)."""
    from core.settings import get_settings
    from index_config.node import fetch_distribution

    typer.echo(f"Elasticsearch distribution: {fetch_distribution(get_settings())}")


@es_app.command("start")
def start() -> None:
    """Start the local node on 127.0.0.1 and wait for green/yellow health."""
    from rich.console import Console

    from core.settings import get_settings
    from index_config.node import start_node
    from listingwatch.terminal import escape

    settings = get_settings()
    with Console(stderr=True).status(
        f"starting Elasticsearch {settings.es.version} on {escape(settings.es.shown_endpoint)}…"
    ):
        start_node(settings)
    typer.echo(f"Elasticsearch is up at {settings.es.shown_endpoint}.")


@es_app.command("stop")
def stop() -> None:
    """Stop the local node this project started on the configured port."""
    from core.settings import get_settings
    from index_config.node import stop_node

    settings = get_settings()
    if stop_node(settings):
        typer.echo(f"Stopped the local node on port {settings.es.port}.")
    else:
        typer.echo(f"No node started by listingwatch is running on port {settings.es.port}.")


@es_app.command("status")
def status(fmt: FormatOption = OutputFormat.table) -> None:
    """Show endpoint, health, version and where the data lives; exits 3 when nothing answers."""
    from core.settings import get_settings
    from index_config.node import node_status

    info = node_status(get_settings())
    if fmt is OutputFormat.json:
        emit([info], fmt)
    else:
        emit([{"setting": key, "value": value} for key, value in info.items()], fmt, title="Elasticsearch")
    if not info["running"]:
        raise typer.Exit(3)


@es_app.command("logs")
def logs(
    lines: Annotated[int, typer.Option("--lines", "-n", min=1, help="How many of the last lines to show.")] = 50,
) -> None:
    """Print the end of the local node's console log (startup failures are explained there)."""
    from core.settings import get_settings
    from index_config.node import tail_log

    for line in tail_log(get_settings(), lines):
        typer.echo(line)


def register(app: typer.Typer) -> None:
    """Add this area's commands to the root app."""
    app.add_typer(es_app, name="es")
