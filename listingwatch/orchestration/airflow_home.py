"""The embedded Airflow: a home under ``var/airflow`` with SQLite, the repo's ``dags/`` and no examples.

Airflow reads its configuration at first import, so `configure_airflow` must run before
anything imports it; the CLI does that first thing. Values already in the environment win
(``AIRFLOW__DATABASE__SQL_ALCHEMY_CONN`` for Postgres, ``AIRFLOW__CORE__EXECUTOR`` for
Celery in ``docker/``), so nothing here or in the DAGs depends on which deployment runs them.
"""

import os
import subprocess
import sys
from pathlib import Path

from core.errors import ConfigError, ServiceUnavailable
from core.settings import Settings


def airflow_environment(settings: Settings) -> dict[str, str]:
    """The variables that make Airflow use the project's home and DAGs; its default database is SQLite there."""
    env = {
        "AIRFLOW_HOME": str(settings.airflow.home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(settings.airflow.dags_folder),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    }
    return env | production_environment(settings)


def production_environment(settings: Settings) -> dict[str, str]:
    """The executor, metadata DB and Celery broker from `airflow.*` settings (the docs/deploy.md profile)."""
    af = settings.airflow
    env = {"AIRFLOW__CORE__EXECUTOR": af.executor} if af.executor != "LocalExecutor" else {}
    if af.database_url:
        env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = af.database_url
    if af.execution_api_url:
        env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] = af.execution_api_url
    if af.executor == "CeleryExecutor":
        env["AIRFLOW__CELERY__BROKER_URL"] = af.broker_url or ""
        env["AIRFLOW__CELERY__WORKER_CONCURRENCY"] = str(af.worker_concurrency)
        if af.result_backend:
            env["AIRFLOW__CELERY__RESULT_BACKEND"] = af.result_backend
    return env


def _with_own_bin_on_path(path: str) -> str:
    """PATH with this interpreter's bin folder first: Airflow starts its components as `airflow` by name.

    Run as ``.venv/bin/listingwatch`` without activating the environment, that folder is not on
    PATH and `airflow standalone` crashed every component with FileNotFoundError.
    """
    own = str(Path(sys.executable).parent)
    parts = [p for p in path.split(os.pathsep) if p]
    return os.pathsep.join([own, *(p for p in parts if p != own)])


def configure_airflow(settings: Settings) -> dict[str, str]:
    """Export the embedded defaults into this process without overriding what is already set; returns the env.

    Every command that starts Airflow processes goes through here, so here is where the
    environment's own ``bin/`` is put on PATH for them.
    """
    if "airflow" in sys.modules and "AIRFLOW_HOME" not in os.environ:
        raise ConfigError(
            "Airflow was imported before listingwatch set its home; set AIRFLOW_HOME before starting the process."
        )
    os.environ["PATH"] = _with_own_bin_on_path(os.environ.get("PATH", ""))
    for key, value in airflow_environment(settings).items():
        os.environ.setdefault(key, value)
    Path(os.environ["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)
    return dict(os.environ)


def migrate_db(settings: Settings) -> None:
    """Create or upgrade the metadata database (idempotent; a few seconds on SQLite)."""
    env = configure_airflow(settings)
    done = subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise ServiceUnavailable(
            f"`airflow db migrate` failed ({tail[0]}); check AIRFLOW__DATABASE__SQL_ALCHEMY_CONN "
            f"or delete {Path(env['AIRFLOW_HOME']) / 'airflow.db'} to start the embedded database afresh."
        )


def ensure_pools(settings: Settings) -> None:
    """Create or resize the pool browser crawls share, sized by settings for this machine."""
    configure_airflow(settings)
    from airflow.models.pool import Pool

    Pool.create_or_update_pool(
        name=settings.airflow.browser_pool,
        slots=settings.airflow.browser_pool_slots,
        description="Browser (Chromium) crawls; one slot per browser this machine can run at once.",
        include_deferred=False,
    )


def bootstrap_airflow(settings: Settings) -> None:
    """Everything `airflow dags test` or `airflow standalone` needs first: database, pools, DAG files."""
    from listingwatch.orchestration.dag_files import sync_dag_files

    configure_airflow(settings)
    sync_dag_files(settings)
    migrate_db(settings)
    ensure_pools(settings)
