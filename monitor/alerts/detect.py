"""Finding the events each subscription wants, as drafts with stable keys (the delivery log dedupes them).

Every detector looks back `since` = the later of the subscription's creation and
`alerts.lookback_hours` ago: a run that was skipped or failed is made up by the next one,
a new subscriber is not flooded with history, and overlapping windows cost nothing because
an event's key (``new_offer:<listing id>``, ``overdue:<item id>``...) is recorded once.
"""

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from elasticsearch import Elasticsearch
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.settings import Settings
from core.store.alerts import AlertEvent, AlertSubscription, SourceRunOutcome
from core.store.models import SavedSearch
from core.store.takedowns import TakedownItem
from index_config.manage import listings_alias
from index_config.saved_searches import params_from_query_string
from index_config.search import SearchParams, build_query
from takedown.platforms import Registry

MAX_PER_SUBSCRIPTION = 200  # per run; the rest are found by the next run (the window overlaps)


@dataclass(frozen=True)
class Draft:
    key: str
    event: str
    occurred_at: datetime
    data: dict[str, Any] = field(default_factory=dict)
    owner_id: int | None = None


def since_for(sub: AlertSubscription, settings: Settings, now: datetime) -> datetime:
    return max(sub.created_at, now - timedelta(hours=settings.alerts.lookback_hours))


