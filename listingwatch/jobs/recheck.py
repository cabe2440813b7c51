"""Re-check listings already flagged: is each still live, and did it change?

Platforms ask "is it still up?" before acting, and analysts need to know when a takedown
worked. A full recrawl would answer it slowly and only for listings still linked from an
index page, so each flagged listing's own URL is fetched once, politely (the crawler's
user agent, timeout and size cap), and judged with the crawler's own page-kind detection
and field extraction for its source. Browser-rendered pages are judged on status and page
kind only: their content needs the browser, and a plain fetch would report every one as
changed. Results go to ``var/pipeline/_recheck/<run>/`` and the task log; a changed listing
is picked up with its new content by its source's next scheduled crawl.
"""

import logging
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from crawlers.sources import SourceConfig, find_source
from listingwatch.errors import ListingwatchError
from listingwatch.runs.listings_io import write_json_atomic
from listingwatch.schema import Listing
from listingwatch.settings import Settings

log = logging.getLogger(__name__)

GONE_STATUSES = frozenset({404, 410, 451})
MAX_LISTED = 50
Status = Literal["live", "changed", "gone", "blocked", "unreachable", "unknown_source"]


class RecheckResult(BaseModel):
    id: str
    url: str
    source: str
    status: Status
    http_status: int | None = None
    detail: str | None = None


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


def _same(a: str | None, b: str | None) -> bool:
    return " ".join((a or "").split()) == " ".join((b or "").split())


def judge(listing: Listing, source: SourceConfig, status: int, url: str, html: str) -> tuple[Status, str | None]:
    """Classify one re-fetch against the indexed listing, using the crawler's own extraction."""
    from crawlers.extract.fields import extract_fields
    from crawlers.extract.pagekind import detect_page_kind

    if status in GONE_STATUSES:
        return "gone", f"HTTP {status}"
    if 300 <= status < 400:
        return "unreachable", f"HTTP {status} (too many redirects)"
    kind, reason = detect_page_kind(status, url, html)
    if kind in {"bot_challenge", "login_wall"}:
        return "blocked", reason
    if kind != "listing":
        return "unreachable", reason
    if source.uses_browser:
        return "live", "browser-rendered: status and page kind only"
    fields = extract_fields(html, url, source.fields)
    if not (fields.title or fields.description):
        return "gone", "page no longer shows a listing"
    price = fields.price.amount if fields.price else None
    if _same(fields.title, listing.title) and _same(fields.description, listing.description) and price == listing.price:
        return "live", None
    return "changed", None


def fetch(url: str, settings: Settings, max_bytes: int) -> tuple[int, str, str]:
    """GET one page with the crawler's user agent and timeout, reading at most `max_bytes`: (status, url, html)."""
    request = urllib.request.Request(url, headers={"User-Agent": settings.crawl.user_agent})  # noqa: S310
    try:
        response = urllib.request.urlopen(request, timeout=settings.crawl.download_timeout)  # noqa: S310
    except urllib.error.HTTPError as err:
        response = err  # a 404 or 500 is an answer about the listing, not a failure to ask
    with response:
        body = response.read(max_bytes)
        charset = response.headers.get_content_charset() or "utf-8"
        return response.status, response.url, body.decode(charset, errors="replace")


def recheck_listing(listing: Listing, source: SourceConfig, settings: Settings) -> RecheckResult:
    """Fetch one listing URL (size-capped) and judge it; network failures are a result, not an exception."""
    base = {"id": listing.id, "url": listing.url, "source": listing.source}
    try:
        status, final_url, html = fetch(
            listing.url, settings, source.limits.max_page_bytes or settings.crawl.max_page_bytes
        )
    except (urllib.error.URLError, OSError, ValueError) as err:
        return RecheckResult(**base, status="unreachable", detail=f"{type(err).__name__}: {err}")
    verdict, detail = judge(listing, source, status, final_url, html)
    return RecheckResult(**base, status=verdict, http_status=status, detail=detail)


def recheck_flagged(settings: Settings, *, key: str, limit: int) -> RecheckReport:
    """Re-check up to `limit` flagged listings and store per-listing results with the run."""
    started = time.monotonic()
    listings = flagged_listings(settings, limit)
    sources: dict[str, SourceConfig | None] = {}
    results: list[RecheckResult] = []
    for listing in listings:
        if listing.source not in sources:
            try:
                sources[listing.source] = find_source(settings.crawl.sources_dir, listing.source)
            except ListingwatchError as err:
                log.warning("Cannot re-check listings of %s: %s", listing.source, err)
                sources[listing.source] = None
        source = sources[listing.source]
        if source is None:
            results.append(
                RecheckResult(id=listing.id, url=listing.url, source=listing.source, status="unknown_source")
            )
        else:
            results.append(recheck_listing(listing, source, settings))
            time.sleep(source.politeness.download_delay)

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
