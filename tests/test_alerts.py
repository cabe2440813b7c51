"""Alerts end to end against real local endpoints: an aiosmtpd SMTP server, an HTTP webhook receiver, the test ES node.

Targets (issue 25): a new synthetic offer reaches a webhook subscriber in one pass; no alert
is sent twice; a subscriber whose endpoint is down gets it after it recovers; a dead webhook
does not block the others.
"""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from core.settings import Settings, load_settings
from core.store import session_scope
from core.store.alerts import AlertDelivery, SourceRunOutcome
from core.store.models import SavedSearch
from core.store.users import add_user
from index_config.loader import load_jsonl
from listingwatch.cli import app
from monitor.alerts.channels import DeliveryFailed, send_email
from monitor.alerts.deliver import _claim, backoff
from monitor.alerts.render import Alert, html_body, plain_text, slack_body
from monitor.alerts.run import record_task_failure, run_alerts
from monitor.alerts.subscriptions import NewSubscription, SubscriptionError, add_subscription
from tests.alert_receivers import WebhookReceiver, self_signed, smtp_server
from tests.index_data import as_line, fresh_prefix, listing, write_jsonl
from tests.plugins.web import free_port

ALERTS = {"app_url": "https://lw.example", "retry_base_s": 60, "timeout_s": 5}


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    r = WebhookReceiver(free_port()).start()
    yield r
    r.stop()


@pytest.fixture
def store(tmp_path: Path) -> Settings:
    return load_settings(var_dir=tmp_path, alerts=ALERTS)


def _subscribe(settings: Settings, user: str, sub: NewSubscription) -> int:
    with session_scope(settings) as db:
        from core.store.users import get_user

        owner = get_user(db, user) or add_user(db, user, "analyst", "a long enough password")
        return add_subscription(db, owner, sub).id


def _offer(i: int, at: datetime, scope: str, score: float = 0.97) -> str:
    verdict = {"score": score, "flagged": True, "threshold": 0.5, "substances": ["fentanyl"], "model_version": "t"}
    item = listing(i, at, classification={**verdict, "scope": scope}, title="<script>alert(1)</script> M30")
    return as_line(item)


def test_new_offer_reaches_webhook_and_mail_once_and_a_down_endpoint_after_it_recovers(
    es_settings: Settings, tmp_path: Path, receiver: WebhookReceiver
) -> None:
    base = es_settings.model_copy(update={"alerts": es_settings.alerts.model_copy(update=ALERTS)})
    with fresh_prefix(base, tmp_path) as settings:
        smtp_port, down_port = free_port(), free_port()
        settings = settings.model_copy(
            update={
                "alerts": settings.alerts.model_copy(
                    update={"smtp_host": "127.0.0.1", "smtp_port": smtp_port, "smtp_security": "none"}
                )
            }
        )
        up = _subscribe(settings, "ana", NewSubscription("new_offer", receiver.url, "webhook"))
        down_url = f"http://127.0.0.1:{down_port}/hook"
        down = _subscribe(settings, "ben", NewSubscription("new_offer", down_url, "webhook", body_format="slack"))
        _subscribe(
            settings, "cat", NewSubscription("new_offer", "cat@lw.example", "email", filter="substance=fentanyl")
        )
        _subscribe(settings, "dan", NewSubscription("new_offer", receiver.url, "webhook", filter="score_min=0.99"))
        now = datetime.now(UTC)
        lines = [
            _offer(1, now, "synthetic"),
            _offer(2, now, "other_drug"),
            _offer(3, now - timedelta(days=9), "synthetic"),
        ]
        load_jsonl(write_jsonl(tmp_path / "in.jsonl", lines), settings)
        get_client_refresh(settings)

        with smtp_server(smtp_port) as mailbox:
            first = run_alerts(settings, now=now + timedelta(seconds=1))
            assert (first.matched, first.sent, first.failed) == (3, 2, 1), first.describe()
            assert [a["data"]["listing_id"] for b in receiver.bodies for a in b["alerts"]] == [listing(1).id]
            link = receiver.bodies[0]["alerts"][0]["link"]
            assert link == f"https://lw.example/listings/{listing(1).id}"
            assert "script" not in str(receiver.bodies)  # bodies never carry the listing's crawled text
            (mail,) = mailbox.messages
            parts = {
                p.get_content_type(): p.get_payload(decode=True).decode() for p in mail.walk() if not p.is_multipart()
            }
            assert link in parts["text/plain"] and f'href="{link}"' in parts["text/html"]

            again = run_alerts(settings, now=now + timedelta(seconds=2))
            assert (again.matched, again.sent, again.failed) == (0, 0, 0)  # the down one waits for its back-off
            assert len(receiver.bodies) == 1 and len(mailbox.messages) == 1

        recovered = WebhookReceiver(down_port).start()
        try:
            later = run_alerts(settings, now=now + timedelta(minutes=2))
            assert (later.sent, later.failed) == (1, 0), later.describe()
            assert "open in listingwatch" in recovered.bodies[0]["text"]
            assert run_alerts(settings, now=now + timedelta(hours=3)).sent == 0  # never twice
        finally:
            recovered.stop()
        with session_scope(settings) as db:
            rows = {r.subscription_id: r for r in db.query(AlertDelivery)}
            assert rows[down].attempts == 2 and rows[down].status == "sent" and rows[up].attempts == 1


