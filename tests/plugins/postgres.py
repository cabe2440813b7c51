"""A real PostgreSQL for the Airflow production-profile test: Debian's postgresql 15 in a temporary cluster.

PostgreSQL refuses to run as root, so under root the cluster belongs to an unprivileged user
(`es.run_as`, `nobody` by default). It listens on 127.0.0.1 at a free port with trust
authentication for local connections only, and is removed at the end of the session.
"""

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.settings import load_settings
from index_config.node import _privileges
from tests.plugins.redis import free_port

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def _run(args: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, check=False, **_privileges(load_settings()), **kwargs)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """SQLAlchemy URL of an empty `airflow` database owned by user `airflow`."""
    if not (PG_BIN / "initdb").exists():
        pytest.skip("PostgreSQL 15 is not installed (Debian package postgresql; scripts/bootstrap.sh)")
    base = Path(tempfile.mkdtemp(prefix="listingwatch-pg-"))
    base.chmod(0o755)
    data, sockets = base / "data", base / "run"
    sockets.mkdir()
    ids = _privileges(load_settings())
    if ids:
        os.chown(base, ids["user"], ids["group"])
        os.chown(sockets, ids["user"], ids["group"])
    done = _run([str(PG_BIN / "initdb"), "-D", str(data), "-U", "airflow", "--auth=trust", "-E", "UTF8"])
    assert done.returncode == 0, done.stderr[-2000:]
    port = free_port()
    options = f"-h 127.0.0.1 -p {port} -k {sockets} -c fsync=off -c shared_buffers=32MB"
    done = _run([str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(base / "log"), "-o", options, "-w", "start"])
    assert done.returncode == 0, (done.stdout + done.stderr)[-2000:]
    try:
        deadline = time.monotonic() + 30
        while _run([str(PG_BIN / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)]).returncode != 0:
            assert time.monotonic() < deadline, "PostgreSQL did not accept connections"
            time.sleep(0.2)
        created = _run([str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "airflow", "airflow"])
        assert created.returncode == 0, created.stderr
        yield f"postgresql+psycopg2://airflow@127.0.0.1:{port}/airflow"
    finally:
        _run([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"])
        shutil.rmtree(base, ignore_errors=True)
