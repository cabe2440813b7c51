"""The web app as an attacker reads it: credentials, login throttle, transport, schema, notes, sparse documents.

Against the real node and a real SQLite store, through the app's own HTTP stack (TestClient)
or uvicorn (`web_server`).
"""

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import redis
from starlette.testclient import TestClient
from typer.testing import CliRunner

from core.settings import Settings
from core.store import ApiToken, session_scope
from core.store.users import (
    add_user,
    create_token,
    credentials_changed,
    recent_auth_events,
    require_user,
    revoke_token,
    set_disabled,
    set_password,
    user_for_token,
)
from index_config.client import get_client
from index_config.manage import listings_alias
from tests.plugins.web import PASSWORD, WebEnv, csrf_of
from webapp.app import create_app
from webapp.security import LoginThrottle

pytestmark = pytest.mark.integration


def _user(settings: Settings, name: str, role: str = "analyst") -> None:
    with session_scope(settings) as db:
        add_user(db, name, role, PASSWORD)


def _login(client: TestClient, name: str, password: str = PASSWORD, **headers: str) -> httpx.Response:
    token = csrf_of(client.get("/login").text)
    return client.post(
        "/login", data={"username": name, "password": password, "csrf": token, "next": "/docs"}, headers=headers
    )


def test_logout_everywhere_password_disable_and_role_end_copied_sessions(web_env: WebEnv) -> None:
    settings = web_env.settings
    _user(settings, "gen-ana")
    app = create_app(settings)
    for change in ("everywhere", "password", "disable", "role"):
        with TestClient(app, follow_redirects=False) as mine, TestClient(app, follow_redirects=False) as thief:
            with session_scope(settings) as db:
                user = require_user(db, "gen-ana")
                set_disabled(user, False)
                user.role = "analyst"
            assert _login(mine, "gen-ana").status_code == 303
            thief.cookies.update(mine.cookies)  # a copied cookie
            assert thief.get("/docs").status_code == 200
            if change == "everywhere":
                page = mine.get("/docs").text
                mine.post("/logout", data={"csrf": csrf_of(page), "everywhere": "1"})
            else:
                with session_scope(settings) as db:
                    user = require_user(db, "gen-ana")
                    if change == "password":
                        set_password(db, user, PASSWORD)
                    elif change == "disable":
                        set_disabled(user, True)
                    else:
                        from core.store.users import set_role

                        set_role(user, "liaison")
            reply = thief.get("/docs")
            assert reply.status_code == 303 and reply.headers["location"].startswith("/login"), change


def test_tokens_expire_and_a_revoked_token_stops_at_once_despite_the_cache(web_env: WebEnv) -> None:
    settings = web_env.settings
    with session_scope(settings) as db:
        user = add_user(db, "tok-ana", "analyst", PASSWORD)
        old = create_token(db, user, "old", days=1)
        live = create_token(db, user, "live")
        db.flush()
        for row in user.tokens:
            if row.label == "old":
                row.expires_at = datetime.now(UTC) - timedelta(minutes=1)
    with session_scope(settings) as db:
        assert user_for_token(db, old) is None
        ninety = db.scalars(db.query(ApiToken).filter(ApiToken.label == "live").statement).one().expires_at
        assert timedelta(days=89) < ninety - datetime.now(UTC) <= timedelta(days=90)
    with TestClient(create_app(settings)) as c:
        auth = {"Authorization": f"Bearer {live}"}
        assert c.get("/api/openapi.json", headers=auth).status_code == 200  # now cached for 10 s
        with session_scope(settings) as db:
            revoke_token(db, live)
        credentials_changed(settings)  # what `users revoke` and the admin page do
        assert c.get("/api/openapi.json", headers=auth).status_code == 401


def test_openapi_schema_needs_login(web_server: WebEnv) -> None:
    with httpx.Client(base_url=web_server.url) as anon:
        assert anon.get("/api/openapi.json").status_code == 401
    headers = {"Authorization": f"Bearer {web_server.tokens['analyst']}"}
    with httpx.Client(base_url=web_server.url, headers=headers) as c:
        assert "/api/search" in c.get("/api/openapi.json").json()["paths"]


