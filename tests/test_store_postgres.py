"""The store's migrations and queries on a real PostgreSQL server (the production database).

A throwaway cluster is initialised in a temporary directory and started on a free port as the
`postgres` system user (the server refuses to run as root), then removed.
"""

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import inspect

from core.settings import Settings, load_settings
from core.store import get_engine, session_scope
from core.store.triage import current_decisions, history, record_decision
from core.store.users import add_user, authenticate, create_token, user_for_token
from tests.plugins.web import free_port

pytestmark = pytest.mark.integration
BIN = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"))), None)


def _as_postgres(*args: str) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else list(args)


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    if BIN is None:
        pytest.skip("PostgreSQL server binaries are not installed (scripts/bootstrap.sh installs them)")
    # Not under pytest's temp root: that is private to root, and the server runs as `postgres`.
    root = Path(tempfile.mkdtemp(prefix="listingwatch-pg-"))
    data = root / "data"
    data.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(data, "postgres")
    port = free_port()
    subprocess.run(
        _as_postgres(str(BIN / "initdb"), "-D", str(data), "-U", "lw", "--auth=trust"), check=True, capture_output=True
    )
    subprocess.run(
        _as_postgres(
            str(BIN / "pg_ctl"),
            "-D",
            str(data),
            "-w",
            "-l",
            str(data / "log"),
            "-o",
            f"-p {port} -k {data} -c listen_addresses=127.0.0.1",
            "start",
        ),
        check=True,
        capture_output=True,
    )
    try:
        deadline = time.monotonic() + 30
        while subprocess.run([str(BIN / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)]).returncode != 0:
            assert time.monotonic() < deadline, "postgres did not start"
            time.sleep(0.2)
        subprocess.run(
            [str(BIN / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "lw", "listingwatch"], check=True
        )
        yield f"postgresql+psycopg2://lw@127.0.0.1:{port}/listingwatch"
    finally:
        subprocess.run(_as_postgres(str(BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"), capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_settings(pg_url: str, tmp_path: Path) -> Settings:
    return load_settings(var_dir=tmp_path, db={"url": pg_url})


def test_migrations_users_tokens_and_triage_on_postgres(pg_settings: Settings) -> None:
    assert {"users", "api_tokens", "triage_decisions", "saved_searches"} <= set(
        inspect(get_engine(pg_settings)).get_table_names()
    )
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    with session_scope(pg_settings) as db:
        user = add_user(db, "pg-ana", "analyst", "0123456789ab")
        token = create_token(db, user)
        record_decision(db, "l1", "needs_review", user, at=t0)
        record_decision(db, "l1", "confirmed", user, at=t0 + timedelta(minutes=5))
    with session_scope(pg_settings) as db:
        assert authenticate(db, "pg-ana", "0123456789ab") is not None
        assert user_for_token(db, token).name == "pg-ana"
        assert current_decisions(db)["l1"].decision == "confirmed"
        assert [d.at for d in history(db, "l1")] == [t0 + timedelta(minutes=5), t0]
