"""The local marketplace sites the demo crawls, kept running after the demo command exits.

The sites run as a detached process whose pid is recorded under ``var/run/`` so
`listingwatch demo --stop` stops exactly the process it started and nothing else; a site
server someone already runs on the port (or `LISTINGWATCH_SITES_URL`) is used as is.
"""

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from core.errors import ServiceUnavailable
from core.settings import Settings

SITES_HOST = "127.0.0.1"
SITES_PORT = 8700
STARTUP_TIMEOUT_S = 30.0
SITES_MODULE = "listingwatch.demo.marketplaces.sites"


def sites_url(settings: Settings) -> str:
    """Where the demo sources point (`sites_url`, the same variable their YAML reads)."""
    return settings.sites_url or f"http://{SITES_HOST}:{SITES_PORT}"


def is_up(url: str, timeout: float = 2.0) -> bool:
    """True if anything answers HTTP at `url` (any status: a 404 still means the server is there)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout):  # noqa: S310 - local http URL from settings
            return True
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, OSError):
        return False


def _pid_file(settings: Settings, key: str) -> Path:
    return settings.var_dir / "run" / f"{key}.pid"


def start_detached(settings: Settings, key: str, what: str, argv: list[str], answers: Callable[[], bool]) -> None:
    """Start `argv` detached (own session, log under var/logs/KEY.log, pid under var/run/) and wait until it answers.

    The demo leaves these processes running after it exits; the recorded pid lets
    `listingwatch demo --stop` stop exactly what it started.
    """
    log_path = settings.var_dir / "logs" / f"{key}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    _pid_file(settings, key).parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=settings.home,
        )
    _pid_file(settings, key).write_text(str(proc.pid), encoding="utf-8")
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServiceUnavailable(f"The {what} exited with code {proc.returncode}; see {log_path}.")
        if answers():
            return
        time.sleep(0.3)
    raise ServiceUnavailable(f"The {what} did not answer within {STARTUP_TIMEOUT_S:.0f}s; see {log_path}.")


def stop_detached(settings: Settings, key: str, marker: bytes) -> bool:
    """Stop the process `start_detached` recorded under `key`; False if there was none (or it is not ours).

    `marker` must appear in the process's command line: a pid reused by someone else's
    process after ours exited is never signalled.
    """
    pid_file = _pid_file(settings, key)
    if not pid_file.exists():
        return False
    pid = int(pid_file.read_text(encoding="utf-8").strip())
    pid_file.unlink()
    cmdline = Path(f"/proc/{pid}/cmdline")
    if not cmdline.exists() or marker not in cmdline.read_bytes():
        return False
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    return True


def ensure_sites(settings: Settings) -> tuple[str, bool]:
    """Start the local sites unless something already serves them; returns (url, started_now)."""
    url = sites_url(settings)
    if is_up(url):
        return url, False
    if settings.sites_url:
        raise ServiceUnavailable(f"LISTINGWATCH_SITES_URL is {url} but nothing answers there; start it or unset it.")
    argv = [sys.executable, "-m", SITES_MODULE, "--port", str(SITES_PORT)]
    start_detached(settings, "sites", f"local sites at {url}", argv, lambda: is_up(url))
    return url, True


def stop_sites(settings: Settings) -> bool:
    """Stop the sites process the demo started (by its recorded pid); False if there was none."""
    return stop_detached(settings, "sites", SITES_MODULE.encode())