def get_client_refresh(settings: Settings) -> None:
    from index_config.client import get_client
    from index_config.manage import listings_alias

    get_client(settings).indices.refresh(index=listings_alias(settings))


def test_saved_search_matches_go_only_to_the_searchs_owner(
    es_settings: Settings, tmp_path: Path, receiver: WebhookReceiver
) -> None:
    with fresh_prefix(es_settings, tmp_path) as settings:
        _subscribe(settings, "ana", NewSubscription("saved_search", receiver.url, "webhook"))
        other = WebhookReceiver(free_port()).start()
        try:
            _subscribe(settings, "ben", NewSubscription("saved_search", other.url, "webhook"))
            with session_scope(settings) as db:
                from core.store.users import get_user

                db.add(SavedSearch(user=get_user(db, "ana"), name="m30 <b>", query="q=M30"))
            now = datetime.now(UTC)
            load_jsonl(write_jsonl(tmp_path / "in.jsonl", [_offer(5, now, "synthetic")]), settings)
            get_client_refresh(settings)
            report = run_alerts(settings, now=now + timedelta(seconds=1))
            assert report.sent == 1, report.describe()
            assert receiver.bodies[0]["alerts"][0]["data"]["search_name"] == "m30 <b>" and other.bodies == []
        finally:
            other.stop()