def _listing_hits(
    client: Elasticsearch, settings: Settings, params: SearchParams, filters: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    reply = client.search(
        index=listings_alias(settings),
        query=build_query(params, filters),
        size=MAX_PER_SUBSCRIPTION,
        sort=[{"first_seen": "asc"}, {"id": "asc"}],
        source_includes=[
            "id",
            "site",
            "platform",
            "source",
            "first_seen",
            "classification.score",
            "classification.substances",
        ],
    )
    return [hit["_source"] for hit in reply["hits"]["hits"]]


def _since_filter(since: datetime) -> dict[str, Any]:
    return {"range": {"first_seen": {"gte": since.isoformat()}}}


def _listing_draft(
    event: str, key_prefix: str, doc: dict[str, Any], data: dict[str, Any], owner_id: int | None = None
) -> Draft:
    """An event about one listing hit: keyed and linked by the listing's id, dated when it was first seen."""
    return Draft(
        key=f"{key_prefix}:{doc['id']}",
        event=event,
        occurred_at=datetime.fromisoformat(doc["first_seen"]),
        data={**data, "listing_id": doc["id"], "path": f"/listings/{doc['id']}"},
        owner_id=owner_id,
    )


def new_offers(client: Elasticsearch, settings: Settings, sub: AlertSubscription, now: datetime) -> list[Draft]:
    """Flagged synthetic-scope listings first seen in the window, at or above the score_min (filter or default)."""
    params = params_from_query_string(sub.filter or "")
    if params.score_min is None:
        params = params.model_copy(update={"score_min": settings.alerts.min_score})
    filters = [
        {"term": {"classification.scope": "synthetic"}},
        {"term": {"classification.flagged": True}},
        _since_filter(since_for(sub, settings, now)),
    ]
    drafts = []
    for doc in _listing_hits(client, settings, params, filters):
        verdict = doc.get("classification") or {}
        drafts.append(
            _listing_draft(
                "new_offer",
                "new_offer",
                doc,
                {
                    "site": doc.get("site"),
                    "platform": doc.get("platform"),
                    "source": doc.get("source"),
                    "score": round(float(verdict.get("score") or 0), 3),
                    "substances": list(verdict.get("substances") or []),
                },
            )
        )
    return drafts


def saved_search_matches(
    client: Elasticsearch, session: Session, settings: Settings, sub: AlertSubscription, now: datetime
) -> list[Draft]:
    """Listings first seen in the window that match one of the subscriber's own saved searches."""
    searches = session.scalars(select(SavedSearch).where(SavedSearch.user_id == sub.user_id).order_by(SavedSearch.id))
    drafts = []
    for search in searches:
        if sub.filter and search.name != sub.filter:
            continue
        since = max(since_for(sub, settings, now), search.created_at)
        for doc in _listing_hits(client, settings, params_from_query_string(search.query), [_since_filter(since)]):
            drafts.append(
                _listing_draft(
                    "saved_search",
                    f"saved_search:{search.id}",
                    doc,
                    {"search_id": search.id, "search_name": search.name},
                    owner_id=sub.user_id,
                )
            )
    return drafts


def relistings(session: Session, settings: Settings, sub: AlertSubscription, now: datetime) -> list[Draft]:
    since = since_for(sub, settings, now)
    rows = session.scalars(
        select(TakedownItem).where(TakedownItem.relist_of_id.is_not(None), TakedownItem.created_at >= since)
    )
    return [
        Draft(
            key=f"relisting:{item.id}",
            event="relisting",
            occurred_at=item.created_at,
            data={
                "listing_id": item.listing_id,
                "item_id": item.id,
                "relist_of": item.relist_of.listing_id if item.relist_of else None,
                "platform": item.platform,
                "path": f"/listings/{item.listing_id}",
            },
        )
        for item in rows
        if not sub.filter or item.platform == sub.filter
    ]


def overdue_items(
    session: Session, settings: Settings, registry: Registry, sub: AlertSubscription, now: datetime
) -> list[Draft]:
    """Reported, not found removed, past the platform's promised hours (a platform that promises nothing never is)."""
    since = since_for(sub, settings, now)
    drafts = []
    rows = session.scalars(
        select(TakedownItem).where(
            TakedownItem.status.in_(("reported", "still_live")), TakedownItem.reported_at.is_not(None)
        )
    )
    for item in rows:
        platform = registry.find(item.platform)
        if platform is None or platform.response_hours is None or (sub.filter and item.platform != sub.filter):
            continue
        due = item.reported_at + timedelta(hours=platform.response_hours)  # type: ignore[operator]
        if since <= due <= now:
            drafts.append(
                Draft(
                    key=f"overdue:{item.id}",
                    event="overdue",
                    occurred_at=due,
                    data={
                        "listing_id": item.listing_id,
                        "item_id": item.id,
                        "platform": item.platform,
                        "reported_at": item.reported_at.isoformat(),  # type: ignore[union-attr]
                        "promised_hours": platform.response_hours,
                        "path": f"/listings/{item.listing_id}",
                    },
                )
            )
    return drafts


def failed_twice(outcomes: list[SourceRunOutcome]) -> bool:
    """The newest two runs (newest first) both failed or found nothing."""
    return len(outcomes) >= 2 and all(not o.ok or o.listings == 0 for o in outcomes[:2])


def source_failures(session: Session, settings: Settings, sub: AlertSubscription, now: datetime) -> list[Draft]:
    since = since_for(sub, settings, now)
    sources = session.scalars(select(SourceRunOutcome.source).distinct())
    drafts = []
    for source in sources:
        if sub.filter and source != sub.filter:
            continue
        last = list(
            session.scalars(
                select(SourceRunOutcome)
                .where(SourceRunOutcome.source == source)
                .order_by(SourceRunOutcome.finished_at.desc(), SourceRunOutcome.id.desc())
                .limit(2)
            )
        )
        if failed_twice(last) and last[0].finished_at >= since:
            drafts.append(
                Draft(
                    key=f"source_failed:{source}:{last[0].run_key}",
                    event="source_failed",
                    occurred_at=last[0].finished_at,
                    data={
                        "source": source,
                        "runs": [o.run_key for o in reversed(last)],
                        "error": last[0].error or "the crawl returned no listings",
                        "path": "/admin/sources",
                    },
                )
            )
    return drafts


def recorded(session: Session, event: str, sub: AlertSubscription, since: datetime) -> list[AlertEvent]:
    """Events recorded as they happened (Airflow task failures), for a subscription's window and filter."""
    rows = session.scalars(
        select(AlertEvent).where(AlertEvent.event == event, AlertEvent.occurred_at >= since).order_by(AlertEvent.id)
    )
    return [r for r in rows if not sub.filter or json.loads(r.data).get("dag_id") == sub.filter]
