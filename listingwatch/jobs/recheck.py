"""Re-check listings already flagged: is each still live, and did it change?

Platforms ask "is it still up?" before acting, and analysts need to know when a takedown
worked. A full recrawl would answer it slowly and only for listings still linked from an
index page, so each flagged listing's own URL is fetched once, politely (the crawler's
user agent, timeout and size cap), and judged with the crawler's own page-kind detection
and field extraction for its source.

Listed URLs are hostile input, so the re-check is bounded like the crawler: each fetch has a
wall-clock deadline (a page that drips one byte a second is cut off), redirects are followed
only to the source's own origins (`crawlers.origins`, the policy the crawler's offsite
middleware applies; never the Elasticsearch node) and at most `crawl.max_redirects` times,
and the whole run stops at `airflow.recheck_timeout_minutes`, recording the listings it did
not reach, so results already gathered are written rather than lost. A listing's `source`
field only ever names a file in the sources folder; it is never read as a path.

Browser-rendered pages are judged on status and page kind only: their content needs the
browser, and a plain fetch would report every one as changed. Results go to
``var/pipeline/_recheck/<run>/`` and the task log; a changed listing is picked up with its
new content by its source's next scheduled crawl.
"""

import logging
import time
import urllib.error
import urllib.request
from collections import Counter
from email.message import Message
from pathlib import Path
from typing import IO

from pydantic import BaseModel, Field

from core.errors import ListingwatchError
from core.schema import Listing
from core.settings import Settings
from crawlers.origins import OriginPolicy
from crawlers.recheck import Status, judge
from crawlers.sources import SourceConfig, source_by_name
from listingwatch.runs.listings_io import write_json_atomic

log = logging.getLogger(__name__)

MAX_LISTED = 50
READ_CHUNK = 64 * 1024


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


class RefusedOrigin(ValueError):
    """A URL (or a redirect's target) outside the source's allowed origins."""


class _OriginRedirects(urllib.request.HTTPRedirectHandler):
    """Follow a redirect only to an allowed origin, and at most `max_redirects` times."""

    def __init__(self, policy: OriginPolicy, max_redirects: int) -> None:
        self.policy = policy
        self.max_redirections = max_redirects

    def redirect_request(
        self, req: urllib.request.Request, fp: IO[bytes], code: int, msg: str, headers: Message, newurl: str
    ) -> urllib.request.Request | None:
        if reason := self.policy.why_refused(newurl):
            raise RefusedOrigin(f"redirect to {newurl[:200]} refused: {reason}")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def fetch(url: str, policy: OriginPolicy, settings: Settings, max_bytes: int, deadline: float) -> tuple[int, str, str]:
    """GET one page within the source's origins, reading at most `max_bytes` before `deadline`: (status, url, html).

    `deadline` is a `time.monotonic()` value; it bounds the whole fetch, not each read, so a
    server that sends a byte a second cannot hold the re-check.
    """
    if reason := policy.why_refused(url):
        raise RefusedOrigin(f"{url[:200]} refused: {reason}")
    opener = urllib.request.build_opener(_OriginRedirects(policy, settings.crawl.max_redirects))
    request = urllib.request.Request(url, headers={"User-Agent": settings.crawl.user_agent})  # noqa: S310
    timeout = max(0.1, min(settings.crawl.download_timeout, deadline - time.monotonic()))
    try:
        response = opener.open(request, timeout=timeout)
    except urllib.error.HTTPError as err:
        response = err  # a 404 or 500 is an answer about the listing, not a failure to ask
    with response:
        body = bytearray()
        while len(body) < max_bytes:
            if time.monotonic() >= deadline:
                raise TimeoutError(f"the page was still arriving after {settings.crawl.download_timeout:.0f}s")
            chunk = response.read1(min(READ_CHUNK, max_bytes - len(body)))
            if not chunk:
                break
            body += chunk
        charset = response.headers.get_content_charset() or "utf-8"
        return response.status, response.url, bytes(body).decode(charset, errors="replace")


def recheck_listing(
    listing: Listing, source: SourceConfig, settings: Settings, *, deadline: float | None = None
) -> RecheckResult:
    """Fetch one listing URL (size- and time-capped, own origins only) and judge it; failures are a result."""
    base = {"id": listing.id, "url": listing.url, "source": listing.source}
    own = time.monotonic() + settings.crawl.download_timeout
    try:
        status, final_url, html = fetch(
            listing.url,
            OriginPolicy.for_source(source, settings),
            settings,
            source.limits.max_page_bytes or settings.crawl.max_page_bytes,
            own if deadline is None else min(own, deadline),
        )
    except (urllib.error.URLError, OSError, ValueError) as err:
        return RecheckResult(**base, status="unreachable", detail=f"{type(err).__name__}: {err}"[:500])
    verdict, detail = judge(listing, source, status, final_url, html)
    return RecheckResult(**base, status=verdict, http_status=status, detail=detail)


def recheck_flagged(settings: Settings, *, key: str, limit: int, timeout_s: float | None = None) -> RecheckReport:
    """Re-check up to `limit` flagged listings within `timeout_s` and store per-listing results with the run.

    Listings not reached before the bound (default `airflow.recheck_timeout_minutes`) are
    recorded as `not_checked`; the next run starts with them (least recently fetched first).
    """
    started = time.monotonic()
    deadline = started + (timeout_s or settings.airflow.recheck_timeout_minutes * 60.0)
    listings = flagged_listings(settings, limit)
    sources: dict[str, SourceConfig | None] = {}
    results: list[RecheckResult] = []
    for listing in listings:
        base = {"id": listing.id, "url": listing.url, "source": listing.source}
        if time.monotonic() >= deadline:
            results.append(RecheckResult(**base, status="not_checked", detail="the run reached its time bound"))
            continue
        if listing.source not in sources:
            try:
                sources[listing.source] = source_by_name(settings.crawl.sources_dir, listing.source)
            except ListingwatchError as err:
                log.warning("Cannot re-check listings of %r: %s", listing.source[:100], err)
                sources[listing.source] = None
        source = sources[listing.source]
        if source is None:
            results.append(RecheckResult(**base, status="unknown_source"))
        else:
            results.append(recheck_listing(listing, source, settings, deadline=deadline))
            time.sleep(max(0.0, min(source.politeness.download_delay, deadline - time.monotonic())))

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
