"""The `es` and `index` commands: clear one-sentence failures, and status of the real test node."""

import http.server
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest

from tests.plugins.es import NodeHandle


def _cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "listingwatch", *args],
        env={"PATH": "/nonexistent", **env}, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def _one_sentence(done: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    return lines[0]


def test_start_without_java_says_what_to_install(tmp_path, closed_port_url: str) -> None:
    port = closed_port_url.rsplit(":", 1)[1]
    done = _cli("es", "start", LISTINGWATCH_ES__PORT=port, LISTINGWATCH_VAR_DIR=str(tmp_path))
    assert done.returncode == 3
    assert "`java` is not installed" in _one_sentence(done)


@pytest.fixture
def squatter() -> Iterator[int]:
    """Something that is not Elasticsearch holding a port."""
    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_start_on_a_port_held_by_something_else_names_the_fix(squatter: int, tmp_path) -> None:
    done = _cli("es", "start", LISTINGWATCH_ES__PORT=str(squatter), LISTINGWATCH_VAR_DIR=str(tmp_path))
    assert done.returncode == 3
    line = _one_sentence(done)
    assert f"Port {squatter}" in line and "LISTINGWATCH_ES__PORT" in line


def test_bad_setting_is_one_sentence_naming_the_field() -> None:
    done = _cli("es", "status", LISTINGWATCH_ES__PORT="ninety")
    assert done.returncode == 2
    assert "es.port" in _one_sentence(done)


def test_drop_refuses_without_confirmation() -> None:
    done = _cli("index", "drop")
    assert done.returncode == 2 and "--yes" in _one_sentence(done)


@pytest.mark.integration
def test_status_reports_the_running_test_node(es_node: NodeHandle) -> None:
    done = _cli("es", "status", LISTINGWATCH_ES__PORT=str(es_node.settings.es.port), COLUMNS="200")
    assert done.returncode == 0, done.stderr
    assert "green" in done.stdout and es_node.settings.es.version in done.stdout
