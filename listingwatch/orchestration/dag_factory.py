"""Builds the pipeline's Airflow DAGs; the files in ``dags/`` are one-line calls into here.

Task bodies only look up the run's directory and call the plain functions in
`listingwatch.runs` and `listingwatch.jobs`, so what runs under Airflow is exactly what `listingwatch run`
and the tests run. Settings are read when the DAG file is parsed, which on a worker is
the worker's own environment.
"""

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.sdk import DAG, Asset, Param, TriggerRule, get_current_context, task

from core.settings import Settings, get_settings
from crawlers.run import crawl_timeout_s
from crawlers.sources import SourceConfig, find_source, format_duration
from listingwatch.jobs.recheck import recheck_flagged
from listingwatch.jobs.retrain import PromotionDecision, decide_promotion, promote_candidate, train_candidate
from listingwatch.orchestration.callbacks import failure_callback
from listingwatch.runs.after_run import after_run
from listingwatch.runs.crawl_fanout import crawl_worker_step, merge_worker_crawls
from listingwatch.runs.paths import RunPaths, run_key, run_paths
from listingwatch.runs.steps import classify_step, crawl_step, index_step, summarize
from listingwatch.runs.summary import RunSummary, describe

log = logging.getLogger(__name__)

START_DATE = datetime(2026, 1, 1, tzinfo=UTC)
CRAWL_GRACE = timedelta(minutes=5)


def default_args(settings: Settings) -> dict[str, Any]:
    """Owner and retry policy every task gets: exponential backoff so a flapping site is not hammered."""
    return {
        "owner": settings.airflow.owner,
        "retries": settings.airflow.retries,
        "retry_delay": timedelta(seconds=settings.airflow.retry_delay_seconds),
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": timedelta(minutes=settings.airflow.max_retry_delay_minutes),
        "on_failure_callback": failure_callback(settings),
    }


def listingwatch_dag(settings: Settings, schedule: str | timedelta | None, **kwargs: Any) -> DAG:
    """A DAG with what all of ours share: one start date, no catch-up, one run at a time, `default_args`.

    `kwargs` are the DAG's own: dag_id, description, tags, doc_md, params.
    """
    return DAG(
        schedule=schedule,
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        default_args=default_args(settings),
        **kwargs,
    )


def summary_asset(source: str) -> Asset:
    """The asset whose events carry each run's summary; other DAGs or alerting can schedule on it."""
    return Asset(name=f"listingwatch_run_summary_{source}", uri=f"x-listingwatch://run-summary/{source}")


def current_run_paths(settings: Settings, source: str) -> RunPaths:
    """This task's run directory: keyed by logical date so a cleared run maps to the same one."""
    dag_run = get_current_context()["dag_run"]
    when = dag_run.logical_date or dag_run.run_after
    return run_paths(settings, source, run_key(when))


def source_dag(name: str, settings: Settings | None = None) -> DAG:
    """The DAG of one source YAML; a bad YAML raises here, which Airflow shows as this file's import error."""
    settings = settings or get_settings()
    return build_source_dag(find_source(settings.crawl.sources_dir, name), settings)


def source_schedule(source: SourceConfig) -> str | timedelta | None:
    """The cron, or with schedule_min/schedule_max a wake-up every schedule_min that the `due` task gates."""
    if not source.enabled:
        return None
    return source.schedule_min or source.schedule


def schedule_doc(source: SourceConfig) -> str:
    if source.schedule_min is None:
        return f"schedule `{source.schedule}`"
    return (
        f"{source.schedule_summary}: the DAG wakes every {format_duration(source.schedule_min)} and its `due` "
        "task crawls only when the interval the run history sets has passed (its log says which interval and why)"
    )


