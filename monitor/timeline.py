"""The whole timeline of a listing, from posting to removal, and the lags people answer for.

Per listing: posted (when the page says so), first seen (our first fetch), flagged (the
first fetch the model flagged, from the observations index), confirmed (the first analyst
confirmation), sent (the first sent packet with it), first platform response (the first
removal or rejection recorded), removed, reinstated.

Per source or platform, median and p90 in hours of three lags:

- detection (ours): posted -> flagged (listings whose page gives a posting time);
- review (ours): flagged -> sent (listings that were sent);
- platform: sent -> removed, with items still live censored at now (Kaplan–Meier), so a
  quantile the curve does not reach is reported as not reached, never as the median of
  the removed ones only.
"""

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import Any

from elasticsearch import Elasticsearch
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.settings import Settings
from core.store.models import TriageDecision
from core.store.takedowns import AuditEntry, TakedownItem
from index_config.manage import listings_alias, observations_alias
from takedown.survival import km_quantile

STEPS = ("posted", "first_seen", "flagged", "confirmed", "sent", "first_response", "removed", "reinstated")
LABELS = {
    "posted": "posted (page says)",
    "first_seen": "first seen",
    "flagged": "flagged",
    "confirmed": "confirmed",
    "sent": "sent to platform",
    "first_response": "first platform response",
    "removed": "removed",
    "reinstated": "reinstated",
}
RESPONSES = ("removed", "rejected")
PAGE = 1_000


@dataclass
class Timeline:
    listing_id: str
    source: str | None = None
    platform: str | None = None
    posted: datetime | None = None
    first_seen: datetime | None = None
    flagged: datetime | None = None
    confirmed: datetime | None = None
    sent: datetime | None = None
    first_response: datetime | None = None
    removed: datetime | None = None
    reinstated: datetime | None = None

    def steps(self) -> list[dict[str, Any]]:
        """The steps that happened, in order, with hours since the step before (what the listing page draws)."""
        out, before = [], None
        for name in STEPS:
            at = getattr(self, name)
            if at is None:
                continue
            out.append({"step": name, "label": LABELS[name], "at": at, "after_h": _hours(before, at)})
            before = at
        return out