def test_a_strangers_guesses_never_lock_out_the_user(web_env: WebEnv) -> None:
    """Behind the trusted proxy, each client is its forwarded address; guesses from one do not block another."""
    settings = web_env.settings.model_copy(
        update={"web": web_env.settings.web.model_copy(update={"trusted_proxies": ["testclient"]})}
    )
    _user(settings, "throttle-ana")
    with TestClient(create_app(settings), follow_redirects=False) as c:
        attacker = {"X-Forwarded-For": "203.0.113.9"}
        codes = [_login(c, "throttle-ana", "wrong-password", **attacker).status_code for _ in range(7)]
        assert codes == [401] * 5 + [429] * 2
        assert int(_login(c, "throttle-ana", "wrong-password", **attacker).headers["retry-after"]) > 0
        assert _login(c, "throttle-ana", **{"X-Forwarded-For": "198.51.100.7"}).status_code == 303
    with session_scope(settings) as db:
        events = [
            (e.user_name, e.address, e.outcome) for e in recent_auth_events(db, 20) if e.user_name == "throttle-ana"
        ]
    assert ("throttle-ana", "198.51.100.7", "login") in events
    assert ("throttle-ana", "203.0.113.9", "throttled") in events
    assert all(PASSWORD not in str(e) and "wrong-password" not in str(e) for e in events)