def build_source_dag(source: SourceConfig, settings: Settings) -> DAG:
    """[due ->] crawl -> classify -> index -> publish_summary -> alerts, on its schedule (none while disabled)."""
    asset = summary_asset(source.name)
    crawl_pool: dict[str, Any] = {"pool": settings.airflow.browser_pool} if source.uses_browser else {}
    crawl_pool["queue"] = settings.airflow.crawl_queue  # Celery: crawl tasks go to the workers with Chromium
    tags = ["listingwatch", "crawl", f"platform:{source.platform}", f"render:{source.render}"]
    with listingwatch_dag(
        settings,
        dag_id=f"crawl_{source.name}",
        description=f"Crawl {source.name} ({source.platform}), classify new/changed listings, index them.",
        schedule=source_schedule(source),
        tags=[*tags, "enabled" if source.enabled else "disabled", *(["adaptive"] if source.schedule_min else [])],
        doc_md=(
            f"Source YAML: `{source.name}` in `{settings.crawl.sources_dir}`; {schedule_doc(source)}"
            f"{'' if source.enabled else ' (disabled: runs only when triggered)'}. "
            "Each run publishes a summary as an event of the asset "
            f"`{asset.name}` and in the `publish_summary` log. See docs/engineers.md."
        ),
    ) as dag:
        crawl_timeout = timedelta(seconds=crawl_timeout_s(source, settings)) + CRAWL_GRACE
        if settings.crawl.frontier == "redis":
            # N mapped workers share the run's Redis frontier; `crawl` merges what they wrote. It runs
            # when any worker failed too: the survivors re-queue a dead worker's requests and finish them.
            @task(execution_timeout=crawl_timeout, **crawl_pool)
            def crawl_worker(worker: int) -> dict[str, Any] | None:
                report = crawl_worker_step(source, settings, current_run_paths(settings, source.name), worker)
                return report.model_dump(mode="json") if report else None

            @task(trigger_rule=TriggerRule.ALL_DONE)
            def crawl(_workers: list[dict[str, Any] | None]) -> dict[str, Any]:
                return merge_worker_crawls(source, current_run_paths(settings, source.name)).model_dump()

            crawled = crawl(crawl_worker.expand(worker=list(range(1, settings.crawl.workers + 1))))
        else:

            @task(execution_timeout=crawl_timeout, **crawl_pool)
            def crawl() -> dict[str, Any]:
                paths = current_run_paths(settings, source.name)
                return crawl_step(source, settings, paths).model_dump()

            crawled = crawl()

        @task
        def classify(_crawled: dict[str, Any]) -> dict[str, Any]:
            return classify_step(settings, current_run_paths(settings, source.name)).model_dump()

        @task
        def index(_classified: dict[str, Any]) -> dict[str, Any]:
            return index_step(settings, current_run_paths(settings, source.name)).model_dump()

        @task(outlets=[asset])
        def publish_summary(_indexed: dict[str, Any]) -> dict[str, Any]:
            summary = summarize(current_run_paths(settings, source.name))
            log.info("%s", describe(summary))
            payload = summary.model_dump(mode="json")
            get_current_context()["outlet_events"][asset].extra = payload
            return payload

        @task
        def alerts(summary: dict[str, Any]) -> dict[str, Any]:
            paths = current_run_paths(settings, source.name)
            result = after_run(settings, paths, RunSummary.model_validate(summary))
            log.info("New flagged listings this run: %s; %s", result["new_flagged"], result["alerts"])
            return result

        alerts(publish_summary(index(classify(crawled))))
        if source.schedule_min is not None and source.schedule_max is not None:
            low, high = source.schedule_min, source.schedule_max

            @task.short_circuit
            def due() -> bool:
                """Crawl once the adaptive interval has passed (skipping skips the run); manual runs always crawl."""
                from core.store import session_scope
                from monitor.schedule import decide, history_of

                run_type = get_current_context()["dag_run"].run_type
                if getattr(run_type, "value", run_type) != "scheduled":
                    log.info("Adaptive schedule of %s: a %s run always crawls.", source.name, run_type)
                    return True
                with session_scope(settings) as db:
                    decision = decide(history_of(db, source.name), low, high, datetime.now(UTC))
                log.info("%s", decision.describe(source.name))
                return decision.due

            due() >> crawl_first(dag)
    return dag


def crawl_first(dag: DAG) -> list[Any]:
    """The DAG's entry tasks (the crawl, or its mapped workers), which the `due` gate goes in front of."""
    return [t for t in dag.roots if t.task_id != "due"]


