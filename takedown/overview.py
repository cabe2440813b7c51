"""What a liaison team sees at a glance: figures per platform, items waiting, recent packets, answers and appeals.

One read for the web page and anything else that shows the same desk (the CLI prints its parts with
`takedown report`, `takedown packets` and `takedown answers`), so the numbers cannot drift between them.
"""

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from operator import attrgetter
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute, Session

from core.store.takedowns import Appeal, PlatformResponse, TakedownItem, TakedownPacket
from takedown import accountability, yearly
from takedown.platforms import Registry

MAX_PACKETS_SHOWN = 50
MAX_ANSWERS_SHOWN = 50
OPEN_STATUSES = ("queued", "reported", "still_live")


@dataclass(frozen=True)
class LiaisonOverview:
    rows: list[accountability.PlatformRow]
    figures: dict[str, Any]
    waiting: list[dict[str, Any]] = field(default_factory=list)
    packets: list[dict[str, Any]] = field(default_factory=list)
    answers: list[dict[str, Any]] = field(default_factory=list)
    appeals: list[dict[str, Any]] = field(default_factory=list)


def liaison_overview(db: Session, registry: Registry, period: str, now: datetime) -> LiaisonOverview:
    facts = accountability.facts_from_store(db)
    return LiaisonOverview(
        rows=accountability.report(db, registry),
        figures=yearly.as_json(yearly.yearly(facts, registry, period, "platform", now), period, "platform"),
        waiting=_waiting(db, registry),
        packets=_packets(db),
        answers=_answers(db),
        appeals=_appeals(db),
    )


def _waiting(db: Session, registry: Registry) -> list[dict[str, Any]]:
    counts = Counter((i.platform, i.status) for i in db.scalars(select(TakedownItem)))
    return [
        {
            "key": p.key,
            "name": p.name,
            "new": counts[(p.key, "new")],
            "open": sum(n for (k, s), n in counts.items() if k == p.key and s in OPEN_STATUSES),
        }
        for p in registry.platforms
        if any(k == p.key for k, _ in counts)
    ]


def _newest(
    db: Session,
    order: InstrumentedAttribute[datetime],
    limit: int,
    names: tuple[str, ...],
    **read: Callable[[Any], Any],
) -> list[dict[str, Any]]:
    """The newest `limit` rows of `order`'s table as the dicts the page shows: each attribute in `names` under
    its own name, and each of `read` under its key (a value from a related row, a count)."""
    query = select(order.class_).order_by(order.desc()).limit(limit)
    return [
        {**{name: getattr(row, name) for name in names}, **{key: get(row) for key, get in read.items()}}
        for row in db.scalars(query)
    ]


def _packets(db: Session) -> list[dict[str, Any]]:
    names = ("id", "platform", "created_at", "sent_at", "sent_by", "ticket", "timestamped")
    return _newest(db, TakedownPacket.created_at, MAX_PACKETS_SHOWN, names, listings=lambda p: len(p.items))


def _answers(db: Session) -> list[dict[str, Any]]:
    names = ("decision", "countries", "grounds", "at")
    item = {"item": attrgetter("item_id"), "url": attrgetter("item.url"), "platform": attrgetter("item.platform")}
    return _newest(db, PlatformResponse.at, MAX_ANSWERS_SHOWN, names, **item)


def _appeals(db: Session) -> list[dict[str, Any]]:
    names = ("filed_at", "deadline")
    against = {"item": attrgetter("item_id"), "against": attrgetter("response.decision")}
    return _newest(db, Appeal.filed_at, MAX_ANSWERS_SHOWN, names, **against)
