"""Fixtures for the airflow area: a migrated throwaway metadata DB and a DAGs folder of its own.

`tests/conftest.py` already points AIRFLOW_HOME at a temporary directory. Airflow fixes its
DAGs folder when first imported, and `dag.test()` only runs DAGs it finds there, so this
plugin (loaded before any test imports Airflow) points it at an empty temporary folder
that tests fill with the DAG files they run. The repository's own ``dags/`` is checked by
the DAG integrity tests through a `DagBag` of that path.
"""

import os
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

DAGS_FOLDER = Path(tempfile.mkdtemp(prefix="listingwatch-dags-"))

os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(DAGS_FOLDER)
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"


@pytest.fixture(scope="session")
def airflow_db() -> Iterator[Path]:
    """The test metadata database, migrated once per session; yields the DAGs folder `dag.test()` reads."""
    done = subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"], capture_output=True, text=True, check=False, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    yield DAGS_FOLDER


@pytest.fixture(scope="session")
def closed_port_url() -> str:
    """An http URL on 127.0.0.1 where nothing listens: a marketplace that is down."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
