"""One source's whole run in this process, without Airflow: `listingwatch run SOURCE`.

Same steps, same run directories as the DAG, so an engineer can reproduce a scheduled run
locally and a later Airflow run still measures new/changed/gone against it.
"""

from collections.abc import Callable
from datetime import UTC, datetime

from core.errors import ListingwatchError
from core.settings import Settings
from crawlers.sources import find_source
from listingwatch.runs.after_run import after_failure, after_run
from listingwatch.runs.paths import run_key, run_paths
from listingwatch.runs.steps import classify_step, crawl_step, index_step, summarize
from listingwatch.runs.summary import RunSummary

STEPS = ("crawl", "classify", "index", "summary", "alerts")


def run_source(
    name: str,
    settings: Settings,
    *,
    when: datetime | None = None,
    max_pages: int | None = None,
    on_step: Callable[[str], None] | None = None,
) -> RunSummary:
    """Crawl, classify, index and summarise one source as the run for logical time `when` (default now)."""
    source = find_source(settings.crawl.sources_dir, name)
    paths = run_paths(settings, source.name, run_key(when or datetime.now(UTC)))
    notify = on_step or (lambda _step: None)
    try:
        notify("crawl")
        crawl_step(source, settings, paths, max_pages=max_pages)
        notify("classify")
        classify_step(settings, paths)
        notify("index")
        index_step(settings, paths)
        notify("summary")
        summary = summarize(paths)
    except ListingwatchError as err:
        after_failure(settings, source, paths.key, str(err))
        raise
    notify("alerts")
    after_run(settings, paths, summary)
    return summary
