"""Engine, sessions and migrations for the store.

`get_engine` upgrades the schema to the newest Alembic revision the first time a process
opens a database, so a fresh checkout, the demo and the tests need no separate step;
`listingwatch db upgrade` does the same explicitly (for production deploys that migrate first).
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from threading import Lock

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from core.errors import ServiceUnavailable
from core.settings import Settings

MIGRATIONS = Path(__file__).parent / "migrations"

_engines: dict[str, Engine] = {}
_factories: dict[str, sessionmaker[Session]] = {}
_lock = Lock()


def database_url(settings: Settings) -> str:
    """`db.url`, or SQLite under the settings' var directory."""
    return settings.db.url or f"sqlite:///{settings.var_dir / 'listingwatch.db'}"


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")  # readers (the web app) do not block the pipeline's writes
    cursor.close()


def private_file(path: Path) -> None:
    """Create `path` (and missing parents) readable by this user only: 0600 in 0700 directories."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    path.chmod(0o600)


def _create(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        # Password hashes and token digests live here: nobody but the service account reads it.
        private_file(Path(url.removeprefix("sqlite:///")))
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Run the shipped Alembic migrations up to `revision` on `engine`'s database."""
    config = _alembic_config()
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    except OperationalError as err:
        raise ServiceUnavailable(
            f"Cannot open the database {engine.url.render_as_string(hide_password=True)} ({err.orig}); "
            "check db.url (LISTINGWATCH_DB__URL) and that the server is running."
        ) from None


def get_engine(settings: Settings) -> Engine:
    """One engine per database URL per process, schema upgraded on first use."""
    url = database_url(settings)
    with _lock:
        if url not in _engines:
            engine = _create(url)
            upgrade(engine)
            _engines[url] = engine
            _factories[url] = sessionmaker(engine, expire_on_commit=False)
        return _engines[url]


@contextmanager
def session_scope(settings: Settings) -> Iterator[Session]:
    """A session that commits when the block ends and rolls back if it raises."""
    get_engine(settings)
    with _factories[database_url(settings)].begin() as session:
        yield session
