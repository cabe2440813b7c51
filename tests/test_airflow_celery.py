"""The production profile for real: Airflow on CeleryExecutor with Postgres metadata and a Redis broker.

Starts the processes a deployment runs (`listingwatch airflow serve api-server|scheduler|
dag-processor|celery-worker`, configured only through LISTINGWATCH_AIRFLOW__* settings),
triggers one run of a DAG that fans a crawl out over two mapped workers on the Redis
frontier, and checks that the Celery worker ran every task and the merged crawl is whole.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg2
import pytest

from listingwatch.demo.marketplaces.sites import start_sites
from tests.plugins.redis import free_port

# Four Airflow processes start on the test machine; on 2 shared cores that alone takes minutes.
pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(1500)]

REPO = Path(__file__).resolve().parents[1]
DAG_ID = "celery_fanout"
LISTINGS = 200
RUN_KEY = "celery-e2e"

DAG_FILE = f'''
from datetime import datetime

from airflow.sdk import DAG, task

from crawlers.sources import find_source
from listingwatch.runs.crawl_fanout import crawl_worker_step, merge_worker_crawls
from listingwatch.runs.paths import run_paths
from core.settings import get_settings

with DAG("{DAG_ID}", schedule=None, start_date=datetime(2026, 1, 1), catchup=False, tags=["listingwatch"]):

    @task
    def crawl_worker(worker: int) -> int:
        settings = get_settings()
        source = find_source(settings.crawl.sources_dir, "classifieds")
        report = crawl_worker_step(source, settings, run_paths(settings, source.name, "{RUN_KEY}"), worker)
        return report.pages_fetched if report else 0

    @task
    def crawl(pages: list[int]) -> int:
        settings = get_settings()
        source = find_source(settings.crawl.sources_dir, "classifieds")
        return merge_worker_crawls(source, run_paths(settings, source.name, "{RUN_KEY}")).listings

    crawl(crawl_worker.expand(worker=[1, 2]))
'''


def _cli(env: dict[str, str], *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False
    )


def test_celery_worker_runs_a_fanned_out_dag_on_postgres_and_redis(
    tmp_path: Path, postgres_url: str, redis_url: str
) -> None:
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / f"{DAG_ID}.py").write_text(DAG_FILE, encoding="utf-8")
    sources = tmp_path / "sources"  # one source: `airflow init` writes one DAG file, not one per shipped site
    sources.mkdir()
    # Disabled, so its generated DAG has no schedule: the only run is the one this test triggers.
    shipped = (REPO / "crawlers" / "sources" / "classifieds.yaml").read_text()
    (sources / "classifieds.yaml").write_text(shipped + "enabled: false\n")
    api_port = free_port()
    var = tmp_path / "var"
    with start_sites() as server:
        env = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "AIRFLOW_HOME": str(tmp_path / "airflow"),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
            # A 2-core machine shared by several test sessions: parsing and broker sends can take long.
            "AIRFLOW__CELERY__OPERATION_TIMEOUT": "30",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": "120",
            "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "240",
            "AIRFLOW__DAG_PROCESSOR__DAG_FILE_PROCESSOR_TIMEOUT": "300",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(api_port),
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API_AUTH__JWT_SECRET": "listingwatch-test-secret-0123456789abcdef",
            "AIRFLOW__CORE__FERNET_KEY": "",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "LISTINGWATCH_AIRFLOW__EXECUTOR": "CeleryExecutor",
            "LISTINGWATCH_AIRFLOW__DATABASE_URL": postgres_url,
            "LISTINGWATCH_AIRFLOW__BROKER_URL": redis_url.rsplit("/", 1)[0] + "/1",
            "LISTINGWATCH_AIRFLOW__EXECUTION_API_URL": f"http://127.0.0.1:{api_port}/execution/",
            "LISTINGWATCH_AIRFLOW__WORKER_CONCURRENCY": "2",
            "LISTINGWATCH_AIRFLOW__DAGS_FOLDER": str(dags),
            "LISTINGWATCH_VAR_DIR": str(var),
            "LISTINGWATCH_CRAWL__SOURCES_DIR": str(sources),
            "LISTINGWATCH_CRAWL__FRONTIER": "redis",
            "LISTINGWATCH_CRAWL__REDIS_URL": redis_url,
            "LISTINGWATCH_SITES_URL": server.url,
        }
        init = _cli(env, "listingwatch", "airflow", "init")
        assert init.returncode == 0, init.stderr[-3000:]
        # The plain `airflow` CLI learns the deployment from `listingwatch airflow env`, as docs/deploy.md says.
        exports = _cli(env, "listingwatch", "airflow", "env").stdout.splitlines()
        airflow_env = env | dict(line.removeprefix("export ").split("=", 1) for line in exports)
        assert airflow_env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"

        logs = tmp_path / "logs"
        logs.mkdir()
        procs = {}
        try:
            for component in ("api-server", "scheduler", "dag-processor", "celery-worker"):
                out = (logs / f"{component}.log").open("wb")
                procs[component] = subprocess.Popen(
                    [sys.executable, "-m", "listingwatch", "airflow", "serve", component],
                    env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                )  # fmt: skip
            deadline = time.monotonic() + 300
            while (trigger := _cli(airflow_env, "airflow", "dags", "trigger", DAG_ID)).returncode != 0:
                assert time.monotonic() < deadline, trigger.stderr[-2000:]  # DagNotFound until the file is parsed
                assert all(p.poll() is None for p in procs.values()), {c: p.poll() for c, p in procs.items()}
                time.sleep(3)
            state = None
            while time.monotonic() < deadline + 300:
                runs = _cli(airflow_env, "airflow", "dags", "list-runs", DAG_ID, "-o", "json")
                listed = [json.loads(line) for line in runs.stdout.splitlines() if line.startswith("[")]
                state = listed[-1][0]["state"] if listed and listed[-1] else None
                if state in ("success", "failed"):
                    break
                time.sleep(5)
        finally:
            for proc in procs.values():
                proc.terminate()
            for proc in procs.values():
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()

    tails = {c: (logs / f"{c}.log").read_text(errors="replace")[-2500:] for c in ("scheduler", "celery-worker")}
    assert state == "success", tails
    with psycopg2.connect(postgres_url.replace("+psycopg2", "")) as db, db.cursor() as cur:
        cur.execute(
            "SELECT task_id, map_index, state, external_executor_id FROM task_instance WHERE dag_id = %s", (DAG_ID,)
        )
        rows = cur.fetchall()
    assert sorted((t, m, s) for t, m, s, _ in rows) == [
        ("crawl", -1, "success"), ("crawl_worker", 0, "success"), ("crawl_worker", 1, "success"),
    ]  # fmt: skip
    assert all(celery_id for *_, celery_id in rows), "a task ran outside Celery"
    crawled = var / "pipeline" / "classifieds" / "runs" / RUN_KEY / "crawled.jsonl"
    urls = [json.loads(line)["url"] for line in crawled.read_text().splitlines()]
    assert len(urls) == len(set(urls)) == LISTINGS
