"""Run a script in a fresh interpreter, as a user's first command runs.

Libraries bind their log handlers and warning printers at first import, so inside the test
session an earlier test's imports would hide what a user's first run shows.
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_fresh(script: str, home: Path, timeout: float) -> tuple[str, str]:
    """(stdout, stderr) of `script` run with the project home as its one argument; a failure fails the test."""
    env = {**os.environ, "AIRFLOW_HOME": str(home / "airflow")}
    env.pop("HF_HUB_DISABLE_PROGRESS_BARS", None)
    done = subprocess.run(
        [sys.executable, "-c", script, str(home)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout, done.stderr
