"""The demo's background web app: started once, reused, stopped by pid; and the demo login."""

import time
from pathlib import Path

import httpx
import pytest

from core.settings import Settings, load_settings
from core.store import session_scope
from core.store.users import authenticate
from listingwatch.demo.webapp import ensure_app, ensure_demo_login, stop_app
from tests.plugins.web import free_port

pytestmark = pytest.mark.integration


def test_demo_login_is_stable_and_works(tmp_path: Path) -> None:
    settings = load_settings(var_dir=tmp_path)
    first = ensure_demo_login(settings)
    assert ensure_demo_login(settings) == first
    assert (tmp_path / "demo-login.txt").stat().st_mode & 0o077 == 0
    with session_scope(settings) as db:
        assert authenticate(db, *first).role == "admin"


def test_app_runs_in_the_background_until_stopped(
    es_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    for key, value in {
        "WEB__PORT": port,
        "VAR_DIR": tmp_path,
        "ES__PORT": es_settings.es.port,
        "ES__TRANSPORT_PORT": es_settings.es.transport_port,
    }.items():
        monkeypatch.setenv(f"LISTINGWATCH_{key}", str(value))
    settings = load_settings()
    url, started = ensure_app(settings)
    try:
        assert started and url == f"http://127.0.0.1:{port}"
        assert httpx.get(f"{url}/api/search").status_code == 401
        assert ensure_app(settings) == (url, False)
    finally:
        assert stop_app(settings)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/login", timeout=1)
        except httpx.TransportError:
            break
        time.sleep(0.2)
    else:
        pytest.fail("the web app still answers after stop_app")
    assert not stop_app(settings)
