"""The crawl step fanned out over N workers on the shared Redis frontier (`crawl.frontier: redis`).

Airflow maps `crawl_worker` over ``range(crawl.workers)``; every mapped task runs one crawler
process that joins the run's frontier (keyed by source and run key, so a retried task resumes
the same run) and writes its own JSONL and report under ``<run>/workers/``. The `crawl` task
then merges them into the run's ``crawled.jsonl``: the rest of the DAG is the same as with
one local crawler.
"""

import logging
import time
from typing import TYPE_CHECKING

from core.settings import Settings
from crawlers.sources import SourceConfig
from listingwatch.runs.listings_io import write_json_atomic
from listingwatch.runs.paths import RunPaths
from listingwatch.runs.steps import MAX_ERROR_SAMPLES, CrawlStepReport, SourceUnreachable

if TYPE_CHECKING:
    from crawlers.run import CrawlReport

log = logging.getLogger(__name__)


def crawl_worker_step(source: SourceConfig, settings: Settings, paths: RunPaths, index: int) -> "CrawlReport | None":
    """Run worker `index` of this run; None when the run's crawl is already final (a cleared run)."""
    if paths.crawl_report.exists():
        log.info("Run %s of %s already has a final crawl; worker %d has nothing to do.", paths.key, source.name, index)
        return None
    from crawlers.distributed import worker_slot  # Scrapy loads in the task, not when the scheduler parses DAGs
    from crawlers.run import crawl_timeout_s, start_crawl

    slot = worker_slot(settings, paths.key, f"w{index}")
    workers = paths.root / "workers"
    workers.mkdir(parents=True, exist_ok=True)
    timeout = crawl_timeout_s(source, settings)
    process = start_crawl(source, settings, output=workers / f"{slot.worker}.jsonl", timeout_s=timeout, worker=slot)
    report = process.wait(timeout)
    write_json_atomic(workers / f"{slot.worker}.json", report.model_dump_json())
    return report


def merge_worker_crawls(source: SourceConfig, paths: RunPaths) -> CrawlStepReport:
    """One `crawled.jsonl` from every worker of the run (including workers that died: their lines count)."""
    if paths.crawl_report.exists():
        return CrawlStepReport.model_validate_json(paths.crawl_report.read_text(encoding="utf-8"))
    from crawlers.distributed import merge_outputs
    from crawlers.run import CrawlReport

    started = time.monotonic()
    workers = paths.root / "workers"
    reports = [CrawlReport.model_validate_json(p.read_text(encoding="utf-8")) for p in sorted(workers.glob("*.json"))]
    listings = merge_outputs(sorted(workers.glob("*.jsonl")), paths.crawled)
    pages = sum(r.pages_fetched for r in reports)
    errors = [f"{r.worker}: {e}" for r in reports for e in r.errors]
    if pages == 0:
        first = f" (first error: {errors[0]})" if errors else ""
        raise SourceUnreachable(
            f"Source {source.name} fetched no pages from {source.start_urls[0]} with {len(reports)} worker(s){first}; "
            "check that the site is up and the start URLs in its YAML."
        )
    result = CrawlStepReport(
        attempts=len(reports),
        pages_fetched=pages,
        listings=listings,
        errors=len(errors),
        error_samples=errors[:MAX_ERROR_SAMPLES],
        seconds=round(max((r.elapsed_s or 0.0 for r in reports), default=0.0) + time.monotonic() - started, 2),
    )
    write_json_atomic(paths.crawl_report, result.model_dump_json(indent=2))
    return result
