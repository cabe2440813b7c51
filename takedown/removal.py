"""Did the platform act? Re-fetch reported listings on a schedule and judge removed or still live.

Schedule: hourly for the first `hourly_checks_hours` after reporting (time to removal is
measured to the hour), then daily; removed listings keep being checked daily for
`watch_removed_days` so a reinstated one is caught. Each check is an observation of its own:
its request and response go into a WARC under ``var/warc/takedown/`` and an observation
document, so "it was gone at 14:00" is as provable as "it was up at 09:00". Fetches go
through the source's re-fetcher (`crawlers.refetch`: its proxy, user agent, origins,
public addresses only, limits); a listing whose source is not configured is not fetched.

A seller's own deletion ("deleted by its author", "ended by the seller": registry
`seller_markers`) is `deleted`: the page is gone but the platform did nothing, so it is
reported apart and never counted as the platform's removal.

Removed means: HTTP 404/410/451, the platform's removal page (registry `removal_markers`), a
redirect to a search page (registry `search_paths`, or any path/query that looks like search),
or a page that no longer shows a listing (the crawler's own extraction finds no title or text).
Challenges, login walls, 5xx and network errors prove nothing either way: `unknown`.
"""

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from elasticsearch import Elasticsearch
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import ListingwatchError
from core.schema import Listing
from core.settings import Settings
from core.store.takedowns import RemovalCheck, TakedownItem
from crawlers.evidence import WarcWriter
from crawlers.recheck import judge as recheck_judge
from crawlers.refetch import Refetcher, RefetchError, capture_hops
from crawlers.sources import SourceConfig, source_by_name
from index_config.manage import observations_alias
from index_config.triage import fetch_listings
from takedown import cases, mirror
from takedown.platforms import Platform, Registry

Verdict = Literal["removed", "deleted", "live", "unknown"]
WATCHED = ("reported", "still_live", "reinstated", "removed")
_SEARCH = re.compile(r"(^|/)(search|s|find|results?)(/|$)|[?&](q|query|search|keywords?)=", re.IGNORECASE)
_TAGS = re.compile(r"<[^>]+>")


@dataclass
class Fetched:
    status: int | None
    final_url: str
    html: str
    error: str | None = None
    warc_file: str | None = None
    record_id: str | None = None
    body_sha256: str | None = None
    captured_at: datetime | None = None


@dataclass
class CheckOutcome:
    item_id: int
    url: str
    verdict: Verdict
    reason: str
    status_before: str
    status_after: str


def warc_dir(settings: Settings) -> Path:
    """Where removal checks keep their captures (apart from crawl WARCs, which rotate per source)."""
    return settings.var_dir / "warc" / "takedown"


def due(item: TakedownItem, now: datetime, settings: Settings) -> bool:
    """Whether an item's next check is due now (see the module docstring for the schedule)."""
    if item.status not in WATCHED or item.reported_at is None:
        return False
    if (
        item.status == "removed"
        and item.removed_at
        and now - item.removed_at > timedelta(days=settings.takedown.watch_removed_days)
    ):
        return False
    if item.last_checked_at is None:
        return True
    early = now - item.reported_at < timedelta(hours=settings.takedown.hourly_checks_hours)
    interval = timedelta(hours=1) if early and item.status != "removed" else timedelta(days=1)
    # A few minutes' slack so an hourly schedule that fires slightly early still checks.
    return now - item.last_checked_at >= interval - timedelta(minutes=5)


def fetch(url: str, fetcher: Refetcher, writer: WarcWriter) -> Fetched:
    """GET through the source's re-fetcher (its proxy, origins, limits); every hop received goes into the WARC."""
    try:
        page = fetcher.fetch(url)
    except RefetchError as err:
        capture_hops(
            writer, err.hops, "takedown-removal-check"
        )  # a refused redirect is kept: where the platform sent us is evidence too
        return Fetched(status=None, final_url=err.hops[-1].url if err.hops else url, html="", error=str(err))
    capture = capture_hops(writer, page.hops, "takedown-removal-check")
    assert capture is not None
    return Fetched(
        status=page.final.status,
        final_url=page.final.url,
        html=page.html,
        warc_file=str(capture.warc_file),
        record_id=capture.record_id,
        body_sha256=capture.body_sha256,
        captured_at=capture.captured_at,
    )


