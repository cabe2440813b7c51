"""Matching events to subscriptions and delivering them: once each, retried with back-off, one target never blocking.

- match: each subscription's detector finds its events; an event is recorded once by key and
  a delivery row is created once per (subscription, event) (a unique constraint backs it).
- deliver: due rows are claimed first (their next try moved past a lease, in a committed
  transaction, only if nobody else moved it), then sent, then marked sent or failed. Two
  `alerts run` at once therefore never send the same row twice; a process killed between a
  channel accepting and the mark sends that one again after the lease (the one case where
  losing an alert was judged worse than repeating one).
- a failure sets the next try `retry_base_s * 2**(attempts-1)` later (at most `retry_max_s`);
  after `max_attempts` the row is dead and `alerts list` shows it. A target that failed in
  this run is not tried again in the same run, so a dead webhook costs one timeout per run.
"""

import json
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.settings import Settings
from core.store import session_scope
from core.store.alerts import AlertDelivery, AlertEvent, AlertSubscription
from monitor.alerts.channels import DeliveryFailed, send_email, send_webhook
from monitor.alerts.detect import Draft
from monitor.alerts.render import Alert

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=10)
DIGEST_PERIODS = {"hourly": timedelta(hours=1), "daily": timedelta(days=1)}


@dataclass
class DeliveryReport:
    matched: int = 0
    sent: int = 0
    failed: int = 0
    deferred: int = 0
    dead: int = 0
    errors: list[str] = field(default_factory=list)

    def describe(self) -> str:
        text = (
            f"alerts: {self.matched} new deliveries matched, {self.sent} sent, {self.failed} failed (will retry), "
            f"{self.deferred} deferred, {self.dead} given up"
        )
        return "\n".join([text, *(f"  {e}" for e in self.errors)])


def backoff(attempts: int, base_s: float, max_s: float) -> timedelta:
    """Wait before try number `attempts + 1`: doubling from `base_s`, capped at `max_s`."""
    return timedelta(seconds=min(max_s, base_s * 2 ** max(0, attempts - 1)))


def record_event(session: Session, draft: Draft) -> AlertEvent:
    """The event row for `draft.key`, created the first time the key is seen."""
    row = session.scalar(select(AlertEvent).where(AlertEvent.key == draft.key))
    if row is not None:
        return row
    row = AlertEvent(
        key=draft.key,
        event=draft.event,
        occurred_at=draft.occurred_at,
        owner_id=draft.owner_id,
        data=json.dumps(draft.data, sort_keys=True, default=str),
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # another process recorded it a moment ago
        row = session.scalars(select(AlertEvent).where(AlertEvent.key == draft.key)).one()
    return row


def ensure_delivery(session: Session, sub: AlertSubscription, event: AlertEvent, now: datetime) -> bool:
    """Queue `event` for `sub` unless it was queued before; True when this call queued it."""
    if event.owner_id is not None and event.owner_id != sub.user_id:
        return False
    exists = session.scalar(
        select(AlertDelivery.id).where(AlertDelivery.subscription_id == sub.id, AlertDelivery.event_id == event.id)
    )
    if exists is not None:
        return False
    try:
        with session.begin_nested():
            session.add(AlertDelivery(subscription_id=sub.id, event_id=event.id, next_attempt_at=now))
    except IntegrityError:
        return False
    return True


def _claim(settings: Settings, ids: list[int], now: datetime) -> list[int]:
    claimed = []
    with session_scope(settings) as db:
        for delivery_id in ids:
            result = db.execute(
                update(AlertDelivery)
                .where(
                    AlertDelivery.id == delivery_id,
                    AlertDelivery.status == "pending",
                    AlertDelivery.next_attempt_at <= now,
                )
                .values(next_attempt_at=now + LEASE)
            )
            if result.rowcount == 1:  # type: ignore[attr-defined]
                claimed.append(delivery_id)
    return claimed


def _send(settings: Settings, sub: AlertSubscription, alerts: list[Alert]) -> None:
    if sub.channel == "email":
        send_email(alerts, sub.target, settings.alerts)
    else:
        send_webhook(alerts, sub.target, sub.body_format, settings.alerts)


def _mark(settings: Settings, ids: list[int], now: datetime, error: str | None, report: DeliveryReport) -> None:
    with session_scope(settings) as db:
        for row in db.scalars(select(AlertDelivery).where(AlertDelivery.id.in_(ids))):
            row.attempts += 1
            if error is None:
                row.status, row.sent_at, row.last_error = "sent", now, None
                report.sent += 1
                continue
            row.last_error = error[:1000]
            if row.attempts >= settings.alerts.max_attempts:
                row.status = "dead"
                report.dead += 1
            else:
                row.next_attempt_at = now + backoff(
                    row.attempts, settings.alerts.retry_base_s, settings.alerts.retry_max_s
                )
                report.failed += 1


def _due_groups(settings: Settings, now: datetime) -> list[tuple[AlertSubscription, list[int], list[Alert]]]:
    """Due deliveries per send: one per delivery, or one digest per subscription whose period is over."""
    groups = []
    with session_scope(settings) as db:
        rows = list(
            db.scalars(
                select(AlertDelivery)
                .where(AlertDelivery.status == "pending", AlertDelivery.next_attempt_at <= now)
                .order_by(AlertDelivery.id)
            )
        )
        by_sub: dict[int, list[AlertDelivery]] = defaultdict(list)
        for row in rows:
            by_sub[row.subscription_id].append(row)
        for rows_of_sub in by_sub.values():
            sub = rows_of_sub[0].subscription
            db.expunge(sub)
            alerts = [
                Alert(r.event.event, r.event.key, r.event.occurred_at.isoformat(), json.loads(r.event.data))
                for r in rows_of_sub
            ]
            if sub.digest == "none":
                groups += [(sub, [r.id], [a]) for r, a in zip(rows_of_sub, alerts, strict=True)]
            elif now - (sub.last_digest_at or sub.created_at) >= DIGEST_PERIODS[sub.digest]:
                groups.append((sub, [r.id for r in rows_of_sub], alerts))
    return groups


def deliver_due(settings: Settings, now: datetime, report: DeliveryReport) -> None:
    failed_targets: set[str] = set()
    for sub, ids, alerts in _due_groups(settings, now):
        if sub.target in failed_targets:
            report.deferred += len(ids)
            continue
        claimed = _claim(settings, ids, now)
        if not claimed:
            continue  # another process has them
        shown = [a for a, i in zip(alerts, ids, strict=True) if i in claimed]
        error = None
        try:
            _send(settings, sub, shown)
        except DeliveryFailed as err:
            error = str(err)
            failed_targets.add(sub.target)
            report.errors.append(f"subscription {sub.id} ({sub.channel}): {error}")
            log.warning("Alert delivery for subscription %s failed: %s", sub.id, error)
        _mark(settings, claimed, now, error, report)
        if sub.digest != "none" and error is None:
            with session_scope(settings) as db:
                db.get_one(AlertSubscription, sub.id).last_digest_at = now
