"""Takedown items and their status: every change is an audit entry (who, when, from, to, note).

The relational store is the record; `mirror.sync` copies each item's status and history onto
the listing's Elasticsearch document so search can filter on it. Transitions are checked
against one table, so an item cannot jump from `new` to `removed` by a slip of the keyboard.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import ListingwatchError
from core.store.takedowns import STATUSES, AuditEntry, TakedownItem, TakedownPacket
from takedown.platforms import Registry

MAX_NOTE = 4_000
ALLOWED: dict[str | None, set[str]] = {
    None: {"new"},
    "new": {"queued", "rejected"},
    "queued": {"reported", "new", "rejected"},
    "reported": {"removed", "still_live", "rejected"},
    "still_live": {"removed", "new", "rejected"},
    "removed": {"reinstated"},
    "reinstated": {"removed", "new", "rejected"},
    "rejected": {"new"},
}
EXPORTABLE = ("new",)


class CaseError(ListingwatchError):
    """A takedown action that cannot be done as asked."""


@dataclass(frozen=True)
class Change:
    """One status change, detached from the session."""

    item_id: int
    listing_id: str
    before: str | None
    after: str
    at: datetime


def _now(at: datetime | None) -> datetime:
    return (at or datetime.now(UTC)).astimezone(UTC)


def transition(
    session: Session, item: TakedownItem, to: str, actor: str, note: str | None = None, at: datetime | None = None
) -> Change:
    """Move an item to `to`, appending the audit entry; dates the platform is judged on are set here."""
    if to not in STATUSES:
        raise CaseError(f"Unknown status {to!r}; use one of {', '.join(STATUSES)}.")
    before = item.status if item.id is not None and item.audit else None
    if to not in ALLOWED[before]:
        allowed = ", ".join(sorted(ALLOWED[before])) or "nothing"
        raise CaseError(f"Item {item.id} is {before}; it can move to {allowed}, not {to}.")
    if note is not None and len(note) > MAX_NOTE:
        raise CaseError(f"The note must be at most {MAX_NOTE} characters.")
    when = _now(at)
    item.status = to
    if to == "reported" and item.reported_at is None:
        item.reported_at = when
    if to == "removed" and item.removed_at is None:
        item.removed_at = when
    entry = AuditEntry(item=item, at=when, actor=actor, from_status=before, to_status=to, note=note or None)
    session.add(entry)
    session.flush()
    return Change(item.id, item.listing_id, before, to, when)


def open_item(
    session: Session,
    registry: Registry,
    doc: dict[str, Any],
    actor: str,
    note: str | None = None,
    at: datetime | None = None,
) -> tuple[TakedownItem, bool]:
    """The item for a stored listing document, created (status new) if it has none: (item, created)."""
    listing_id = doc["id"]
    existing = session.scalar(select(TakedownItem).where(TakedownItem.listing_id == listing_id))
    if existing is not None:
        return existing, False
    platform = registry.for_listing(doc.get("platform"), doc["url"])
    item = TakedownItem(listing_id=listing_id, url=doc["url"], platform=platform.key, status="new", created_at=_now(at))
    session.add(item)
    transition(session, item, "new", actor, note, at)
    return item, True


def items_for(
    session: Session, platform: str | None = None, statuses: Iterable[str] | None = None
) -> list[TakedownItem]:
    query = select(TakedownItem).order_by(TakedownItem.id)
    if platform is not None:
        query = query.where(TakedownItem.platform == platform)
    if statuses is not None:
        query = query.where(TakedownItem.status.in_(list(statuses)))
    return list(session.scalars(query))


def get_item(session: Session, ref: str) -> TakedownItem:
    """An item by its number or its listing id."""
    query = select(TakedownItem).where(TakedownItem.id == int(ref) if ref.isdigit() else TakedownItem.listing_id == ref)
    item = session.scalar(query)
    if item is None:
        raise CaseError(f"No takedown item {ref!r}; `listingwatch takedown list` shows them.")
    return item


def assign(
    session: Session, registry: Registry, item: TakedownItem, platform: str, actor: str, note: str | None = None
) -> TakedownItem:
    """Give an item (typically under the catch-all) to a registered platform; recorded in the audit log."""
    target = registry.get(platform)
    if item.status not in EXPORTABLE:
        raise CaseError(f"Item {item.id} is {item.status}; only items not yet reported can be reassigned.")
    previous = item.platform
    item.platform = target.key
    text = f"assigned from {previous} to {target.key}" + (f": {note}" if note else "")
    session.add(
        AuditEntry(item=item, at=_now(None), actor=actor, from_status=item.status, to_status=item.status, note=text)
    )
    session.flush()
    return item


def mark_sent(session: Session, packet_id: str, actor: str, at: datetime | None = None) -> list[Change]:
    """A packet went to its platform: its queued items become reported at that time."""
    packet = session.get(TakedownPacket, packet_id)
    if packet is None:
        raise CaseError(f"No packet {packet_id!r}; `listingwatch takedown packets` lists them.")
    if packet.sent_at is not None:
        raise CaseError(f"Packet {packet_id} was already marked sent at {packet.sent_at:%Y-%m-%d %H:%M} UTC.")
    when = _now(at)
    packet.sent_at, packet.sent_by = when, actor
    return [
        transition(session, item, "reported", actor, f"packet {packet_id} sent", when)
        for item in packet.items
        if item.status == "queued"
    ]


def history_doc(item: TakedownItem) -> dict[str, Any]:
    """The `takedown` object mirrored onto the listing document.

    Every analyst reads listing documents, so the liaison's audit notes stay in the store (the
    liaison page and packets show them); the mirror keeps who moved the status, when, and where to.
    """
    return {
        "status": item.status,
        "platform": item.platform,
        "item_id": item.id,
        "reported_at": item.reported_at.isoformat() if item.reported_at else None,
        "removed_at": item.removed_at.isoformat() if item.removed_at else None,
        "checked_at": item.last_checked_at.isoformat() if item.last_checked_at else None,
        "reference": item.packets[-1].id if item.packets else None,
        "relist_of": item.relist_of.listing_id if item.relist_of else None,
        "history": [
            {"at": e.at.isoformat(), "by": e.actor, "from": e.from_status, "to": e.to_status} for e in item.audit
        ],
    }
