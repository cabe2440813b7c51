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
from core.store.takedowns import DECISIONS, STATUSES, Appeal, AuditEntry, PlatformResponse, TakedownItem, TakedownPacket
from takedown.platforms import Registry

MAX_NOTE = 4_000
MAX_TICKET = 200
APPEAL_WINDOW_MONTHS = 6  # DSA Art. 20(1)
APPEALABLE = ("restricted", "geo_blocked", "declined")
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
    substances = ((doc.get("classification") or {}).get("substances")) or []
    item = TakedownItem(
        listing_id=listing_id,
        url=doc["url"],
        platform=platform.key,
        status="new",
        created_at=_now(at),
        substances=",".join(substances) or None,
    )
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


def items_by_ref(session: Session, ref: str) -> list[TakedownItem]:
    """Every item of a packet (by its id, with or without `.zip`), or the one item a number or listing id names."""
    packet = session.get(TakedownPacket, ref.strip().removesuffix(".zip"))
    return list(packet.items) if packet is not None else [get_item(session, ref.strip())]


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


def mark_sent(
    session: Session, packet_id: str, actor: str, at: datetime | None = None, ticket: str | None = None
) -> list[Change]:
    """A packet went to its platform: its queued items become reported at that time; `ticket` is its reference."""
    packet = session.get(TakedownPacket, packet_id)
    if packet is None:
        raise CaseError(f"No packet {packet_id!r}; `listingwatch takedown packets` lists them.")
    if packet.sent_at is not None:
        raise CaseError(f"Packet {packet_id} was already marked sent at {packet.sent_at:%Y-%m-%d %H:%M} UTC.")
    if ticket is not None and not 0 < len(ticket) <= MAX_TICKET:
        raise CaseError(f"The ticket reference must be 1-{MAX_TICKET} characters.")
    when = _now(at)
    packet.sent_at, packet.sent_by, packet.ticket = when, actor, ticket
    sent_note = f"packet {packet_id} sent" + (f", platform ticket {ticket}" if ticket else "")
    return [
        transition(session, item, "reported", actor, sent_note, when)
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


def _log(session: Session, item: TakedownItem, actor: str, note: str, at: datetime) -> None:
    """An audit entry that records an event without changing the status."""
    session.add(AuditEntry(item=item, at=at, actor=actor, from_status=item.status, to_status=item.status, note=note))


def _countries(codes: list[str]) -> list[str]:
    bad = [c for c in codes if len(c) != 2 or not c.isalpha()]
    if bad:
        raise CaseError(f"Countries must be ISO 3166 two-letter codes such as DE or US (got {', '.join(bad)}).")
    return sorted({c.upper() for c in codes})


def record_response(
    session: Session,
    item: TakedownItem,
    decision: str,
    actor: str,
    grounds: str | None = None,
    countries: list[str] | None = None,
    at: datetime | None = None,
) -> PlatformResponse:
    """What the platform answered; a removal it reports still waits for a check to see the page gone."""
    problems = []
    if decision not in DECISIONS:
        problems.append(f"the decision must be one of {', '.join(DECISIONS)} (got {decision!r})")
    if item.reported_at is None:
        problems.append(f"item {item.id} was never reported (mark its packet sent first)")
    codes = _countries(countries or [])
    if decision in ("restricted", "geo_blocked") and not codes:
        problems.append(f"a {decision} decision needs --countries (where the listing is no longer shown)")
    if grounds is not None and len(grounds) > MAX_NOTE:
        problems.append(f"the grounds must be at most {MAX_NOTE} characters")
    if problems:
        raise CaseError(f"Cannot record the response: {'; '.join(problems)}.")
    when = _now(at)
    if item.reported_at is not None and when < item.reported_at:
        raise CaseError(
            f"The answer ({when:%Y-%m-%d %H:%M}) cannot come before the report ({item.reported_at:%Y-%m-%d %H:%M})."
        )
    response = PlatformResponse(
        item=item,
        decision=decision,
        grounds=grounds or None,
        countries=",".join(codes) or None,
        at=when,
        recorded_by=actor,
    )
    session.add(response)
    where = f" in {', '.join(codes)}" if codes else ""
    _log(session, item, actor, f"platform answered: {decision}{where}" + (f" ({grounds})" if grounds else ""), when)
    if decision == "declined" and item.status in ("reported", "still_live"):
        transition(session, item, "rejected", actor, "platform declined", when)
    session.flush()
    return response


def appeal_deadline(decided_at: datetime) -> datetime:
    month = decided_at.month - 1 + APPEAL_WINDOW_MONTHS
    year, month = decided_at.year + month // 12, month % 12 + 1
    for day in (decided_at.day, 30, 29, 28):
        try:
            return decided_at.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    raise AssertionError("unreachable: every month has 28 days")


def file_appeal(session: Session, item: TakedownItem, note: str, actor: str, at: datetime | None = None) -> Appeal:
    """Contest the platform's latest decision on an item (DSA Art. 20): refused past the six-month deadline."""
    latest = session.scalar(
        select(PlatformResponse).where(PlatformResponse.item_id == item.id).order_by(PlatformResponse.at.desc())
    )
    if latest is None or latest.decision not in APPEALABLE:
        got = latest.decision if latest else "no decision recorded"
        raise CaseError(f"Item {item.id}: nothing to appeal ({got}); appeals contest {', '.join(APPEALABLE)}.")
    if not note.strip() or len(note) > MAX_NOTE:
        raise CaseError(f"The appeal note must be 1-{MAX_NOTE} characters: say why the decision is wrong.")
    when = _now(at)
    deadline = appeal_deadline(latest.at)
    if when > deadline:
        raise CaseError(
            f"The appeal deadline for item {item.id} passed on {deadline:%Y-%m-%d} (six months, DSA Art. 20)."
        )
    appeal = Appeal(item=item, response=latest, note=note, filed_at=when, deadline=deadline, filed_by=actor)
    session.add(appeal)
    _log(session, item, actor, f"appeal filed against '{latest.decision}' (deadline {deadline:%Y-%m-%d}): {note}", when)
    session.flush()
    return appeal
