"""Re-check listings already flagged: is each still live, and did it change?

Platforms ask "is it still up?" before acting, and analysts need to know when a takedown
worked. A full recrawl would answer it slowly and only for listings still linked from an
index page, so each flagged listing's own URL is fetched once through its source's
re-fetcher (`crawlers.refetch`: the source's proxy, user agent, origins, public addresses
only, size cap, deadline and delay) and judged with the crawler's own page-kind detection
and field extraction for its source.

The whole run stops at `airflow.recheck_timeout_minutes`, recording the listings it did not
reach, so results already gathered are written rather than lost. A listing's `source` field
only ever names a file in the sources folder; it is never read as a path.

Browser-rendered pages are judged on status and page kind only: their content needs the
browser, and a plain fetch would report every one as changed. Results go to
``var/pipeline/_recheck/<run>/`` and the task log; a changed listing is picked up with its
new content by its source's next scheduled crawl.
"""

import logging
import time
from collections import Counter
from contextlib import ExitStack, nullcontext
from pathlib import Path

from pydantic import BaseModel, Field

from core.errors import ListingwatchError
from core.schema import Listing
from core.settings import Settings
from crawlers.recheck import Status, judge
from crawlers.refetch import Refetcher, RefetchError
from crawlers.sources import SourceConfig, source_by_name
from listingwatch.runs.listings_io import write_json_atomic

log = logging.getLogger(__name__)

MAX_LISTED = 50


class RecheckResult(BaseModel):
    """The verdict on one flagged listing, which it names by the listing's id, URL and source."""

    id: str
    url: str
    source: str
    status: Status
    http_status: int | None = None
    detail: str | None = None

    @classmethod
    def of(
        cls, listing: Listing, status: Status, http_status: int | None = None, detail: str | None = None
    ) -> "RecheckResult":
        return cls(
            id=listing.id, url=listing.url, source=listing.source, status=status, http_status=http_status, detail=detail
        )


class RecheckReport(BaseModel):
    run_key: str
    checked: int = 0
    counts: dict[str, int] = Field(default_factory=dict, description="status -> listings")
    gone_urls: list[str] = Field(default_factory=list, description=f"First {MAX_LISTED} listings now gone.")
    changed_urls: list[str] = Field(default_factory=list, description=f"First {MAX_LISTED} listings that changed.")
    seconds: float = 0.0

    def describe(self) -> str:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(self.counts.items())) or "nothing to check"
        return f"Re-check {self.run_key}: {self.checked} flagged listings ({counts}) in {self.seconds:.1f}s."


def recheck_dir(settings: Settings, key: str) -> Path:
    """Where a re-check run keeps `results.jsonl` (one verdict per listing) and `report.json`."""
    return settings.var_dir / "pipeline" / "_recheck" / key


def flagged_listings(settings: Settings, limit: int) -> list[Listing]:
    """Flagged listings from the index, least recently fetched first, so each gets its turn."""
    from index_config import queries
    from index_config.client import get_client
    from index_config.manage import listings_alias

    docs = queries.flagged_listings(
        get_client(settings), listings_alias(settings), sort=queries.LEAST_RECENTLY_FETCHED_FIRST, size=limit
    )
    return [Listing.model_validate(doc) for doc in docs]


def recheck_listing(
    listing: Listing,
    source: SourceConfig,
    settings: Settings,
    *,
    deadline: float | None = None,
    refetcher: Refetcher | None = None,
) -> RecheckResult:
    """Fetch one listing URL through the source's re-fetcher and judge it; failures are a result."""
    with nullcontext(refetcher) if refetcher else Refetcher(source, settings) as fetcher:
        try:
            page = fetcher.fetch(listing.url, deadline)
        except RefetchError as err:
            return RecheckResult.of(listing, "unreachable", detail=str(err)[:500])
    verdict, detail = judge(listing, source, page.final.status, page.final.url, page.html)
    return RecheckResult.of(listing, verdict, http_status=page.final.status, detail=detail)


def _recheck_one(
    listing: Listing, settings: Settings, deadline: float, fetchers: dict[str, Refetcher | None], stack: ExitStack
) -> RecheckResult:
    if time.monotonic() >= deadline:
        return RecheckResult.of(listing, "not_checked", detail="the run reached its time bound")
    if listing.source not in fetchers:
        try:
            source = source_by_name(settings.crawl.sources_dir, listing.source)
            fetchers[listing.source] = stack.enter_context(Refetcher(source, settings))
        except ListingwatchError as err:
            log.warning("Cannot re-check listings of %r: %s", listing.source[:100], err)
            fetchers[listing.source] = None
    fetcher = fetchers[listing.source]
    if fetcher is None:
        return RecheckResult.of(listing, "unknown_source")
    return recheck_listing(listing, fetcher.source, settings, deadline=deadline, refetcher=fetcher)


def recheck_flagged(settings: Settings, *, key: str, limit: int, timeout_s: float | None = None) -> RecheckReport:
    """Re-check up to `limit` flagged listings within `timeout_s` and store per-listing results with the run.

    Listings not reached before the bound (default `airflow.recheck_timeout_minutes`) are
    recorded as `not_checked`; the next run starts with them (least recently fetched first).
    """
    started = time.monotonic()
    deadline = started + (timeout_s or settings.airflow.recheck_timeout_minutes * 60.0)
    listings = flagged_listings(settings, limit)
    fetchers: dict[str, Refetcher | None] = {}
    with ExitStack() as stack:
        results = [_recheck_one(listing, settings, deadline, fetchers, stack) for listing in listings]

    workdir = recheck_dir(settings, key)
    write_json_atomic(workdir / "results.jsonl", "".join(r.model_dump_json() + "\n" for r in results))
    report = RecheckReport(
        run_key=key,
        checked=len(results),
        counts=dict(sorted(Counter(r.status for r in results).items())),
        gone_urls=[r.url for r in results if r.status == "gone"][:MAX_LISTED],
        changed_urls=[r.url for r in results if r.status == "changed"][:MAX_LISTED],
        seconds=round(time.monotonic() - started, 2),
    )
    write_json_atomic(workdir / "report.json", report.model_dump_json(indent=2))
    return report
