"""Fixtures for the web app: listings in an index prefix of their own, users, and the app on a free port.

Everything is session-scoped: one load into the shared test node, one uvicorn server in a
thread, so the API, role, XSS and browser tests together cost one setup.
"""

import re
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import uvicorn

from core.settings import Settings
from core.store import session_scope
from core.store.saved import save_search
from core.store.users import add_user, create_token
from index_config.analyst_views import refresh_analyst_views
from index_config.client import get_client
from index_config.loader import load_listings
from index_config.manage import delete_indices, init_indices
from tests import web_data
from webapp.app import create_app

PASSWORD = "correct horse battery staple"
ROLES = ("analyst", "liaison", "admin")


@dataclass
class WebEnv:
    settings: Settings
    ids: dict[str, str]
    tokens: dict[str, str]  # role -> API token of a user with that role
    url: str = ""


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "no CSRF field in the page"
    return match.group(1)


def log_in(client: httpx.Client, name: str, then: str) -> str:
    """Logs `client` in through the login form as `name` (password PASSWORD); the CSRF token of the page `then`."""
    token = csrf_of(client.get("/login").text)
    assert client.post("/login", data={"username": name, "password": PASSWORD, "csrf": token}).status_code == 303
    return csrf_of(client.get(then).text)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def web_env(es_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebEnv]:
    var_dir = tmp_path_factory.mktemp("web-var")
    prefix = f"{es_settings.es.index_prefix}-web{uuid.uuid4().hex[:4]}"
    settings = es_settings.model_copy(
        update={"var_dir": var_dir, "es": es_settings.es.model_copy(update={"index_prefix": prefix})}
    )
    client = get_client(settings)
    init_indices(client, settings)
    listings, ids = web_data.build(var_dir)
    report = load_listings(listings, settings, client)
    assert report.failed == 0 and report.spooled == 0, report.errors
    client.indices.refresh(index=f"{prefix}-*")
    tokens = {}
    with session_scope(settings) as db:
        for role in ROLES:
            user = add_user(db, role, role, PASSWORD)
            tokens[role] = create_token(db, user)
        saved = save_search(db, user, "all blues", "q=blues")
        saved.checked_at = web_data.T0 - timedelta(days=2)  # as if the last run was before these listings
    refresh_analyst_views(settings)
    yield WebEnv(settings=settings, ids=ids, tokens=tokens)
    delete_indices(client, settings)


@pytest.fixture(scope="session")
def web_server(web_env: WebEnv) -> Iterator[WebEnv]:
    """The app served by uvicorn on 127.0.0.1 and a free port, in a thread of this process."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(web_env.settings), host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the web app did not start")
        time.sleep(0.05)
    web_env.url = f"http://127.0.0.1:{port}"
    yield web_env
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where browser tests leave page screenshots for people to look at (ignored by git)."""
    path = Path(__file__).resolve().parents[2] / "var" / "test-artifacts" / "web"
    path.mkdir(parents=True, exist_ok=True)
    return path
