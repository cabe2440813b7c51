"""The four steps of a source run, each a function of the run's files so any of them can be retried alone.

- crawl: Scrapy in a subprocess, bounded in time, resuming from the run's JOBDIR on retry.
  Once a run's crawl has succeeded its capture is final: clearing the run re-uses it, so a
  rerun re-indexes the same evidence instead of mixing in a second, different capture.
- classify: only new or changed text reaches the model (the classifier's own skip cache);
  new/changed/gone are counted against the previous run of the same source.
- index: idempotent upserts keyed by listing id, so a rerun never duplicates documents.
- summarize: the counts people read, built from the step reports on disk.
"""

import logging
import time
from collections import Counter
from datetime import UTC, datetime

from pydantic import BaseModel, Field

from core.errors import ListingwatchError, ServiceUnavailable
from core.schema import Listing
from core.settings import Settings
from crawlers.sources import SourceConfig
from listingwatch.runs.changes import dedupe, diff_listings
from listingwatch.runs.listings_io import iter_listings, read_listings, write_json_atomic, write_listings
from listingwatch.runs.paths import RunPaths, previous_run
from listingwatch.runs.summary import RunSummary

log = logging.getLogger(__name__)

MAX_ERROR_SAMPLES = 5


class SourceUnreachable(ServiceUnavailable):
    """A crawl fetched nothing: the site is down, blocking us, or the start URLs are wrong."""


class CrawlStepReport(BaseModel):
    attempts: int
    pages_fetched: int
    listings: int
    skipped: dict[str, int] = Field(default_factory=dict, description="Pages skipped, by reason (too_large, ...).")
    lost: int = Field(default=0, description="Pages wanted but never fetched (a login wall outlasting re-logins).")
    timed_out: bool = Field(default=False, description="An attempt was stopped by the crawl's time bound.")
    errors: int
    error_samples: list[str] = Field(default_factory=list)
    seconds: float


class ClassifyStepReport(BaseModel):
    model_version: str | None
    listings: int
    new: int
    changed: int
    unchanged: int
    gone: int
    classified: int
    flagged: int
    flagged_by_substance: dict[str, int]
    errors: list[str] = Field(default_factory=list)
    seconds: float


class IndexStepReport(BaseModel):
    indexed: int
    created: int
    updated: int
    observations: int
    errors: int
    quarantined: int = Field(default=0, description="Spooled records that could not be read back, kept aside.")
    error_samples: list[str] = Field(default_factory=list)
    seconds: float
    saved_searches: list[dict] = Field(default_factory=list, description="New matches per saved search (web app).")


def crawl_step(
    source: SourceConfig, settings: Settings, paths: RunPaths, *, max_pages: int | None = None
) -> CrawlStepReport:
    """Crawl once per run; a retry after a failed attempt resumes and the attempts' outputs are merged."""
    if paths.crawl_report.exists():
        log.info("Run %s of %s already has a final crawl; re-using it.", paths.key, source.name)
        return CrawlStepReport.model_validate_json(paths.crawl_report.read_text(encoding="utf-8"))

    from crawlers.run import CrawlReport, crawl_timeout_s, run_crawl

    started = time.monotonic()
    paths.root.mkdir(parents=True, exist_ok=True)
    attempt = 1 + sum(1 for _ in paths.root.glob("crawl-attempt-*.json"))
    report = run_crawl(
        source,
        settings,
        output=paths.crawl_attempt(attempt),
        jobdir=paths.jobdir,
        max_pages=max_pages,
        timeout_s=crawl_timeout_s(source, settings),
    )
    write_json_atomic(paths.crawl_attempt_report(attempt), report.model_dump_json())

    attempts = range(1, attempt + 1)
    reports = [
        CrawlReport.model_validate_json(paths.crawl_attempt_report(n).read_text(encoding="utf-8"))
        for n in attempts
        if paths.crawl_attempt_report(n).exists()
    ]
    merged = dedupe(
        listing
        for n in attempts
        if paths.crawl_attempt(n).exists()
        for listing in iter_listings(paths.crawl_attempt(n))
    )
    pages = sum(r.pages_fetched for r in reports)
    errors = [e for r in reports for e in r.errors]
    if pages == 0 and any(r.timed_out for r in reports):
        log_file, bound = reports[-1].log_file, crawl_timeout_s(source, settings)
        raise ListingwatchError(
            f"Source {source.name} fetched no pages before its crawl timeout of {bound:.0f}s "
            f"stopped it in {attempt} attempt(s): the crawl was busy or stuck, not refused; see {log_file} for what "
            "it was doing, and raise limits.crawl_timeout_s in its YAML if the site is only slow."
        )
    if pages == 0:
        first = f" (first error: {errors[0]})" if errors else ""
        raise SourceUnreachable(
            f"Source {source.name} fetched no pages from {source.start_urls[0]} in {attempt} attempt(s){first}; "
            "check that the site is up and the start URLs in its YAML."
        )
    write_listings(paths.crawled, merged)
    from takedown.capture_stamp import stamp_run

    stamp_run(settings, paths.root, merged)  # RFC 3161 over the run's WARC record digests, when a TSA is set
    skipped: Counter[str] = Counter()
    for r in reports:
        skipped.update(r.skipped)
    result = CrawlStepReport(
        attempts=attempt,
        pages_fetched=pages,
        listings=len(merged),
        skipped=dict(sorted(skipped.items())),
        lost=sum(r.lost for r in reports),
        timed_out=any(r.timed_out for r in reports),
        errors=len(errors),
        error_samples=errors[:MAX_ERROR_SAMPLES],
        seconds=round(time.monotonic() - started, 2),
    )
    write_json_atomic(paths.crawl_report, result.model_dump_json(indent=2))
    for n in attempts:  # merged into `crawled`; the per-attempt reports stay as the crawl's record
        paths.crawl_attempt(n).unlink(missing_ok=True)
    return result


