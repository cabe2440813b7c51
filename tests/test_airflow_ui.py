"""The engineers' UI starts as documented: `listingwatch airflow standalone` from an environment nobody activated."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.integration]

REPO = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - 127.0.0.1 only
            return response.status, response.read().decode("utf-8", errors="replace")
    except OSError:
        return 0, ""


def test_standalone_serves_the_ui_without_an_activated_environment(tmp_path: Path) -> None:
    port = _free_port()
    env = {
        "PATH": "/usr/bin:/bin",  # no .venv/bin: the environment is not activated
        "HOME": str(tmp_path),
        "PYTHONPATH": str(REPO),
        "LISTINGWATCH_VAR_DIR": str(tmp_path / "var"),
        "LISTINGWATCH_AIRFLOW__HOME": str(tmp_path / "airflow"),
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__HOST": "127.0.0.1",
    }
    log = (tmp_path / "standalone.log").open("w")
    airflow = subprocess.Popen(
        [sys.executable, "-m", "listingwatch", "airflow", "standalone"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 420
        status, page = 0, ""
        while time.monotonic() < deadline and airflow.poll() is None:
            status, page = _get(f"http://127.0.0.1:{port}/")
            if status == 200:
                break
            time.sleep(3)
        output = (tmp_path / "standalone.log").read_text(errors="replace")
        assert status == 200, output[-3000:]
        assert "airflow" in page.lower()
        assert "FileNotFoundError" not in output
    finally:
        os.killpg(airflow.pid, signal.SIGTERM)
        try:
            airflow.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(airflow.pid, signal.SIGKILL)
            airflow.wait()
        log.close()
