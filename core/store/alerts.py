"""Alert tables on the store's `Base`: subscriptions, the events seen, the delivery log, and source run outcomes.

The delivery log is what makes an alert go out at most once per event and subscriber: one
row per (subscription, event), unique, created when the event is matched and marked sent
when a channel took it. A failed delivery keeps its row, its attempt count and the time of
its next try, so a subscriber whose endpoint was down gets it after the endpoint recovers.
"""

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.store.models import Base, User, UTCDateTime, utcnow

EVENTS = ("new_offer", "relisting", "saved_search", "overdue", "source_failed", "task_failed")
CHANNELS = ("email", "webhook")
BODY_FORMATS = ("json", "slack")
DIGESTS = ("none", "hourly", "daily")
DELIVERY_STATUSES = ("pending", "sent", "dead")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class AlertSubscription(Base):
    __tablename__ = "alert_subscriptions"
    __table_args__ = (
        CheckConstraint(_in("event", EVENTS), name="ck_alert_subscriptions_event"),
        CheckConstraint(_in("channel", CHANNELS), name="ck_alert_subscriptions_channel"),
        CheckConstraint(_in("body_format", BODY_FORMATS), name="ck_alert_subscriptions_body_format"),
        CheckConstraint(_in("digest", DIGESTS), name="ck_alert_subscriptions_digest"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(32))
    filter: Mapped[str | None] = mapped_column(Text, doc="a search query string, or a saved search name")
    channel: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(Text, doc="e-mail address or webhook URL")
    body_format: Mapped[str] = mapped_column(String(16), default="json")
    digest: Mapped[str] = mapped_column(String(16), default="none")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_digest_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class AlertEvent(Base):
    """Something worth telling people about, once: `key` names it stably (e.g. ``new_offer:<listing id>``)."""

    __tablename__ = "alert_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(512), unique=True)
    event: Mapped[str] = mapped_column(String(32), index=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), doc="only this user's subscriptions (saved searches)"
    )
    data: Mapped[str] = mapped_column(Text, doc="JSON: ids, counts and links, never crawled text")


class AlertDelivery(Base):
    __tablename__ = "alert_deliveries"
    __table_args__ = (
        UniqueConstraint("subscription_id", "event_id", name="uq_alert_deliveries_once"),
        CheckConstraint(_in("status", DELIVERY_STATUSES), name="ck_alert_deliveries_status"),
        Index("ix_alert_deliveries_status_next", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("alert_subscriptions.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(ForeignKey("alert_events.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    subscription: Mapped[AlertSubscription] = relationship()
    event: Mapped[AlertEvent] = relationship()


class SourceRunOutcome(Base):
    """How each source run ended: feeds the source_failed alert and the adaptive crawl schedule."""

    __tablename__ = "source_run_outcomes"
    __table_args__ = (UniqueConstraint("source", "run_key", name="uq_source_run_outcomes_run"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(128), index=True)
    run_key: Mapped[str] = mapped_column(String(64))
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ok: Mapped[bool] = mapped_column(Boolean)
    listings: Mapped[int] = mapped_column(Integer, default=0)
    flagged: Mapped[int] = mapped_column(Integer, default=0)
    new_flagged: Mapped[int] = mapped_column(Integer, default=0, doc="flagged now, not flagged in the previous run")
    error: Mapped[str | None] = mapped_column(Text)
