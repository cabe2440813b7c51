"""The alerts page: each user's own subscriptions, added, tested and removed from the browser.

A shell over `monitor.alerts`: the same rules as `listingwatch alerts add|list|remove|send-test`.
Every analyst manages only their own subscriptions; forms check CSRF.
"""

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from core.errors import ListingwatchError
from core.store import User
from core.store.alerts import DIGESTS, EVENTS
from monitor.alerts.status import send_test, subscription_rows
from monitor.alerts.subscriptions import (
    EVENT_HELP,
    NewSubscription,
    add_subscription,
    remove_subscription,
    subscriptions_of,
)
from webapp.deps import Analyst, AnalystPost, DbSession, SettingsDep
from webapp.security import Principal, principal

router = APIRouter(include_in_schema=False)


def _page(request: Request, user: Principal, db: Session, status_code: int = 200, **context: object) -> Response:
    context = {
        "user": principal(request),
        "subs": subscription_rows(db, subscriptions_of(db, db.get_one(User, user.id))),
        "events": [(e, EVENT_HELP[e]) for e in EVENTS],
        "digests": DIGESTS,
        "error": None,
        "tested": None,
        **context,
    }
    return request.app.state.templates.TemplateResponse(request, "alerts.html", context, status_code=status_code)


@router.get("/alerts")
def alerts_page(request: Request, user: Analyst, db: DbSession, tested: str | None = None) -> Response:
    return _page(request, user, db, tested=tested)


@router.post("/alerts")
def add_alert(
    request: Request,
    user: AnalystPost,
    db: DbSession,
    event: Annotated[str, Form(max_length=32)],
    channel: Annotated[str, Form(max_length=16)],
    target: Annotated[str, Form(max_length=2000)],
    filter: Annotated[str, Form(max_length=2000)] = "",
    digest: Annotated[str, Form(max_length=16)] = "none",
    body_format: Annotated[str, Form(max_length=16)] = "json",
) -> Response:
    sub = NewSubscription(
        event=event,
        target=target.strip(),
        channel=channel,
        filter=filter.strip() or None,
        body_format=body_format,
        digest=digest,
    )
    try:
        add_subscription(db, db.get_one(User, user.id), sub)
    except ListingwatchError as err:
        return _page(request, user, db, status_code=400, error=str(err))
    return RedirectResponse("/alerts", status_code=303)


@router.post("/alerts/{sub_id}/delete")
def delete_alert(sub_id: int, user: AnalystPost, db: DbSession) -> Response:
    if not remove_subscription(db, sub_id, db.get_one(User, user.id)):
        raise HTTPException(status_code=404, detail="No subscription of yours with this number.")
    return RedirectResponse("/alerts", status_code=303)


@router.post("/alerts/{sub_id}/test")
def test_alert(
    request: Request,
    sub_id: int,
    user: AnalystPost,
    db: DbSession,
    settings: SettingsDep,
) -> Response:
    error = send_test(settings, sub_id, user.id)
    if error == "no such subscription":
        raise HTTPException(status_code=404, detail="No subscription of yours with this number.")
    outcome = f"not sent ({error})" if error else "test sent"
    return _page(request, user, db, tested=f"Subscription {sub_id}: {outcome}")