def test_concurrent_guesses_are_counted_before_checking() -> None:
    throttle = LoginThrottle(per_minute=5)
    allowed: list[bool] = []
    barrier = threading.Barrier(40)

    def guess() -> None:
        barrier.wait()
        allowed.append(throttle.attempt("10.0.0.1", "ana") is None)

    threads = [threading.Thread(target=guess) for _ in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(allowed) == 5
    throttle.succeeded("10.0.0.1", "ana")  # a right password refunds the pair's count
    assert throttle.attempt("10.0.0.1", "ana") is None


def test_app_processes_share_the_count_through_redis(web_env: WebEnv, redis_url: str) -> None:
    """Two app instances (as two uvicorn workers would be) on one real Redis: guesses at one count at the other."""
    web = web_env.settings.web.model_copy(update={"throttle_storage": redis_url, "trusted_proxies": ["testclient"]})
    settings = web_env.settings.model_copy(update={"web": web})
    _user(settings, "redis-ana")
    attacker = {"X-Forwarded-For": "203.0.113.44"}
    with (
        TestClient(create_app(settings), follow_redirects=False) as first,
        TestClient(create_app(settings), follow_redirects=False) as second,
    ):
        codes = [_login(c, "redis-ana", "wrong-password", **attacker).status_code for c in (first, second) * 3]
        assert codes == [401] * 5 + [429], codes
        assert _login(first, "redis-ana", **{"X-Forwarded-For": "198.51.100.44"}).status_code == 303
    keys = redis.Redis.from_url(redis_url).keys("*redis-ana*")
    assert keys and all(b"203.0.113.44" in k or b"198.51.100.44" in k for k in keys), keys


def test_secure_cookie_and_hsts_off_loopback(web_env: WebEnv) -> None:
    web = web_env.settings.web.model_copy(update={"host": "0.0.0.0", "trusted_proxies": ["testclient"]})
    settings = web_env.settings.model_copy(update={"web": web})
    with TestClient(create_app(settings), base_url="https://testserver") as c:
        reply = c.get("/login", headers={"X-Forwarded-Proto": "https"})
        cookie = reply.headers["set-cookie"].lower()
        assert cookie.startswith("__host-listingwatch_session=") and "; secure" in cookie and "path=/" in cookie
        assert "domain=" not in cookie
        assert reply.headers["strict-transport-security"].startswith("max-age=")
    with TestClient(create_app(web_env.settings)) as plain:  # loopback, plain HTTP: a local analyst's laptop
        reply = plain.get("/login")
        assert "strict-transport-security" not in reply.headers and "secure" not in reply.headers["set-cookie"].lower()


def test_liaison_notes_are_not_shown_below_the_liaison_role(web_server: WebEnv) -> None:
    lid = web_server.ids["evidence"]
    history = [{"at": "2026-11-21T00:00:00+00:00", "by": "liz", "from": "new", "to": "queued", "note": "ring 2 tip"}]
    client = get_client(web_server.settings)
    client.update(
        index=listings_alias(web_server.settings),
        id=lid,
        doc={"takedown": {"status": "queued", "history": history}},
        refresh=True,
    )
    try:
        for role, shown in (("analyst", False), ("liaison", True)):
            headers = {"Authorization": f"Bearer {web_server.tokens[role]}"}
            with httpx.Client(base_url=web_server.url, headers=headers) as c:
                body = c.get(f"/api/listings/{lid}").json()
            assert ("ring 2 tip" in str(body)) is shown, role
            assert body["doc"]["takedown"]["history"][0]["to"] == "queued"
    finally:
        client.update(index=listings_alias(web_server.settings), id=lid, doc={"takedown": None}, refresh=True)


SPARSE_FIELDS = ("classification", "evidence", "seller", "images", "takedown", "triage", "contacts", "crypto")


@pytest.mark.parametrize("missing", ["absent", "null"])
def test_pages_render_documents_with_optional_fields_missing(web_server: WebEnv, missing: str) -> None:
    """What `index load` accepts without classification (a crawl not classified) must render everywhere."""
    lid = f"sparse-{missing}"
    doc = {
        "id": lid,
        "url": "https://alpha.example/item/sparse",
        "source": "alpha",
        "site": "alpha.example",
        "platform": "alpha",
        "title": f"sparse listing {missing}",
        "first_seen": "2026-11-20T12:00:00+00:00",
        "last_seen": "2026-11-20T12:00:00+00:00",
    }
    if missing == "null":
        doc |= dict.fromkeys(SPARSE_FIELDS)
    client = get_client(web_server.settings)
    client.index(index=listings_alias(web_server.settings), id=lid, document=doc, refresh=True)
    headers = {"Authorization": f"Bearer {web_server.tokens['admin']}"}
    try:
        with httpx.Client(base_url=web_server.url, headers=headers, timeout=30) as c:
            for path in (
                f"/listings/{lid}",
                f"/api/listings/{lid}",
                f"/search?q=sparse+listing+{missing}",
                f"/api/search?q=sparse+listing+{missing}",
                f"/sellers?q={lid}",
                f"/api/sellers?q={lid}",
                "/overview",
                "/",
                f"/listings/{lid}/screenshot",
                f"/listings/{lid}/warc",
            ):
                reply = c.get(path)
                assert reply.status_code in ((404,) if path.endswith(("screenshot", "warc")) else (200,)), (
                    path,
                    reply.status_code,
                    reply.text[-500:],
                )
            assert "not classified" in c.get(f"/listings/{lid}").text
    finally:
        client.delete(index=listings_alias(web_server.settings), id=lid, refresh=True)


def test_cli_credential_lifecycle(web_env: WebEnv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from core.settings import get_settings
    from listingwatch.cli import app

    monkeypatch.setenv("LISTINGWATCH_VAR_DIR", str(web_env.settings.var_dir))
    get_settings.cache_clear()
    runner = CliRunner()
    pw = tmp_path / "pw"
    pw.write_text("another long password\n")
    try:
        assert runner.invoke(app, ["users", "add", "cli-ana", "--password-file", str(pw)]).exit_code == 0
        token = runner.invoke(app, ["users", "token", "cli-ana", "--days", "7", "--label", "script"]).output.strip()
        listed = runner.invoke(app, ["users", "tokens", "cli-ana"]).output
        assert "script" in listed and token not in listed
        token_id = listed.splitlines()[1].split("\t")[0]
        for args in (["disable", "cli-ana"], ["enable", "cli-ana"], ["role", "cli-ana", "liaison"]):
            done = runner.invoke(app, ["users", *args])
            assert done.exit_code == 0, done.output
        assert runner.invoke(app, ["users", "role", "cli-ana", "boss"]).exit_code != 0
        assert runner.invoke(app, ["users", "passwd", "cli-ana", "--password-file", str(pw)]).exit_code == 0
        assert runner.invoke(app, ["users", "revoke", token_id]).exit_code == 0
        assert runner.invoke(app, ["users", "revoke", token_id]).exit_code != 0
        log = runner.invoke(app, ["users", "log"]).output
        assert "token_revoked" in log and "disabled" in log and "another long password" not in log
    finally:
        get_settings.cache_clear()
    with session_scope(web_env.settings) as db:
        assert user_for_token(db, token) is None
        assert require_user(db, "cli-ana").role == "liaison"


def test_store_and_session_secret_are_private_files(tmp_path: Path) -> None:
    from core.settings import load_settings
    from core.store import get_engine
    from webapp.app import secret_key

    settings = load_settings(var_dir=tmp_path / "var")
    get_engine(settings)
    secret_key(settings)
    assert (settings.var_dir.stat().st_mode & 0o777) == 0o700
    for name in ("listingwatch.db", "web-secret"):
        assert ((settings.var_dir / name).stat().st_mode & 0o777) == 0o600, name
