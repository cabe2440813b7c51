"""The web app as a background process for the demo, and the demo's login.

Like the local sites, the app runs detached with its pid under var/run/, so `listingwatch demo
--stop` stops exactly the process the demo started. The demo login is an admin account whose
random password is kept in var/demo-login.txt (mode 0600) and printed by the demo.
"""

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

from listingwatch.errors import ServiceUnavailable
from listingwatch.settings import Settings
from listingwatch.store import session_scope
from listingwatch.store.users import add_user, get_user, set_password

DEMO_USER = "demo"
STARTUP_TIMEOUT_S = 30.0


def _pid_file(settings: Settings) -> Path:
    return settings.var_dir / "run" / "webapp.pid"


def app_url(settings: Settings) -> str:
    return f"http://{settings.web.host}:{settings.web.port}"


def _answers(url: str) -> bool:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"{url}/login", timeout=2):  # noqa: S310 - local http URL from settings
            return True
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, OSError):
        return False


def ensure_app(settings: Settings) -> tuple[str, bool]:
    """Start `listingwatch app serve` in the background unless something answers already; (url, started)."""
    url = app_url(settings)
    if _answers(url):
        return url, False
    log_path = settings.var_dir / "log" / "webapp.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    _pid_file(settings).parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "listingwatch", "app", "serve"],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=settings.home,
        )
    _pid_file(settings).write_text(str(proc.pid), encoding="utf-8")
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServiceUnavailable(f"The web app exited with code {proc.returncode}; see {log_path}.")
        if _answers(url):
            return url, True
        time.sleep(0.3)
    raise ServiceUnavailable(f"The web app did not answer at {url} within {STARTUP_TIMEOUT_S:.0f}s; see {log_path}.")


def stop_app(settings: Settings) -> bool:
    """Stop the app process the demo started (by its recorded pid); False if there was none."""
    pid_file = _pid_file(settings)
    if not pid_file.exists():
        return False
    pid = int(pid_file.read_text(encoding="utf-8").strip())
    pid_file.unlink()
    cmdline = Path(f"/proc/{pid}/cmdline")
    if not cmdline.exists() or b"app\x00serve" not in cmdline.read_bytes():
        return False  # exited already, and the pid may now belong to someone else's process
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    return True


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