def _hours(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return max(0.0, (end - start).total_seconds() / 3600)


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _store_facts(db: Session, timelines: dict[str, Timeline]) -> None:
    ids = list(timelines)
    for chunk in (ids[i : i + 500] for i in range(0, len(ids), 500)):
        confirmed = db.execute(
            select(TriageDecision.listing_id, TriageDecision.decided_at)
            .where(TriageDecision.listing_id.in_(chunk), TriageDecision.decision == "confirmed")
            .order_by(TriageDecision.id)
        )
        for listing_id, at in confirmed:
            timelines[listing_id].confirmed = timelines[listing_id].confirmed or at
        items = {i.id: i for i in db.scalars(select(TakedownItem).where(TakedownItem.listing_id.in_(chunk)))}
        for item in items.values():
            t = timelines[item.listing_id]
            t.sent, t.removed = item.reported_at, item.removed_at
        if not items:
            continue
        audit = db.scalars(select(AuditEntry).where(AuditEntry.item_id.in_(list(items))).order_by(AuditEntry.id))
        for entry in audit:
            t = timelines[items[entry.item_id].listing_id]
            if entry.to_status in RESPONSES and t.first_response is None:
                t.first_response = entry.at
            if entry.to_status == "reinstated" and t.reinstated is None:
                t.reinstated = entry.at


def _first_flagged(client: Elasticsearch, settings: Settings, ids: list[str] | None) -> dict[str, datetime]:
    """Earliest flagged fetch per listing (a composite aggregation, paged, so any number of listings)."""
    query: dict[str, Any] = {"bool": {"filter": [{"term": {"flagged": True}}]}}
    if ids is not None:
        query["bool"]["filter"].append({"terms": {"listing_id": ids}})
    found: dict[str, datetime] = {}
    after: dict[str, Any] | None = None
    while True:
        composite: dict[str, Any] = {"size": PAGE, "sources": [{"id": {"terms": {"field": "listing_id"}}}]}
        if after:
            composite["after"] = after
        reply = client.search(
            index=observations_alias(settings),
            query=query,
            size=0,
            aggs={"by": {"composite": composite, "aggs": {"first": {"min": {"field": "fetched_at"}}}}},
        )
        agg = reply["aggregations"]["by"]
        for bucket in agg["buckets"]:
            if bucket["first"].get("value_as_string"):
                found[bucket["key"]["id"]] = datetime.fromisoformat(bucket["first"]["value_as_string"])
        after = agg.get("after_key")
        if not agg["buckets"] or not after:
            return found


def _listing_docs(client: Elasticsearch, settings: Settings, ids: list[str] | None) -> Iterator[dict[str, Any]]:
    query: dict[str, Any] = {"ids": {"values": ids}} if ids is not None else {"term": {"classification.flagged": True}}
    search_after = None
    while True:
        reply = client.search(
            index=listings_alias(settings),
            query=query,
            size=PAGE,
            sort=[{"id": "asc"}],
            search_after=search_after,
            source_includes=["id", "source", "platform", "posted_at", "first_seen"],
        )
        hits = reply["hits"]["hits"]
        yield from (h["_source"] for h in hits)
        if len(hits) < PAGE:
            return
        search_after = hits[-1]["sort"]


def timelines(
    client: Elasticsearch, settings: Settings, db: Session, ids: list[str] | None = None
) -> dict[str, Timeline]:
    """Timelines of the given listings, or of every listing flagged now when `ids` is None."""
    found = {
        d["id"]: Timeline(
            listing_id=d["id"],
            source=d.get("source"),
            platform=d.get("platform"),
            posted=_dt(d.get("posted_at")),
            first_seen=_dt(d.get("first_seen")),
        )
        for d in _listing_docs(client, settings, ids)
    }
    for listing_id, at in _first_flagged(client, settings, list(found) if ids is not None else None).items():
        if listing_id in found:
            found[listing_id].flagged = at
    _store_facts(db, found)
    return found


def listing_timeline(client: Elasticsearch, settings: Settings, db: Session, listing_id: str) -> Timeline | None:
    return timelines(client, settings, db, [listing_id]).get(listing_id)


@dataclass
class LagRow:
    group: str
    listings: int
    detection_n: int
    detection_median_h: float | None
    detection_p90_h: float | None
    review_n: int
    review_median_h: float | None
    review_p90_h: float | None
    sent: int
    removed: int
    platform_median_h: float | None
    platform_p90_h: float | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


COLUMNS = [f.name for f in fields(LagRow)]


def _quantile(values: list[float], q: float) -> float | None:
    return km_quantile(values, [True] * len(values), q) if values else None


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def lag_rows(items: Iterable[Timeline], by: str, now: datetime) -> list[LagRow]:
    """One row per source (or platform), sorted by name; pure, so it is tested without services."""
    groups: dict[str, list[Timeline]] = defaultdict(list)
    for t in items:
        groups[str(getattr(t, by) or "-")].append(t)
    rows = []
    for group, members in sorted(groups.items()):
        detection = [h for t in members if (h := _hours(t.posted, t.flagged)) is not None]
        review = [h for t in members if (h := _hours(t.flagged, t.sent)) is not None]
        sent = [t for t in members if t.sent is not None]
        durations = [_hours(t.sent, t.removed or now) or 0.0 for t in sent]
        ended = [t.removed is not None for t in sent]
        rows.append(
            LagRow(
                group=group,
                listings=len(members),
                detection_n=len(detection),
                detection_median_h=_round(_quantile(detection, 0.5)),
                detection_p90_h=_round(_quantile(detection, 0.9)),
                review_n=len(review),
                review_median_h=_round(_quantile(review, 0.5)),
                review_p90_h=_round(_quantile(review, 0.9)),
                sent=len(sent),
                removed=sum(ended),
                platform_median_h=_round(km_quantile(durations, ended, 0.5)) if sent else None,
                platform_p90_h=_round(km_quantile(durations, ended, 0.9)) if sent else None,
            )
        )
    return rows


def cell(row: LagRow, key: str) -> str:
    """A table cell: platform quantiles the curve does not reach say so."""
    value = getattr(row, key)
    if value is None and key.startswith("platform_") and row.sent:
        return "not reached"
    return "-" if value is None else str(value)
