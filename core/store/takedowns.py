"""Takedown tables on the store's `Base`: items, their append-only audit log, packets and re-checks.

An item is one confirmed listing on its way to a platform. Its `status` is a cached copy of
the newest audit entry; the audit log is the record, so rows there are never updated or
deleted (the ORM refuses to), and every status change goes through `cases.transition`.
"""

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, Column, ForeignKey, Index, Integer, String, Table, Text, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.store.models import Base, UTCDateTime, utcnow

STATUSES = ("new", "queued", "reported", "removed", "still_live", "reinstated", "rejected")
DECISIONS = ("removed", "restricted", "geo_blocked", "declined", "no_response")
REMOVAL_CAUSES = ("platform", "seller", "unstated")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


packet_items = Table(
    "takedown_packet_items",
    Base.metadata,
    Column("packet_id", ForeignKey("takedown_packets.id", ondelete="CASCADE"), primary_key=True),
    Column("item_id", ForeignKey("takedown_items.id", ondelete="CASCADE"), primary_key=True),
)


class TakedownItem(Base):
    __tablename__ = "takedown_items"
    __table_args__ = (
        CheckConstraint(_in("status", STATUSES), name="ck_takedown_items_status"),
        Index("ix_takedown_items_platform_status", "platform", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    listing_id: Mapped[str] = mapped_column(String(64), unique=True)
    url: Mapped[str] = mapped_column(Text)
    platform: Mapped[str] = mapped_column(String(64), doc="registry key the item is reported to")
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime, doc="first time a packet with it was sent")
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, doc="first check that found it removed")
    last_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    relist_of_id: Mapped[int | None] = mapped_column(ForeignKey("takedown_items.id"))
    relist_reason: Mapped[str | None] = mapped_column(Text)
    substances: Mapped[str | None] = mapped_column(Text, doc="substance classes at intake, comma-separated")
    removal_cause: Mapped[str | None] = mapped_column(
        String(16), doc="platform (its removal page), seller (deleted it), unstated (404, redirect, emptied)"
    )

    audit: Mapped[list["AuditEntry"]] = relationship(back_populates="item", order_by="AuditEntry.id")
    relist_of: Mapped["TakedownItem | None"] = relationship(remote_side=[id])
    packets: Mapped[list["TakedownPacket"]] = relationship(
        secondary=packet_items, viewonly=True, order_by="TakedownPacket.created_at"
    )


class AuditEntry(Base):
    __tablename__ = "takedown_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("takedown_items.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(128))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)

    item: Mapped[TakedownItem] = relationship(back_populates="audit")


class TakedownPacket(Base):
    __tablename__ = "takedown_packets"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    platform: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(128))
    path: Mapped[str] = mapped_column(Text)
    zip_sha256: Mapped[str] = mapped_column(String(64))
    packet_sha256: Mapped[str] = mapped_column(String(64))
    timestamped: Mapped[bool] = mapped_column(Boolean, default=False)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_by: Mapped[str | None] = mapped_column(String(128))
    ticket: Mapped[str | None] = mapped_column(String(200), doc="the platform's reference for the report")

    items: Mapped[list[TakedownItem]] = relationship(secondary=packet_items)


class RemovalCheck(Base):
    """One re-fetch of a reported URL: what came back, what it was judged, and where its capture is."""

    __tablename__ = "takedown_checks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("takedown_items.id"), index=True)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    verdict: Mapped[str] = mapped_column(String(16), doc="removed, live or unknown")
    reason: Mapped[str | None] = mapped_column(Text)
    http_status: Mapped[int | None] = mapped_column(Integer)
    final_url: Mapped[str | None] = mapped_column(Text)
    warc_file: Mapped[str | None] = mapped_column(Text)
    warc_record_id: Mapped[str | None] = mapped_column(String(128))
    body_sha256: Mapped[str | None] = mapped_column(String(64))
    cause: Mapped[str | None] = mapped_column(String(16), doc="for removals: platform, seller or unstated")


class PlatformResponse(Base):
    """What the platform answered about one item (DSA Art. 17 decision kinds), as the liaison recorded it."""

    __tablename__ = "takedown_responses"
    __table_args__ = (CheckConstraint(_in("decision", DECISIONS), name="ck_takedown_responses_decision"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("takedown_items.id"), index=True)
    decision: Mapped[str] = mapped_column(String(16))
    grounds: Mapped[str | None] = mapped_column(Text)
    countries: Mapped[str | None] = mapped_column(Text, doc="ISO 3166 codes, comma-separated (restricted, geo_blocked)")
    at: Mapped[datetime] = mapped_column(UTCDateTime, doc="when the platform answered")
    recorded_by: Mapped[str] = mapped_column(String(128))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    item: Mapped[TakedownItem] = relationship()


class Appeal(Base):
    """A notifier's appeal against a platform decision (DSA Art. 20: within six months of being told)."""

    __tablename__ = "takedown_appeals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("takedown_items.id"), index=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("takedown_responses.id"))
    note: Mapped[str] = mapped_column(Text)
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deadline: Mapped[datetime] = mapped_column(UTCDateTime, doc="six months after the decision")
    filed_by: Mapped[str] = mapped_column(String(128))

    item: Mapped[TakedownItem] = relationship()
    response: Mapped[PlatformResponse] = relationship()


@event.listens_for(AuditEntry, "before_update")
@event.listens_for(AuditEntry, "before_delete")
def _append_only(_mapper: object, _connection: object, target: AuditEntry) -> None:
    raise ValueError(f"takedown audit entry {target.id} is append-only; record a new entry instead")
