"""Adding, listing and removing subscriptions, with every problem of a new one named at once."""

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import ListingwatchError
from core.store.alerts import BODY_FORMATS, DIGESTS, EVENTS, AlertSubscription
from core.store.models import User

EMAIL = re.compile(r"^[^@\s<>\"',;]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")
EVENT_HELP = {
    "new_offer": "a new synthetic-scope offer at or above a score (filter: a search query string, e.g. "
    "'substance=fentanyl&score_min=0.95')",
    "relisting": "a new listing linked to a removed one (filter: a platform key)",
    "saved_search": "new matches of your saved searches (filter: one saved search's name)",
    "overdue": "a reported item past its platform's promised hours (filter: a platform key)",
    "source_failed": "a source whose crawl failed or returned nothing twice in a row (filter: a source name)",
    "task_failed": "an Airflow task failure (filter: a DAG id)",
}


class SubscriptionError(ListingwatchError):
    exit_code = 2


@dataclass(frozen=True)
class NewSubscription:
    event: str
    target: str
    channel: str
    filter: str | None = None
    body_format: str = "json"
    digest: str = "none"


def problems_of(sub: NewSubscription) -> list[str]:
    """Everything wrong with a subscription, as sentences (empty when it is fine)."""
    problems = []
    if sub.event not in EVENTS:
        problems.append(f"unknown event {sub.event!r} (use one of {', '.join(EVENTS)})")
    if sub.digest not in DIGESTS:
        problems.append(f"unknown digest {sub.digest!r} (use {', '.join(DIGESTS)})")
    if sub.body_format not in BODY_FORMATS:
        problems.append(f"unknown body format {sub.body_format!r} (use {', '.join(BODY_FORMATS)})")
    if sub.channel == "email":
        if not EMAIL.match(sub.target) or len(sub.target) > 254:
            problems.append(f"{sub.target!r} is not an e-mail address")
        if sub.body_format != "json":
            problems.append("the slack body format is for webhooks, not e-mail")
    elif sub.channel == "webhook":
        parts = urlsplit(sub.target)
        if parts.scheme not in ("http", "https") or not parts.hostname or len(sub.target) > 2000:
            problems.append(f"{sub.target!r} is not an http(s) webhook URL")
    else:
        problems.append("give either an e-mail address or a webhook URL")
    if sub.filter is not None and len(sub.filter) > 2000:
        problems.append("the filter is longer than 2000 characters")
    if sub.filter and sub.event == "new_offer" and not parse_qs(sub.filter):
        problems.append(f"the new_offer filter {sub.filter!r} is not a query string such as 'substance=fentanyl'")
    return problems


def add_subscription(session: Session, user: User, sub: NewSubscription) -> AlertSubscription:
    if problems := problems_of(sub):
        raise SubscriptionError(f"Cannot add the subscription: {'; '.join(problems)}.")
    if sub.event == "new_offer" and sub.filter:
        from index_config.saved_searches import params_from_query_string

        params_from_query_string(sub.filter)  # a SearchError names what is wrong with it
    row = AlertSubscription(
        user=user,
        event=sub.event,
        filter=sub.filter or None,
        channel=sub.channel,
        target=sub.target,
        body_format=sub.body_format,
        digest=sub.digest,
    )
    session.add(row)
    session.flush()
    return row


def subscriptions_of(session: Session, user: User | None = None) -> list[AlertSubscription]:
    query = select(AlertSubscription).order_by(AlertSubscription.id)
    if user is not None:
        query = query.where(AlertSubscription.user_id == user.id)
    return list(session.scalars(query))


def remove_subscription(session: Session, sub_id: int, user: User | None = None) -> bool:
    """Delete one (only the user's own, when `user` is given); its delivery log goes with it."""
    row = session.get(AlertSubscription, sub_id)
    if row is None or (user is not None and row.user_id != user.id):
        return False
    session.delete(row)
    return True
