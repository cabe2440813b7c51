"""Alembic environment: runs on the connection `core.store.db.upgrade` hands over.

Run by hand with `alembic -x url=sqlite:///var/listingwatch.db ...` from this directory's
parent when writing a new revision (`alembic revision --autogenerate -m "..."`).
"""

from alembic import context
from sqlalchemy import create_engine

from core.store import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = context.get_x_argument(as_dictionary=True).get("url")
    if not url:
        raise SystemExit("pass the database URL: alembic -x url=sqlite:///var/listingwatch.db ...")
    with create_engine(url).connect() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