def job_dag(
    settings: Settings, job: Callable[[str], dict[str, Any]], *, task_id: str, timeout: timedelta | None, **dag: Any
) -> DAG:
    """A scheduled DAG of one task that runs `job` with the run's key (from its logical date); its result is the
    task's return value (XCom), and each job logs the summary a reader of the task log wants.

    The jobs that are not a source's crawl (re-checks, removal checks) are each a plain function
    over the whole index or store; the DAG only names, schedules and bounds it. `dag` is the
    DAG's own: dag_id, description, schedule, tags, doc_md.
    """
    with listingwatch_dag(settings, **dag) as built:

        def run_job() -> dict[str, Any]:
            dag_run = get_current_context()["dag_run"]
            return job(run_key(dag_run.logical_date or dag_run.run_after))

        task(task_id=task_id, execution_timeout=timeout)(run_job)()
    return built


def recheck_dag(settings: Settings | None = None) -> DAG:
    """Re-fetch listings already flagged: still live? changed? Keeps takedown evidence current."""
    settings = settings or get_settings()

    def recheck(key: str) -> dict[str, Any]:
        report = recheck_flagged(settings, key=key, limit=settings.airflow.recheck_limit)
        log.info("%s", report.describe())
        return report.model_dump(mode="json")

    return job_dag(
        settings,
        recheck,
        task_id="recheck",
        # The run stops itself at its own bound and writes what it has; this is the backstop.
        timeout=timedelta(minutes=settings.airflow.recheck_timeout_minutes) + CRAWL_GRACE,
        dag_id="recheck_flagged",
        description="Re-fetch flagged listings, record whether each is still live or changed, and re-index them.",
        schedule=settings.airflow.recheck_schedule,
        tags=["listingwatch", "recheck"],
        doc_md="Re-checks flagged listings in Elasticsearch. See docs/engineers.md.",
    )


def takedown_dag(settings: Settings | None = None) -> DAG:
    """Re-fetch reported listings when due: hourly runs, but `removal.due` checks an item hourly on its first
    day and daily after, so the schedule costs one fetch per item per day after the first."""
    settings = settings or get_settings()

    def check_removals(key: str) -> dict[str, Any]:
        from takedown.removal import scheduled_run  # the takedown library loads only when the task runs

        result = scheduled_run(settings)
        log.info("takedown checks: %s", result)
        return result

    return job_dag(
        settings,
        check_removals,
        task_id="check_removals",
        timeout=None,
        dag_id="takedown_checks",
        description="Re-fetch reported listings, record removals and reinstatements, link relistings.",
        schedule=settings.takedown.check_schedule,
        tags=["listingwatch", "takedown"],
        doc_md="Takedown removal checks. See docs/liaison.md.",
    )


def retrain_dag(settings: Settings | None = None) -> DAG:
    """Train a candidate, evaluate it against the active model, and promote it only if it scores no worse."""
    settings = settings or get_settings()
    with listingwatch_dag(
        settings,
        dag_id="retrain_model",
        description="Train and evaluate a candidate classifier; promote it only if it beats the active one.",
        schedule=None,
        tags=["listingwatch", "model"],
        params={
            "quick": Param(False, type="boolean", description="Small, fast training run (for checks, not use)."),
            "seed": Param(0, type="integer", minimum=0),
            "triage": Param(True, type="boolean", description="Train on analysts' current triage labels too."),
        },
        doc_md=(
            "Trigger on demand. Analysts' current triage labels join the train split (never validation or "
            "test). The `promote` task is skipped when the candidate scores below the active model."
        ),
    ) as dag:

        @task
        def train() -> str:
            params = get_current_context()["params"]
            return str(
                train_candidate(
                    settings,
                    quick=bool(params["quick"]),
                    seed=int(params["seed"]),
                    triage=bool(params.get("triage", True)),
                )
            )

        @task
        def evaluate(candidate_dir: str) -> dict[str, Any]:
            decision = decide_promotion(settings, candidate_dir)
            log.info("%s", decision.reason)
            return decision.model_dump(mode="json")

        @task.short_circuit
        def better_than_active(decision: dict[str, Any]) -> bool:
            return PromotionDecision.model_validate(decision).promote

        @task
        def promote(decision: dict[str, Any]) -> str:
            return promote_candidate(settings, PromotionDecision.model_validate(decision))

        decision = evaluate(train())
        better_than_active(decision) >> promote(decision)
    return dag
