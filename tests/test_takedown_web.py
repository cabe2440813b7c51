"""The liaison page in the web app: roles, CSRF, the export button and the download, against the real node."""

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from core.settings import Settings
from core.store import session_scope
from core.store.triage import record_decision
from core.store.users import add_user
from index_config.loader import load_listings
from index_config.triage import write_triage
from takedown.manifest import verify_packet
from takedown.signing import trusted_keys
from tests.index_data import fresh_prefix, listing
from tests.plugins.web import PASSWORD, log_in
from webapp.app import create_app

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def app_settings(es_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    with fresh_prefix(es_settings, tmp_path_factory.mktemp("liaison-var")) as settings:
        from index_config.client import get_client

        client = get_client(settings)
        items = [listing(i, platform="Telegram", url=f"https://t.me/plug{i}/1") for i in range(2)]
        load_listings(items, settings, client)
        with session_scope(settings) as db:
            analyst = add_user(db, "ana", "analyst", PASSWORD)
            add_user(db, "lia", "liaison", PASSWORD)
            for item in items:
                write_triage(client, settings, record_decision(db, item.id, "confirmed", analyst), refresh=True)
        yield settings


def test_liaison_exports_downloads_and_marks_sent(app_settings: Settings) -> None:
    with TestClient(create_app(app_settings), follow_redirects=False) as analyst:
        log_in(analyst, "ana", then="/search")
        assert analyst.get("/liaison").status_code == 403
    with TestClient(create_app(app_settings), follow_redirects=False) as web:
        csrf = log_in(web, "lia", then="/search")
        page = web.get("/liaison").text
        assert "Accountability per platform" in page and "No reports sent yet." in page
        assert web.post("/liaison/export", data={"platform": "telegram"}).status_code == 403
        made = web.post("/liaison/export", data={"platform": "telegram", "csrf": csrf})
        assert made.status_code == 303
        packet_id = made.headers["location"].split("made=")[1]
        download = web.get(f"/liaison/packets/{packet_id}.zip")
        assert download.status_code == 200 and download.headers["content-type"] == "application/zip"
        zip_path = Path(app_settings.var_dir) / "downloaded.zip"
        zip_path.write_bytes(download.content)
        result = verify_packet(zip_path, trusted_keys(app_settings))
        assert result.intact and result.files == 6, result.lines()  # report x2, csv, json, notice, custody: no WARC
        again = web.post("/liaison/export", data={"platform": "telegram", "csrf": csrf})
        assert again.status_code == 400 and "Nothing to export for Telegram" in again.text
        assert web.post(f"/liaison/packets/{packet_id}/sent", data={"csrf": csrf}).status_code == 303
        rows = web.get("/api/takedown/report").json()
        assert [(r["platform"], r["reported"], r["removed"]) for r in rows] == [("telegram", 2, 0)]
        page = web.get("/liaison").text
        assert "Mark sent now" not in page and "No answers recorded yet." in page
        figures = json.loads(
            re.search(r'<script type="application/json" id="liaison-data">(.*?)</script>', page).group(1)
        )
        assert figures["notices"] == 2 and figures["actions"]["no_action_yet"] == 2
        assert '<canvas id="chart-yearly"' in page and "/static/liaison.js" in page


def test_liaison_records_answers_and_appeals_from_the_page(app_settings: Settings) -> None:
    with TestClient(create_app(app_settings), follow_redirects=False) as web:
        csrf = log_in(web, "lia", then="/search")
        # the packet the export test above wrote and marked sent (module order): its two items were reported
        ref = re.search(r"/liaison/packets/([^/\"]+)\.zip", web.get("/liaison").text).group(1)
        answer = {"ref": ref, "decision": "geo_blocked", "csrf": csrf}
        assert web.post("/liaison/answers", data={**answer, "csrf": ""}).status_code == 403
        no_countries = web.post("/liaison/answers", data=answer)
        assert no_countries.status_code == 400 and "needs --countries" in no_countries.text
        hostile = "<script>alert(1)</script> policy 4.2"
        declined = {"ref": ref, "decision": "declined", "grounds": hostile, "csrf": csrf}
        assert web.post("/liaison/answers", data=declined).status_code == 303
        page = web.get("/liaison").text
        assert page.count("<td>declined</td>") == 2, "a packet id records the answer for each of its items"
        assert hostile not in page and "&lt;script&gt;alert(1)&lt;/script&gt; policy 4.2" in page
        item = re.search(r"<tr><td>(\d+)</td><td>telegram</td><td>declined</td>", page).group(1)
        empty = web.post("/liaison/appeals", data={"item": item, "note": " ", "csrf": csrf})
        assert empty.status_code == 400 and "say why the decision is wrong" in empty.text
        filed = {"item": item, "note": "The listing offers fentanyl; see the packet.", "csrf": csrf}
        assert web.post("/liaison/appeals", data=filed).status_code == 303
        assert "<td>declined</td><td>" in web.get("/liaison").text.split("Appeal against")[1]
