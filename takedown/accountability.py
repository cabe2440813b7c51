"""Per platform: how many reports, how fast removals came, how many came back.

This is the figure put in front of a platform, so each number is defined once here:

- reported: items a sent packet reported; removed: items a check later found removed.
- still live after 24 h / 7 d: of the items reported at least that long ago, those not found
  removed within that time (shown with the number of items old enough to count).
- time to removal: first check that found it removed minus the time the packet was sent;
  median and 90th percentile (nearest rank) in hours. Hourly checks in the first day bound
  the error to an hour.
- within promise: removed no later than the platform's promised response time.
- reinstated: items that came back after removal; relisted: new listings linked to one of the
  platform's removed items.
"""

import math
import statistics
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.store.takedowns import AuditEntry, TakedownItem
from takedown.platforms import Registry


@dataclass(frozen=True)
class ItemFacts:
    """What the figures need from one item (pure data, so they can be tested without a database)."""

    platform: str
    reported_at: datetime | None
    removed_at: datetime | None
    reinstated: bool
    relist_of_platform: str | None


@dataclass
class PlatformRow:
    platform: str
    name: str
    reported: int
    removed: int
    still_live_24h: int
    eligible_24h: int
    still_live_7d: int
    eligible_7d: int
    median_hours: float | None
    p90_hours: float | None
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
    live = [f for f in eligible if f.removed_at is None or f.removed_at - f.reported_at > window]  # type: ignore[operator]
    return len(live), len(eligible)


def compute(facts: list[ItemFacts], registry: Registry, now: datetime) -> list[PlatformRow]:
    """One row per platform that has reported items, in registry order."""
    rows = []
    for platform in registry.platforms:
        mine = [f for f in facts if f.platform == platform.key and f.reported_at is not None]
        relisted = sum(1 for f in facts if f.relist_of_platform == platform.key)
        if not mine and not relisted:
            continue
        hours = [
            (f.removed_at - f.reported_at).total_seconds() / 3600
            for f in mine
            if f.removed_at is not None and f.reported_at is not None
        ]
        live24, eligible24 = _still_live(mine, now, timedelta(hours=24))
        live7, eligible7 = _still_live(mine, now, timedelta(days=7))
        promised = platform.response_hours
        rows.append(
            PlatformRow(
                platform=platform.key,
                name=platform.name,
                reported=len(mine),
                removed=len(hours),
                still_live_24h=live24,
                eligible_24h=eligible24,
                still_live_7d=live7,
                eligible_7d=eligible7,
                median_hours=round(statistics.median(hours), 2) if hours else None,
                p90_hours=round(nearest_rank(hours, 0.9) or 0.0, 2) if hours else None,
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
    return [
        ItemFacts(
            platform=i.platform,
            reported_at=i.reported_at,
            removed_at=i.removed_at,
            reinstated=i.id in reinstated,
            relist_of_platform=platform_of.get(i.relist_of_id) if i.relist_of_id else None,
        )
        for i in items
    ]


def report(session: Session, registry: Registry, now: datetime | None = None) -> list[PlatformRow]:
    return compute(facts_from_store(session), registry, (now or datetime.now(UTC)).astimezone(UTC))


COLUMNS = [
    ("name", "platform"),
    ("reported", "reported"),
    ("removed", "removed"),
    ("still_live_24h", "live >24h"),
    ("still_live_7d", "live >7d"),
    ("median_hours", "median h"),
    ("p90_hours", "p90 h"),
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
