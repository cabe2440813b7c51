"""One alerts pass: detect what each subscription wants, queue it once, deliver what is due.

Runs after every pipeline run, from Airflow's failure callbacks, and as `listingwatch alerts run`
(cron it, or let the pipeline call it). An index that cannot be reached costs the listing
events of this pass, not the store's events nor the deliveries already queued.
"""

import logging
from collections.abc import Iterable
from datetime import UTC, datetime

from elasticsearch import Elasticsearch
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import ListingwatchError
from core.settings import Settings
from core.store import session_scope
from core.store.alerts import EVENTS, AlertSubscription
from monitor.alerts.deliver import DeliveryReport, deliver_due, ensure_delivery, record_event
from monitor.alerts.detect import (
    Draft,
    new_offers,
    overdue_items,
    recorded,
    relistings,
    saved_search_matches,
    since_for,
    source_failures,
)
from takedown.platforms import Registry

log = logging.getLogger(__name__)
LISTING_EVENTS = ("new_offer", "saved_search")


def _drafts(
    settings: Settings,
    db: Session,
    sub: AlertSubscription,
    now: datetime,
    client: Elasticsearch | None,
    registry: Registry | None,
) -> list[Draft]:
    if sub.event == "new_offer":
        return new_offers(client, settings, sub, now)  # type: ignore[arg-type]
    if sub.event == "saved_search":
        return saved_search_matches(client, db, settings, sub, now)  # type: ignore[arg-type]
    if sub.event == "relisting":
        return relistings(db, settings, sub, now)
    if sub.event == "overdue":
        return overdue_items(db, settings, registry, sub, now)  # type: ignore[arg-type]
    if sub.event == "source_failed":
        return source_failures(db, settings, sub, now)
    return []


def match(settings: Settings, now: datetime, events: Iterable[str], report: DeliveryReport) -> None:
    """Queue every (subscription, event) not queued before; one broken subscription never stops the rest."""
    from index_config.client import get_client
    from takedown.workflow import registry_for

    wanted = set(events)
    client: Elasticsearch | None = None
    registry: Registry | None = None
    with session_scope(settings) as db:
        subs = [s for s in db.scalars(select(AlertSubscription).order_by(AlertSubscription.id)) if s.event in wanted]
        for sub in subs:
            try:
                if sub.event in LISTING_EVENTS and client is None:
                    client = get_client(settings)
                if sub.event == "overdue" and registry is None:
                    registry = registry_for(settings)
                if sub.event == "task_failed":
                    rows = recorded(db, "task_failed", sub, since_for(sub, settings, now))
                else:
                    rows = [record_event(db, d) for d in _drafts(settings, db, sub, now, client, registry)]
                report.matched += sum(ensure_delivery(db, sub, row, now) for row in rows)
            except Exception as err:  # an index outage or a bad filter: report it, go on
                text = f"subscription {sub.id} ({sub.event}): could not look for events: {type(err).__name__}: {err}"
                report.errors.append(text[:500])
                log.warning("%s", text)


def run_alerts(settings: Settings, now: datetime | None = None, events: Iterable[str] = EVENTS) -> DeliveryReport:
    now = now or datetime.now(UTC)
    report = DeliveryReport()
    match(settings, now, events, report)
    deliver_due(settings, now, report)
    return report


def run_after_pipeline(settings: Settings) -> DeliveryReport | None:
    """`run_alerts` for the pipeline's last step: logged, never failing the run it follows."""
    try:
        report = run_alerts(settings)
    except (ListingwatchError, OSError) as err:
        log.warning("Alerts were not delivered after this run (%s); `listingwatch alerts run` retries them.", err)
        return None
    log.info("%s", report.describe())
    return report


def record_task_failure(
    settings: Settings, dag_id: str, task_id: str, run_id: str, try_number: int, error: str
) -> None:
    """An Airflow task failed: record it as an event and deliver task_failed alerts now."""
    draft = Draft(
        key=f"task_failed:{dag_id}:{run_id}:{task_id}:{try_number}",
        event="task_failed",
        occurred_at=datetime.now(UTC),
        data={
            "dag_id": dag_id,
            "task_id": task_id,
            "run_id": run_id,
            "try_number": try_number,
            "error": error[:500],
            "path": "/admin/sources",
        },
    )
    with session_scope(settings) as db:
        record_event(db, draft)
    run_alerts(settings, events=("task_failed",))


def describe_subscription(sub: AlertSubscription) -> dict[str, object]:
    return {
        "id": sub.id,
        "user": sub.user.name,
        "event": sub.event,
        "filter": sub.filter,
        "channel": sub.channel,
        "target": sub.target,
        "body_format": sub.body_format,
        "digest": sub.digest,
        "created_at": sub.created_at.isoformat(),
    }
