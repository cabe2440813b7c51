"""`listingwatch` commands for the pipeline area: `demo`, `run SOURCE` and `airflow ...`.

Airflow is only imported after `configure_airflow` has pointed it at the project's home,
and every `airflow` subcommand first syncs the per-source DAG files, migrates the database
and creates the browser pool, so none of that is a manual step.
"""

import os
import sys
from typing import Annotated

import typer

airflow_app = typer.Typer(
    help="Run the pipeline DAGs with the project's embedded Airflow (SQLite under var/airflow, DAGs from dags/).",
    no_args_is_help=True,
)


def demo(
    source: Annotated[
        list[str] | None, typer.Option("--source", "-s", help="Only these sources (default: every enabled one).")
    ] = None,
    stop: Annotated[bool, typer.Option("--stop", help="Stop the services an earlier demo left running.")] = False,
    quick_model: Annotated[
        bool,
        typer.Option(
            "--quick-model",
            help="With no model in service yet, train the small smoke-test model (a few minutes, rougher flags) "
            "instead of the full one (about ten minutes).",
        ),
    ] = False,
) -> None:
    """The main job: start Elasticsearch and the local sites, ensure a model, run every source DAG, show results."""
    from rich.console import Console

    from core.settings import get_settings
    from listingwatch.demo.run import run_demo, stop_demo

    console = Console()
    if stop:
        stop_demo(get_settings(), console)
        return
    outcomes = run_demo(get_settings(), console, only=source or None, quick_model=quick_model)
    if not all(o.ok for o in outcomes):
        raise typer.Exit(1)


def run(
    source: Annotated[str, typer.Argument(help="Source name (crawlers/sources/NAME.yaml).")],
    max_pages: Annotated[
        int | None, typer.Option("--max-pages", min=1, help="Stop the crawl after this many pages.")
    ] = None,
) -> None:
    """Run one source's pipeline (crawl -> classify -> index -> summary) here, without Airflow."""
    from rich.console import Console

    from core.settings import get_settings
    from listingwatch.runs.source_run import STEPS, run_source
    from listingwatch.runs.summary import describe
    from listingwatch.terminal import escape, plain

    console = Console()
    with console.status("starting") as status:
        summary = run_source(
            source,
            get_settings(),
            max_pages=max_pages,
            on_step=lambda step: status.update(
                f"[bold]{escape(source)}[/bold]: {step} ({STEPS.index(step) + 1}/{len(STEPS)})"
            ),
        )
    console.print(plain(describe(summary)), highlight=False)


@airflow_app.command("env")
def airflow_env() -> None:
    """Print `export` lines so the plain `airflow` CLI uses the project's home: eval "$(listingwatch airflow env)"."""
    from core.settings import get_settings
    from listingwatch.orchestration.airflow_home import airflow_environment

    for key, value in airflow_environment(get_settings()).items():
        typer.echo(f"export {key}={value}")


@airflow_app.command("init")
def airflow_init() -> None:
    """Create the per-source DAG files, the metadata database and the browser pool (idempotent)."""
    from core.settings import get_settings
    from listingwatch.orchestration.airflow_home import bootstrap_airflow

    settings = get_settings()
    bootstrap_airflow(settings)
    home, dags = os.environ["AIRFLOW_HOME"], os.environ["AIRFLOW__CORE__DAGS_FOLDER"]
    typer.echo(f"Airflow ready in {home} with DAGs from {dags}.")


@airflow_app.command("sync-dags")
def airflow_sync_dags() -> None:
    """Write a DAG file for each source YAML and delete those whose YAML is gone."""
    from core.settings import get_settings
    from listingwatch.orchestration.dag_files import sync_dag_files

    report = sync_dag_files(get_settings())
    typer.echo(
        f"DAG files: {len(report.created)} written ({', '.join(report.created) or 'none'}), "
        f"{len(report.removed)} removed ({', '.join(report.removed) or 'none'})."
    )


@airflow_app.command("test-dag")
def airflow_test_dag(
    dag_id: Annotated[str, typer.Argument(help="e.g. crawl_SOURCE, recheck_flagged, retrain_model.")],
    logical_date: Annotated[
        str | None, typer.Option("--logical-date", help="Re-run this logical date (ISO) instead of now.")
    ] = None,
) -> None:
    """Run one DAG once, in this terminal, through Airflow (`airflow dags test`)."""
    from core.settings import get_settings
    from listingwatch.orchestration.airflow_home import bootstrap_airflow

    bootstrap_airflow(get_settings())
    args = [sys.executable, "-m", "airflow", "dags", "test", dag_id, *([logical_date] if logical_date else [])]
    os.execv(sys.executable, args)  # noqa: S606 - replaces this process with Airflow's own CLI


@airflow_app.command("standalone")
def airflow_standalone() -> None:
    """Start Airflow (scheduler, API server and UI on :8080) with the project's DAGs; Ctrl-C stops it."""
    from core.settings import get_settings
    from listingwatch.orchestration.airflow_home import bootstrap_airflow

    bootstrap_airflow(get_settings())
    port = os.environ.get("AIRFLOW__API__PORT", "8080")
    typer.echo(f"Airflow UI: http://127.0.0.1:{port} (login details in {os.environ['AIRFLOW_HOME']}).")
    os.execv(sys.executable, [sys.executable, "-m", "airflow", "standalone"])  # noqa: S606 - hand over to Airflow


SERVE_COMMANDS = {
    "api-server": ["api-server"],
    "scheduler": ["scheduler"],
    "dag-processor": ["dag-processor"],
    "triggerer": ["triggerer"],
    "celery-worker": ["celery", "worker"],
}


@airflow_app.command("serve")
def airflow_serve(
    component: Annotated[str, typer.Argument(help=f"One of: {', '.join(SERVE_COMMANDS)}.")],
    args: Annotated[list[str] | None, typer.Argument(help="Passed on to Airflow (after --).")] = None,
) -> None:
    """Run one Airflow component in the foreground with the project's settings (a deployment's processes).

    The executor, metadata database and Celery broker come from `airflow.*` settings
    (LISTINGWATCH_AIRFLOW__EXECUTOR=CeleryExecutor, ...DATABASE_URL, ...BROKER_URL); see docs/deploy.md.
    Run `listingwatch airflow init` once first.
    """
    from core.errors import ConfigError
    from core.settings import get_settings
    from listingwatch.orchestration.airflow_home import configure_airflow

    if component not in SERVE_COMMANDS:
        raise ConfigError(f"Unknown Airflow component {component!r}; use one of {', '.join(SERVE_COMMANDS)}.")
    configure_airflow(get_settings())
    argv = [sys.executable, "-m", "airflow", *SERVE_COMMANDS[component], *(args or [])]
    os.execv(sys.executable, argv)  # noqa: S606 - hand over to Airflow


def register(app: typer.Typer) -> None:
    """Add this area's commands to the root app."""
    app.command("demo")(demo)
    app.command("run")(run)
    app.add_typer(airflow_app, name="airflow")