def test_starttls_with_credentials_from_settings(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    port = free_port()
    alert = Alert("task_failed", "k", "2026-12-01T00:00:00+00:00", {"dag_id": "crawl_shop", "path": "/admin/sources"})
    smtp = {
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_security": "starttls",
        "smtp_username": "alerts",
        "smtp_password": "s3cret",
        "smtp_ca_file": cert,
    }
    settings = load_settings(var_dir=tmp_path, alerts={**ALERTS, **smtp})
    with smtp_server(port, tls=(cert, key), password="s3cret") as mailbox:
        send_email([alert], "ops@lw.example", settings.alerts)
        assert len(mailbox.messages) == 1 and mailbox.logins
        wrong = settings.alerts.model_copy(update={"smtp_password": "nope"})
        with pytest.raises(DeliveryFailed, match="SMTP"):
            send_email([alert], "ops@lw.example", wrong)
        untrusted = settings.alerts.model_copy(update={"smtp_ca_file": None})
        with pytest.raises(DeliveryFailed, match=r"(?i)certificate"):
            send_email([alert], "ops@lw.example", untrusted)
    assert len(mailbox.messages) == 1


def test_bodies_escape_what_people_and_sites_wrote() -> None:
    alert = Alert(
        "saved_search", "k", "t", {"search_name": "<img src=x onerror=1> & co", "listing_id": "a", "path": "/x"}
    )
    html = html_body([alert], "https://lw.example")
    assert "<img" not in html and "&lt;img src=x onerror=1&gt; &amp; co" in html
    assert "<img" not in slack_body([alert], "https://lw.example")["text"]
    assert "<img src=x onerror=1> & co" in plain_text([alert], "https://lw.example")


def test_digest_waits_for_its_period_and_sends_one_message(store: Settings, receiver: WebhookReceiver) -> None:
    _subscribe(store, "ana", NewSubscription("task_failed", receiver.url, "webhook", digest="hourly"))
    for n in (1, 2):
        record_task_failure(store, "crawl_shop", "crawl", f"run{n}", 1, "boom")
    assert receiver.bodies == []
    report = run_alerts(store, now=datetime.now(UTC) + timedelta(hours=1, minutes=1))
    assert report.sent == 2 and len(receiver.bodies) == 1 and len(receiver.bodies[0]["alerts"]) == 2


def test_task_failures_are_delivered_from_the_callback_at_once(store: Settings, receiver: WebhookReceiver) -> None:
    _subscribe(store, "ana", NewSubscription("task_failed", receiver.url, "webhook", filter="crawl_shop"))
    record_task_failure(store, "crawl_forum", "crawl", "r1", 1, "boom")
    record_task_failure(store, "crawl_shop", "index", "r1", 2, "ES down")
    record_task_failure(store, "crawl_shop", "index", "r1", 2, "ES down")  # the same failure reported twice
    assert [b["alerts"][0]["data"]["task_id"] for b in receiver.bodies] == ["index"]


def test_a_source_failing_twice_in_a_row_alerts_once(store: Settings, receiver: WebhookReceiver) -> None:
    _subscribe(store, "ana", NewSubscription("source_failed", receiver.url, "webhook"))
    now = datetime.now(UTC)
    with session_scope(store) as db:
        db.add(SourceRunOutcome(source="shop", run_key="r1", finished_at=now, ok=False, error="refused"))
    assert run_alerts(store, now=now).sent == 0
    with session_scope(store) as db:
        db.add(SourceRunOutcome(source="shop", run_key="r2", finished_at=now + timedelta(seconds=1), ok=True))
    assert run_alerts(store, now=now + timedelta(seconds=2)).sent == 1
    assert run_alerts(store, now=now + timedelta(seconds=3)).sent == 0
    assert receiver.bodies[0]["alerts"][0]["data"]["runs"] == ["r1", "r2"]


def test_a_claimed_delivery_is_not_claimed_twice(store: Settings, receiver: WebhookReceiver) -> None:
    receiver.status = 500
    _subscribe(store, "ana", NewSubscription("task_failed", receiver.url, "webhook"))
    record_task_failure(store, "d", "t", "r", 1, "x")
    with session_scope(store) as db:
        (row,) = db.query(AlertDelivery)
        assert row.attempts == 1 and row.status == "pending" and "HTTP 500" in row.last_error
        row_id, due = row.id, row.next_attempt_at
    assert _claim(store, [row_id], due) == [row_id]
    assert _claim(store, [row_id], due) == []


def test_backoff_doubles_up_to_its_cap() -> None:
    assert [backoff(n, 60, 600).total_seconds() for n in (1, 2, 3, 4, 5)] == [60, 120, 240, 480, 600]


def test_bad_subscriptions_name_every_problem(store: Settings) -> None:
    with pytest.raises(SubscriptionError) as err:
        _subscribe(
            store, "ana", NewSubscription("nope", "not-an-address", "email", digest="weekly", body_format="slack")
        )
    for part in ("unknown event", "digest", "not an e-mail address", "for webhooks"):
        assert part in str(err.value)


def test_cli_add_list_send_test_remove(
    store: Settings, receiver: WebhookReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core.settings import get_settings

    monkeypatch.setenv("LISTINGWATCH_VAR_DIR", str(store.var_dir))
    monkeypatch.setenv("LISTINGWATCH_ALERTS__APP_URL", "https://lw.example")
    get_settings.cache_clear()
    with session_scope(store) as db:
        add_user(db, "ana", "analyst", "a long enough password")
    runner = CliRunner()
    try:
        added = runner.invoke(app, ["alerts", "add", "--user", "ana", "--on", "overdue", "--webhook", receiver.url])
        assert added.exit_code == 0, added.output
        both = runner.invoke(
            app, ["alerts", "add", "--user", "ana", "--on", "overdue", "--webhook", "x", "--email", "a@b.cd"]
        )
        assert both.exit_code != 0 and "exactly one" in str(both.exception)
        listed = runner.invoke(app, ["alerts", "list"])
        assert "overdue" in listed.output and receiver.url in listed.output
        sent = runner.invoke(app, ["alerts", "send-test", "1"])
        assert sent.exit_code == 0 and receiver.bodies[0]["alerts"][0]["link"] == "https://lw.example/alerts"
        assert runner.invoke(app, ["alerts", "run"]).exit_code == 0
        assert runner.invoke(app, ["alerts", "remove", "1"]).exit_code == 0
        assert runner.invoke(app, ["alerts", "remove", "1"]).exit_code != 0
    finally:
        get_settings.cache_clear()


def test_the_airflow_failure_callback_alerts_and_records_a_failed_run(
    store: Settings, receiver: WebhookReceiver
) -> None:
    from types import SimpleNamespace

    from listingwatch.orchestration.callbacks import failure_callback

    _subscribe(store, "ana", NewSubscription("task_failed", receiver.url, "webhook"))
    when = datetime(2026, 12, 1, 6, tzinfo=UTC)
    context = {
        "ti": SimpleNamespace(dag_id="crawl_shop", task_id="crawl", try_number=3),  # what Airflow hands the callback
        "dag_run": SimpleNamespace(run_id="scheduled__1", logical_date=when, run_after=when),
        "exception": RuntimeError("Source shop fetched no pages"),
    }
    failure_callback(store)(context)
    (alert,) = receiver.bodies[0]["alerts"]
    assert alert["data"]["error"] == "Source shop fetched no pages" and alert["data"]["try_number"] == 3
    with session_scope(store) as db:
        (outcome,) = db.query(SourceRunOutcome)
        assert (outcome.source, outcome.ok, outcome.error) == ("shop", False, "Source shop fetched no pages")


def test_smtp_credentials_are_never_sent_in_clear_to_a_remote_relay(tmp_path: Path) -> None:
    from core.errors import ConfigError

    smtp = {"smtp_host": "mail.example", "smtp_security": "none", "smtp_username": "u", "smtp_password": "p"}
    with pytest.raises(ConfigError, match="in clear"):
        load_settings(var_dir=tmp_path, alerts=smtp)
