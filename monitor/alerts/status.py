"""What `alerts list` and the web page show about subscriptions, and the test send."""

from collections import Counter
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.settings import Settings
from core.store import session_scope
from core.store.alerts import AlertDelivery, AlertSubscription
from monitor.alerts.channels import DeliveryFailed, send_email, send_webhook
from monitor.alerts.render import Alert


def subscription_rows(db: Session, subs: list[AlertSubscription]) -> list[dict[str, Any]]:
    counts: Counter[tuple[int, str]] = Counter()
    for sub_id, status, n in db.execute(
        select(AlertDelivery.subscription_id, AlertDelivery.status, func.count()).group_by(
            AlertDelivery.subscription_id, AlertDelivery.status
        )
    ):
        counts[(sub_id, status)] = n
    errors = dict(
        db.execute(
            select(AlertDelivery.subscription_id, AlertDelivery.last_error)
            .where(AlertDelivery.last_error.is_not(None))
            .order_by(AlertDelivery.id)
        ).all()
    )
    return [
        {
            "id": s.id,
            "user": s.user.name,
            "event": s.event,
            "filter": s.filter,
            "channel": s.channel,
            "target": s.target,
            "body_format": s.body_format,
            "digest": s.digest,
            "created_at": s.created_at.isoformat(),
            "sent": counts[(s.id, "sent")],
            "pending": counts[(s.id, "pending")],
            "dead": counts[(s.id, "dead")],
            "last_error": errors.get(s.id),
        }
        for s in subs
    ]


def test_alert(sub: AlertSubscription) -> Alert:
    return Alert(
        event=sub.event,
        key=f"test:{sub.id}",
        occurred_at=datetime.now(UTC).isoformat(),
        data={"listing_id": "test", "source": "test", "dag_id": "test", "path": "/alerts"},
    )


def send_test(settings: Settings, sub_id: int, user_id: int | None = None) -> str | None:
    """Send one test alert through subscription `sub_id`; the error sentence, or None when it went out."""
    with session_scope(settings) as db:
        sub = db.get(AlertSubscription, sub_id)
        if sub is None or (user_id is not None and sub.user_id != user_id):
            return "no such subscription"
        db.expunge(sub)
    try:
        if sub.channel == "email":
            send_email([test_alert(sub)], sub.target, settings.alerts)
        else:
            send_webhook([test_alert(sub)], sub.target, sub.body_format, settings.alerts)
    except DeliveryFailed as err:
        return str(err)
    return None
