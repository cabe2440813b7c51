"""Credentials: a node that refuses them is named at once, and a password inside the URL is never printed."""

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


class _Refusing(BaseHTTPRequestHandler):
    """Answers like a secured Elasticsearch node to a wrong password."""

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.send_response(401)
        self.send_header("X-Elastic-Product", "Elasticsearch")
        self.send_header("WWW-Authenticate", 'Basic realm="security"')
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"error":{"type":"security_exception"},"status":401}')

    do_POST = do_PUT = do_HEAD = do_GET


@pytest.fixture(scope="module")
def refusing() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Refusing)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield int(server.server_address[1])
    server.shutdown()


@pytest.mark.parametrize(("command", "code", "says"), [
    (["es", "status"], 3, "authentication failed"),
    (["es", "start"], 2, "an external node"),
    (["index", "stats"], 3, "authentication failed"),
])  # fmt: skip
def test_refused_credentials_are_named_at_once_without_the_password(
    refusing: int, tmp_path: Path, command: list[str], code: int, says: str
) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(REPO),
        "LISTINGWATCH_VAR_DIR": str(tmp_path),
        "LISTINGWATCH_ES__URL": f"http://elastic:s3cret-pw@127.0.0.1:{refusing}",
    }
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "listingwatch", *command], env={**os.environ, **env},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert time.monotonic() - started < 60
    assert done.returncode == code, done.stderr
    assert says in done.stderr and "elastic:***@127.0.0.1" in done.stderr
    assert "s3cret-pw" not in done.stdout + done.stderr
