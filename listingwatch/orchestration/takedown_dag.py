"""Airflow DAG `takedown_checks`: re-fetch reported listings when due (hourly on day one, then daily).

The DAG runs every `takedown.check_schedule` (hourly); `removal.due` decides per item whether
this run checks it, so an hourly schedule costs one fetch per item per day after the first day.
"""

import logging
from typing import Any

from airflow.sdk import DAG, task

from core.settings import Settings, get_settings
from listingwatch.orchestration.dag_factory import listingwatch_dag

log = logging.getLogger(__name__)


def takedown_dag(settings: Settings | None = None) -> DAG:
    settings = settings or get_settings()
    with listingwatch_dag(
        settings,
        dag_id="takedown_checks",
        description="Re-fetch reported listings, record removals and reinstatements, link relistings.",
        schedule=settings.takedown.check_schedule,
        tags=["listingwatch", "takedown"],
        doc_md="Takedown removal checks. See docs/liaison.md.",
    ) as dag:

        @task
        def check_removals() -> dict[str, Any]:
            from takedown.removal import scheduled_run

            result = scheduled_run(settings)
            log.info("takedown checks: %s", result)
            return result

        check_removals()
    return dag
