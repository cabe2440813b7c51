"""The `listingwatch` command.

Each area registers its own commands from a module of its own (`es`, `index`, `crawl`,
`model`, `pipeline`); modules import their heavy libraries inside the commands so that
`listingwatch --help` stays instant. Expected failures (`ListingwatchError`) become one
plain sentence on stderr and a non-zero exit, never a traceback.
"""

import logging
import sys

import typer

from core.errors import ListingwatchError
from listingwatch.cli import alerts, crawl, es, index, model, pipeline, report, share, store, takedown, web

app = typer.Typer(
    name="listingwatch",
    help=(
        "Find online listings selling illicit synthetic drugs and turn them into evidence.\n\n"
        "Data flows one way: crawl -> classify -> index -> search/export. Start with "
        "`listingwatch es start`, then `listingwatch crawl SOURCE` or `listingwatch demo`."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

for module in (es, index, crawl, model, pipeline, store, web, takedown, share, alerts, report):
    module.register(app)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"listingwatch {version('listingwatch')}")
        except PackageNotFoundError:
            typer.echo("listingwatch (not installed as a package; run `make setup`)")
        raise typer.Exit()


@app.callback()
def _root(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log debug detail to stderr."),
    show_version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not verbose:
        # The transport logs every refused connection with a traceback; commands already turn
        # an unreachable node into one sentence (or a spool), so keep that out of the way.
        logging.getLogger("elastic_transport").setLevel(logging.CRITICAL)


def main() -> None:
    try:
        app()
    except ListingwatchError as err:
        from listingwatch.terminal import visible

        # One line, whatever the message quotes (a YAML parser's report, a hostile title).
        typer.secho(f"error: {visible(' '.join(str(err).split()))}", err=True, fg=typer.colors.RED)
        sys.exit(err.exit_code)
    except KeyboardInterrupt:
        typer.secho("interrupted", err=True)
        sys.exit(130)
