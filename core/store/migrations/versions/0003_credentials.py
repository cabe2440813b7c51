"""Credential lifecycle: session generations, token expiry, the authentication log.

Revision ID: 0003_credentials
Revises: 0002_takedown
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

from core.store.models import UTCDateTime

revision = "0003_credentials"
down_revision = "0002_takedown"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("session_generation", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("users") as batch:
        batch.alter_column("session_generation", server_default=None)
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("expires_at", UTCDateTime(), nullable=True))
    op.create_table(
        "auth_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("user_name", sa.String(128), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("detail", sa.String(200), nullable=True),
    )
    op.create_index("ix_auth_events_at", "auth_events", ["at"])


def downgrade() -> None:
    op.drop_index("ix_auth_events_at", table_name="auth_events")
    op.drop_table("auth_events")
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("expires_at")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("session_generation")
