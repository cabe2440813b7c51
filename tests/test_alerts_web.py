"""The alerts page, the listing timeline and the overview lag chart in the web app, against the real node and store."""

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from starlette.testclient import TestClient

from core.settings import Settings
from core.store import session_scope
from core.store.takedowns import TakedownItem
from core.store.users import add_user
from index_config.client import get_client
from index_config.loader import load_listings
from tests.alert_receivers import WebhookReceiver
from tests.index_data import fresh_prefix, listing
from tests.plugins.web import PASSWORD, free_port, log_in
from webapp.app import create_app

pytestmark = [pytest.mark.integration]
T0 = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def app_settings(es_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    with fresh_prefix(es_settings, tmp_path_factory.mktemp("alerts-web")) as settings:
        items = [listing(1, T0 + timedelta(hours=3), posted_at=T0, title="<img src=x onerror=alert(1)>")]
        load_listings(items, settings, get_client(settings))
        get_client(settings).indices.refresh(index="*")
        with session_scope(settings) as db:
            add_user(db, "ana", "analyst", PASSWORD)
            add_user(db, "ben", "analyst", PASSWORD)
            db.add(
                TakedownItem(
                    listing_id=items[0].id,
                    url=items[0].url,
                    platform="example",
                    status="reported",
                    reported_at=T0 + timedelta(hours=5),
                )
            )
        yield settings


def test_users_add_test_and_remove_their_own_subscriptions(app_settings: Settings) -> None:
    receiver = WebhookReceiver(free_port()).start()
    try:
        with TestClient(create_app(app_settings), follow_redirects=False) as web:
            csrf = log_in(web, "ana", then="/alerts")
            form = {"event": "new_offer", "channel": "webhook", "target": receiver.url, "filter": "substance=fentanyl"}
            assert web.post("/alerts", data=form).status_code == 403  # no CSRF token
            assert web.post("/alerts", data={**form, "csrf": csrf}).status_code == 303
            bad = web.post("/alerts", data={**form, "target": "ftp://x", "digest": "weekly", "csrf": csrf})
            assert bad.status_code == 400 and "not an http(s) webhook URL" in bad.text and "digest" in bad.text
            page = web.get("/alerts").text
            assert receiver.url in page and "substance=fentanyl" in page
            sub_id = re.search(r'action="/alerts/(\d+)/test"', page).group(1)
            tested = web.post(f"/alerts/{sub_id}/test", data={"csrf": csrf})
            assert "test sent" in tested.text and len(receiver.bodies) == 1
        with TestClient(create_app(app_settings), follow_redirects=False) as other:
            ben_csrf = log_in(other, "ben", then="/alerts")
            assert receiver.url not in other.get("/alerts").text
            assert other.post(f"/alerts/{sub_id}/delete", data={"csrf": ben_csrf}).status_code == 404
        with TestClient(create_app(app_settings), follow_redirects=False) as web:
            csrf = log_in(web, "ana", then="/alerts")
            assert web.post(f"/alerts/{sub_id}/delete", data={"csrf": csrf}).status_code == 303
            assert receiver.url not in web.get("/alerts").text
    finally:
        receiver.stop()


def test_listing_page_shows_the_timeline_and_overview_the_lags(app_settings: Settings) -> None:
    with TestClient(create_app(app_settings), follow_redirects=False) as web:
        log_in(web, "ana", then="/alerts")
        page = web.get(f"/listings/{listing(1).id}").text
        timeline = page[page.index('id="timeline"') : page.index("<h2>Evidence")]
        assert [s for s in ("posted", "first seen", "flagged", "sent to platform") if s in timeline] == [
            "posted",
            "first seen",
            "flagged",
            "sent to platform",
        ]
        assert "(+3.0 h)" in timeline and "<img src=x" not in page
        overview = web.get("/overview")
        assert 'id="lag-data"' in overview.text and "/static/lags.js" in overview.text
        assert "not reached" in overview.text  # one item sent, none removed
        assert "unsafe-inline" not in overview.headers["content-security-policy"]
