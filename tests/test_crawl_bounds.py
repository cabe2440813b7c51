"""`crawl --timeout` is enforced whatever the child does, and Ctrl-C stops the crawl instead of being ignored."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

SOURCE = """
name: stuck
platform: p
start_urls: ["http://127.0.0.1:9/"]
allowed_domains: ["127.0.0.1"]
links:
  listings: {allow: ["/item/"]}
"""

# The CLI with its crawl child replaced by one stuck in C code: it ignores SIGINT and never
# writes a report, as a child pinned by a runaway regex did. `start_crawl` is the seam.
_CLI = """
import subprocess, sys
from datetime import UTC, datetime
from pathlib import Path
import crawlers.run as run

run.STOP_GRACE_S = 1.0
base = Path(sys.argv[1])
def start_crawl(source, settings, *, output, jobdir=None, max_pages=None, timeout_s=None):
    tmp = base / "job"
    tmp.mkdir()
    job = run.CrawlJob(source=source, settings={}, output=output, append=False, jobdir=None, max_pages=None,
                       timeout_s=timeout_s, log_file=tmp / "crawl.log", report=tmp / "report.json")
    child = subprocess.Popen([sys.executable, "-c",
        "import signal, time; signal.signal(signal.SIGINT, signal.SIG_IGN); time.sleep(600)"],
        start_new_session=True)
    (base / "child.pid").write_text(str(child.pid))
    return run.CrawlProcess(job, child, datetime.now(UTC), tmp)
run.start_crawl = start_crawl
from listingwatch.cli import main
sys.argv = ["listingwatch", *sys.argv[2:]]
main()
"""


def _start(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    source = tmp_path / "stuck.yaml"
    source.write_text(SOURCE + "limits: {crawl_timeout_s: 1}\n")
    env = {**os.environ, "LISTINGWATCH_VAR_DIR": str(tmp_path / "var"), "PYTHONPATH": os.getcwd()}
    return subprocess.Popen(
        [sys.executable, "-c", _CLI, str(tmp_path), *args],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _child_gone(tmp_path: Path) -> bool:
    pid = int((tmp_path / "child.pid").read_text())
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_timeout_is_enforced_by_interrupting_then_killing_a_stuck_crawl(tmp_path: Path) -> None:
    cli = _start(tmp_path, "crawl", str(tmp_path / "stuck.yaml"), "--no-resume", "--timeout", "1")
    try:
        out, err = cli.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        cli.kill()
        pytest.fail("`crawl --timeout 1` was still waiting on its crawl after 60 s")
    assert cli.returncode == 1, err
    assert "timed out" in out  # the result table goes to stdout, errors to stderr
    assert "was killed" in " ".join(err.split())
    assert _child_gone(tmp_path)


def test_ctrl_c_stops_the_crawl_and_exits_130(tmp_path: Path) -> None:
    cli = _start(tmp_path, "crawl", str(tmp_path / "stuck.yaml"), "--no-resume", "--timeout", "600")
    deadline = time.monotonic() + 60
    while not (tmp_path / "child.pid").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)  # inside the wait loop
    cli.send_signal(signal.SIGINT)
    try:
        _out, err = cli.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        cli.kill()
        pytest.fail("Ctrl-C did not stop `listingwatch crawl` within 60 s")
    assert cli.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert _child_gone(tmp_path)


def test_run_names_a_crawl_time_out_instead_of_blaming_the_site(tmp_path: Path) -> None:
    cli = _start(tmp_path, "run", str(tmp_path / "stuck.yaml"))
    try:
        _out, err = cli.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        cli.kill()
        pytest.fail("`listingwatch run` was still waiting on its crawl after 120 s")
    assert cli.returncode == 2, err
    assert "before its crawl timeout of 1s" in err and "check that the site is up" not in err
    assert "Traceback" not in err
