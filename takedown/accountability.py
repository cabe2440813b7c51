"""Per platform: how many reports, how fast removals came, how many came back.

This is the figure put in front of a platform, so each number is defined once here:

- reported: items a sent packet reported; removed: items a check later found removed.
- still live after 24 h / 7 d: of the items reported at least that long ago, those not found
  removed within that time (shown with the number of items old enough to count).
- time to removal: first check that found it removed minus the time the packet was sent,
  as a Kaplan–Meier estimate (`takedown.survival`): items still live are censored at their
  age, seller deletions at the deletion; median and 90th percentile in hours, None with
  `median_text` "not reached (> N h)" while the estimate has not got there. Hourly checks in
  the first day bound the error to an hour.
- removed counts the platform's removals (its removal page, or gone without a stated cause);
  seller_deleted counts pages the seller took down (registry `seller_markers`), apart.
- time to first response: the platform's first recorded answer minus sending, estimated the
  same way (items without an answer are censored), apart from time to removal.
- within promise: removed no later than the platform's promised response time.
- reinstated: items that came back after removal; relisted: new listings linked to one of the
  platform's removed items.
"""

import math
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.store.takedowns import AuditEntry, PlatformResponse, TakedownItem
from takedown.platforms import Registry
from takedown.survival import Estimate, Observation, estimate


@dataclass(frozen=True)
class ItemFacts:
    """What the figures need from one item (pure data, so they can be tested without a database)."""

    platform: str
    reported_at: datetime | None
    removed_at: datetime | None
    reinstated: bool
    relist_of_platform: str | None
    removal_cause: str | None = None
    first_response_at: datetime | None = None
    decision: str | None = None  # the platform's latest recorded answer
    substances: tuple[str, ...] = field(default_factory=tuple)

    @property
    def platform_removed(self) -> bool:
        return self.removed_at is not None and self.removal_cause != "seller"


def _hours(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 3600


def removal_estimate(facts: list[ItemFacts], now: datetime) -> Estimate:
    """Time to the platform's removal: seller deletions censored at deletion, live items at their age."""
    obs = [
        Observation(_hours(f.reported_at, f.removed_at or now), f.platform_removed)
        for f in facts
        if f.reported_at is not None
    ]
    return estimate(obs)


def response_estimate(facts: list[ItemFacts], now: datetime) -> Estimate:
    obs = [
        Observation(_hours(f.reported_at, f.first_response_at or now), f.first_response_at is not None)
        for f in facts
        if f.reported_at is not None
    ]
    return estimate(obs)


@dataclass
class PlatformRow:
    platform: str
    name: str
    reported: int
    removed: int
    seller_deleted: int
    still_live_24h: int
    eligible_24h: int
    still_live_7d: int
    eligible_7d: int
    median_hours: float | None
    median_text: str
    p90_hours: float | None
    answered: int
    first_response_median_hours: float | None
    first_response_text: str
    promised_hours: float | None
    within_promise: int | None
    reinstated: int
    relisted: int

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def nearest_rank(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def _still_live(facts: list[ItemFacts], now: datetime, window: timedelta) -> tuple[int, int]:
    eligible = [f for f in facts if f.reported_at is not None and now - f.reported_at >= window]
    live = [
        f
        for f in eligible
        if not f.platform_removed or f.removed_at - f.reported_at > window  # type: ignore[operator]
    ]
    return len(live), len(eligible)


def compute(facts: list[ItemFacts], registry: Registry, now: datetime) -> list[PlatformRow]:
    """One row per platform that has reported items, in registry order."""
    rows = []
    for platform in registry.platforms:
        mine = [f for f in facts if f.platform == platform.key and f.reported_at is not None]
        relisted = sum(1 for f in facts if f.relist_of_platform == platform.key)
        if not mine and not relisted:
            continue
        hours = [_hours(f.reported_at, f.removed_at) for f in mine if f.platform_removed]  # type: ignore[arg-type]
        removal = removal_estimate(mine, now)
        response = response_estimate(mine, now)
        live24, eligible24 = _still_live(mine, now, timedelta(hours=24))
        live7, eligible7 = _still_live(mine, now, timedelta(days=7))
        promised = platform.response_hours
        rows.append(
            PlatformRow(
                platform=platform.key,
                name=platform.name,
                reported=len(mine),
                removed=len(hours),
                seller_deleted=sum(1 for f in mine if f.removed_at is not None and f.removal_cause == "seller"),
                still_live_24h=live24,
                eligible_24h=eligible24,
                still_live_7d=live7,
                eligible_7d=eligible7,
                median_hours=removal.median_hours,
                median_text=removal.median_text(),
                p90_hours=removal.p90_hours,
                answered=response.events,
                first_response_median_hours=response.median_hours,
                first_response_text=response.median_text(),
                promised_hours=promised,
                within_promise=sum(1 for h in hours if h <= promised) if promised else None,
                reinstated=sum(1 for f in mine if f.reinstated),
                relisted=relisted,
            )
        )
    return rows


def facts_from_store(session: Session) -> list[ItemFacts]:
    items = list(session.scalars(select(TakedownItem)))
    reinstated = set(session.scalars(select(AuditEntry.item_id).where(AuditEntry.to_status == "reinstated")))
    platform_of = {i.id: i.platform for i in items}
    first: dict[int, datetime] = {}
    latest: dict[int, str] = {}
    for r in session.scalars(select(PlatformResponse).order_by(PlatformResponse.at, PlatformResponse.id)):
        first.setdefault(r.item_id, r.at)
        latest[r.item_id] = r.decision
    return [
        ItemFacts(
            platform=i.platform,
            reported_at=i.reported_at,
            removed_at=i.removed_at,
            reinstated=i.id in reinstated,
            relist_of_platform=platform_of.get(i.relist_of_id) if i.relist_of_id else None,
            removal_cause=i.removal_cause,
            first_response_at=first.get(i.id),
            decision=latest.get(i.id),
            substances=tuple((i.substances or "").split(",")) if i.substances else (),
        )
        for i in items
    ]


def report(session: Session, registry: Registry, now: datetime | None = None) -> list[PlatformRow]:
    return compute(facts_from_store(session), registry, (now or datetime.now(UTC)).astimezone(UTC))


COLUMNS = [
    ("name", "platform"),
    ("reported", "reported"),
    ("removed", "removed"),
    ("seller_deleted", "seller deleted"),
    ("still_live_24h", "live >24h"),
    ("still_live_7d", "live >7d"),
    ("median_text", "median to removal"),
    ("p90_hours", "p90 h"),
    ("answered", "answered"),
    ("first_response_text", "median to 1st answer"),
    ("promised_hours", "promised h"),
    ("within_promise", "in promise"),
    ("reinstated", "reinstated"),
    ("relisted", "relisted"),
]


def cell(row: PlatformRow, key: str) -> str:
    value = getattr(row, key)
    if key == "still_live_24h":
        return f"{value}/{row.eligible_24h}"
    if key == "still_live_7d":
        return f"{value}/{row.eligible_7d}"
    return "-" if value is None else str(value)
