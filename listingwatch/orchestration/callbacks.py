"""Airflow failure callbacks: a task that failed for good becomes a task_failed alert (and a failed source run).

Airflow calls `on_failure_callback` only after the last retry, so a flapping site that
recovers on retry alerts nobody. The callback must never raise: Airflow would log it and
move on, but the alert would be lost silently, so problems are logged here in one line.
"""

import logging
from collections.abc import Callable
from typing import Any

from core.settings import Settings
from crawlers.sources import find_source
from listingwatch.runs.after_run import after_failure
from listingwatch.runs.paths import run_key
from monitor.alerts.run import record_task_failure

log = logging.getLogger(__name__)
CRAWL_PREFIX = "crawl_"


def failure_callback(settings: Settings) -> Callable[[dict[str, Any]], None]:
    """The `on_failure_callback` of the DAGs built with `settings` (the same store and sources as their tasks)."""

    def task_failed(context: dict[str, Any]) -> None:
        try:
            ti, dag_run = context["ti"], context["dag_run"]
            error = str(context.get("exception") or "the task failed")
            record_task_failure(settings, ti.dag_id, ti.task_id, dag_run.run_id, int(ti.try_number or 1), error)
            if ti.dag_id.startswith(CRAWL_PREFIX):
                source = find_source(settings.crawl.sources_dir, ti.dag_id.removeprefix(CRAWL_PREFIX))
                after_failure(settings, source, run_key(dag_run.logical_date or dag_run.run_after), error)
        except Exception as err:
            log.error("The failure alert for this task could not be recorded: %s: %s", type(err).__name__, err)

    return task_failed
