"""The analysts' web app as a background process of the demo, and the demo's login.

Like the local sites, the app runs detached with its pid under var/run/, so `listingwatch demo
--stop` stops exactly the process the demo started. The demo login is an admin account whose
random password is kept in var/demo-login.txt (mode 0600) and printed by the demo.
"""

import os
import secrets
import sys

from core.settings import Settings
from core.store import session_scope
from core.store.users import add_user, get_user, set_password
from listingwatch.demo.services import is_up, start_detached, stop_detached

DEMO_USER = "demo"


def app_url(settings: Settings) -> str:
    return f"http://{settings.web.host}:{settings.web.port}"


def ensure_app(settings: Settings) -> tuple[str, bool]:
    """Start `listingwatch app serve` in the background unless something answers already; (url, started)."""
    url = app_url(settings)
    if is_up(f"{url}/login"):
        return url, False
    argv = [sys.executable, "-m", "listingwatch", "app", "serve"]
    start_detached(settings, "webapp", f"web app at {url}", argv, lambda: is_up(f"{url}/login"))
    return url, True


def stop_app(settings: Settings) -> bool:
    """Stop the app process the demo started (by its recorded pid); False if there was none."""
    return stop_detached(settings, "webapp", b"app\x00serve")


def ensure_demo_login(settings: Settings) -> tuple[str, str]:
    """(user, password) of the demo's admin account, created (or its password reset) when needed."""
    path = settings.var_dir / "demo-login.txt"
    password = path.read_text(encoding="utf-8").strip() if path.exists() else ""
    with session_scope(settings) as db:
        user = get_user(db, DEMO_USER)
        if user is not None and password:
            return DEMO_USER, password
        password = secrets.token_urlsafe(12)
        if user is None:
            add_user(db, DEMO_USER, "admin", password)
        else:
            set_password(db, user, password)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(password + "\n")
    return DEMO_USER, password
