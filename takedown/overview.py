"""What a liaison team sees at a glance: figures per platform, items waiting, recent packets, answers and appeals.

One read for the web page and anything else that shows the same desk (the CLI prints its parts with
`takedown report`, `takedown packets` and `takedown answers`), so the numbers cannot drift between them.
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

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


def _packets(db: Session) -> list[dict[str, Any]]:
    newest = select(TakedownPacket).order_by(TakedownPacket.created_at.desc()).limit(MAX_PACKETS_SHOWN)
    return [
        {
            "id": p.id,
            "platform": p.platform,
            "created_at": p.created_at,
            "listings": len(p.items),
            "sent_at": p.sent_at,
            "sent_by": p.sent_by,
            "ticket": p.ticket,
            "timestamped": p.timestamped,
        }
        for p in db.scalars(newest)
    ]


def _answers(db: Session) -> list[dict[str, Any]]:
    newest = select(PlatformResponse).order_by(PlatformResponse.at.desc()).limit(MAX_ANSWERS_SHOWN)
    return [
        {
            "item": r.item_id,
            "url": r.item.url,
            "platform": r.item.platform,
            "decision": r.decision,
            "countries": r.countries,
            "grounds": r.grounds,
            "at": r.at,
        }
        for r in db.scalars(newest)
    ]


def _appeals(db: Session) -> list[dict[str, Any]]:
    newest = select(Appeal).order_by(Appeal.filed_at.desc()).limit(MAX_ANSWERS_SHOWN)
    return [
        {"item": a.item_id, "against": a.response.decision, "filed_at": a.filed_at, "deadline": a.deadline}
        for a in db.scalars(newest)
    ]