def judge(
    doc: dict[str, Any], source: SourceConfig | None, platform: Platform, fetched: Fetched
) -> tuple[Verdict, str]:
    """Removed, live or unknown, with the reason a platform can be shown."""
    if fetched.status is None:
        return "unknown", f"no answer ({fetched.error})"
    status, url = fetched.status, doc["url"]
    if status in (404, 410, 451):
        return "removed", f"HTTP {status}"
    text = " ".join(_TAGS.sub(" ", fetched.html[:200_000]).split())
    for marker in platform.seller_markers:
        if marker.casefold() in text.casefold():
            return "deleted", f"deleted by the seller ({marker!r})"
    for marker in platform.removal_markers:
        if marker.casefold() in text.casefold():
            return "removed", f"the platform's removal page ({marker!r})"
    moved = urlsplit(fetched.final_url)
    if moved.path != urlsplit(url).path:
        target = moved.path + (f"?{moved.query}" if moved.query else "")
        if (
            any(moved.path.startswith(p) for p in platform.search_paths)
            or _SEARCH.search(target)
            or moved.path
            in (
                "",
                "/",
            )
        ):
            return "removed", f"redirected to a search page ({target})"
    if source is None:
        return ("live", f"HTTP {status}") if status < 400 else ("unknown", f"HTTP {status}")
    verdict, detail = recheck_judge(Listing.model_validate(doc), source, status, fetched.final_url, fetched.html)
    if verdict == "gone":
        return "removed", "emptied: " + (detail or "no listing content")
    if verdict in ("live", "changed"):
        return "live", f"HTTP {status}, listing shown" + (" (content changed)" if verdict == "changed" else "")
    return "unknown", detail or verdict


def cause_of(verdict: Verdict, reason: str) -> str | None:
    """Who took a gone listing down: platform (its removal page), seller, or unstated (404, redirect, emptied)."""
    if verdict == "deleted":
        return "seller"
    if verdict == "removed":
        return "platform" if reason.startswith("the platform's removal page") else "unstated"
    return None


def _next_status(current: str, verdict: Verdict) -> str | None:
    if verdict in ("removed", "deleted") and current in ("reported", "still_live", "reinstated"):
        return "removed"
    if verdict == "live" and current == "reported":
        return "still_live"
    if verdict == "live" and current == "removed":
        return "reinstated"
    return None


def _observation(doc: dict[str, Any], fetched: Fetched, verdict: Verdict, reason: str) -> tuple[str, dict[str, Any]]:
    at = fetched.captured_at or datetime.now(UTC)
    key = f"{doc['id']}|{at.isoformat()}|{fetched.body_sha256 or ''}|check"
    body = {
        "listing_id": doc["id"],
        "url": doc["url"],
        "source": doc.get("source"),
        "platform": doc.get("platform"),
        "site": doc.get("site"),
        "page_kind": "listing" if verdict == "live" else "other",
        "render_mode": "http",
        "fetched_at": at.isoformat(),
        "http_status": fetched.status,
        "content_sha256": fetched.body_sha256,
        "evidence": {
            "warc_file": fetched.warc_file,
            "warc_record_id": fetched.record_id,
            "body_sha256": fetched.body_sha256,
            "captured_at": at.isoformat(),
        },
        "takedown_check": {"verdict": verdict, "reason": reason, "final_url": fetched.final_url},
    }
    return hashlib.sha256(key.encode()).hexdigest()[:32], body


def _not_fetched(url: str, source: str | None) -> Fetched:
    reason = f"source {source!r} is not configured here, so its proxy and allowed domains are unknown; not fetched"
    return Fetched(status=None, final_url=url, html="", error=reason)