def _verdict_is_new(item: Listing, before: Listing | None) -> bool:
    now, then = item.classification, before.classification if before else None
    if now is None or then is None:
        return now is not None
    return (now.text_sha256, now.model_version) != (then.text_sha256, then.model_version)


def classify_step(settings: Settings, paths: RunPaths) -> ClassifyStepReport:
    """Classify the run's listings and measure them against the previous run.

    The classifier's skip cache (model version + text hash) means only new or changed
    text reaches the model; unchanged listings get their earlier classification back.
    `classified` counts the listings whose verdict is new since the previous run (new or
    changed text, or another model version), measured against that run rather than the
    cache, so clearing and rerunning a run reports the same numbers.
    """
    from classifiers.inference import classify_file

    started = time.monotonic()
    before_run = previous_run(settings, paths.source, paths.key)
    previous = {item.id: item for item in read_listings(before_run.classified)} if before_run else {}
    changes = diff_listings(previous, read_listings(paths.crawled))
    result = classify_file(paths.crawled, paths.classified, settings)
    current = read_listings(paths.classified)
    flagged = [item for item in current if item.classification and item.classification.flagged]
    by_substance = Counter(s for item in flagged for s in item.classification.substances)  # type: ignore[union-attr]
    report = ClassifyStepReport(
        model_version=result.model_version,
        listings=result.classified + len(result.failed),
        new=len(changes.new),
        changed=len(changes.changed),
        unchanged=len(changes.unchanged),
        gone=len(changes.gone),
        classified=sum(_verdict_is_new(item, previous.get(item.id)) for item in current),
        flagged=len(flagged),
        flagged_by_substance=dict(sorted(by_substance.items())),
        errors=[
            f"{paths.crawled.name} line {bad.line}: {bad.error}"
            for bad in sorted([*result.bad_lines, *result.failed], key=lambda b: b.line)
        ],
        seconds=round(time.monotonic() - started, 2),
    )
    write_json_atomic(paths.classify_report, report.model_dump_json(indent=2))
    return report


def index_step(settings: Settings, paths: RunPaths) -> IndexStepReport:
    """Upsert the run's listings and observations; fail (so Airflow retries) if Elasticsearch took none.

    The loader replays its on-disk spool first, so a retry after an outage also delivers
    what earlier runs could not.
    """
    from index_config.loader import load_jsonl

    started = time.monotonic()
    report = load_jsonl(paths.classified, settings)
    if report.spooled:
        raise ServiceUnavailable(
            f"Elasticsearch at {settings.es.shown_endpoint} did not take {report.spooled} listings of source "
            f"{paths.source}; they are spooled on disk and the retry of this task loads them."
        )
    replayed = report.replay
    quarantined = replayed.quarantined if replayed else 0
    problems = [*(replayed.errors if replayed else []), *report.errors]
    samples = [f"{e.reason} ({e.url or e.id or f'line {e.line}'})" for e in problems[:MAX_ERROR_SAMPLES]]
    from index_config.analyst_views import refresh_after_run

    views = refresh_after_run(settings)  # seller clusters and saved searches follow the new data
    result = IndexStepReport(
        saved_searches=views["saved_searches"],
        indexed=report.created + report.updated + report.unchanged,
        created=report.created,
        updated=report.updated,
        observations=report.observations,
        errors=report.failed + report.skipped_lines + (replayed.failed if replayed else 0) + quarantined,
        quarantined=quarantined,
        error_samples=samples,
        seconds=round(time.monotonic() - started, 2),
    )
    write_json_atomic(paths.index_report, result.model_dump_json(indent=2))
    return result


def summarize(paths: RunPaths) -> RunSummary:
    """Build and store the run summary from the step reports the earlier tasks wrote."""
    try:
        crawl = CrawlStepReport.model_validate_json(paths.crawl_report.read_text(encoding="utf-8"))
        classify = ClassifyStepReport.model_validate_json(paths.classify_report.read_text(encoding="utf-8"))
        index = IndexStepReport.model_validate_json(paths.index_report.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise ListingwatchError(
            f"Run {paths.key} of {paths.source} is missing {err.filename}; rerun the earlier steps of this run first."
        ) from None
    summary = RunSummary(
        source=paths.source,
        run_key=paths.key,
        finished_at=datetime.now(UTC),
        model_version=classify.model_version,
        pages_fetched=crawl.pages_fetched,
        pages_skipped=crawl.skipped,
        pages_lost=crawl.lost,
        crawl_timed_out=crawl.timed_out,
        listings=classify.listings,
        new=classify.new,
        changed=classify.changed,
        unchanged=classify.unchanged,
        gone=classify.gone,
        classified=classify.classified,
        flagged=classify.flagged,
        flagged_by_substance=classify.flagged_by_substance,
        indexed=index.indexed,
        quarantined=index.quarantined,
        errors=crawl.errors + len(classify.errors) + index.errors,
        error_samples=(crawl.error_samples + classify.errors + index.error_samples)[:MAX_ERROR_SAMPLES],
        seconds={"crawl": crawl.seconds, "classify": classify.seconds, "index": index.seconds},
        saved_searches=index.saved_searches,
    )
    write_json_atomic(paths.summary, summary.model_dump_json(indent=2))
    return summary