def _fetcher(name: str | None, settings: Settings, fetchers: dict[str, Refetcher | None]) -> Refetcher | None:
    """The source's re-fetcher (one per source per run), or None for a source not configured."""
    if name and name not in fetchers:
        try:
            fetchers[name] = Refetcher(source_by_name(settings.crawl.sources_dir, name), settings)
        except ListingwatchError:
            fetchers[name] = None
    return fetchers.get(name) if name else None


def run_checks(
    session: Session,
    client: Elasticsearch,
    settings: Settings,
    registry: Registry,
    now: datetime | None = None,
    force: bool = False,
) -> list[CheckOutcome]:
    """Check every due item (all watched items with `force`), record each check, move statuses, mirror."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    watched = session.scalars(select(TakedownItem).where(TakedownItem.status.in_(WATCHED)).order_by(TakedownItem.id))
    items = [i for i in watched if (force and i.reported_at is not None) or due(i, now, settings)]
    items = items[: settings.takedown.check_limit]
    if not items:
        return []
    docs = fetch_listings(client, settings, [i.listing_id for i in items])
    fetchers: dict[str, Refetcher | None] = {}
    writer = WarcWriter(warc_dir(settings), "removal-checks", settings.crawl.warc_max_bytes)
    outcomes: list[CheckOutcome] = []
    changed: list[TakedownItem] = []
    try:
        for item in items:
            doc = docs.get(item.listing_id) or {"id": item.listing_id, "url": item.url}
            doc = {**doc, "id": item.listing_id}
            fetcher = _fetcher(doc.get("source"), settings, fetchers)
            source = fetcher.source if fetcher else None
            fetched = fetch(item.url, fetcher, writer) if fetcher else _not_fetched(item.url, doc.get("source"))
            verdict, reason = judge(doc, source, registry.find(item.platform) or registry.catch_all, fetched)
            if "url" in doc and "source" in doc:
                oid, body = _observation(doc, fetched, verdict, reason)
                client.index(index=observations_alias(settings), id=oid, document=body)
            session.add(
                RemovalCheck(
                    item_id=item.id,
                    checked_at=now,
                    verdict=verdict,
                    reason=reason,
                    http_status=fetched.status,
                    final_url=fetched.final_url,
                    warc_file=fetched.warc_file,
                    warc_record_id=fetched.record_id,
                    body_sha256=fetched.body_sha256,
                    cause=cause_of(verdict, reason),
                )
            )
            before = item.status
            item.last_checked_at = now
            target = _next_status(before, verdict)
            if target is not None:
                cases.transition(session, item, target, "system:removal-check", reason, now)
                if target == "removed":
                    item.removal_cause = cause_of(verdict, reason)
            changed.append(item)
            outcomes.append(CheckOutcome(item.id, item.url, verdict, reason, before, item.status))
    finally:
        writer.close()
        for opened in fetchers.values():
            if opened is not None:
                opened.close()
    session.flush()
    mirror.sync(client, settings, changed)
    return outcomes


def scheduled_run(settings: Settings, now: datetime | None = None) -> dict[str, Any]:
    """What the hourly `takedown_checks` DAG runs: due checks, then relisting detection; returns counts."""
    from collections import Counter

    from core.store import session_scope
    from index_config.client import get_client
    from takedown.platforms import load_registry
    from takedown.relist import detect

    client = get_client(settings)
    registry = load_registry(settings.takedown.platforms_file)
    with session_scope(settings) as session:
        outcomes = run_checks(session, client, settings, registry, now)
        relisted = detect(session, client, settings, registry, now)
    return {
        "checked": len(outcomes),
        "verdicts": dict(Counter(o.verdict for o in outcomes)),
        "moved": [
            f"item {o.item_id}: {o.status_before} -> {o.status_after}"
            for o in outcomes
            if o.status_before != o.status_after
        ][:50],
        "relistings": len(relisted),
    }
