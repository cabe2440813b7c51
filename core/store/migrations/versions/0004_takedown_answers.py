"""Platform answers: packet tickets, responses, appeals, and the cause of each removal.

Revision ID: 0004_takedown_answers
Revises: 0003_credentials
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

from core.store.models import UTCDateTime

revision = "0004_takedown_answers"
down_revision = "0003_credentials"
branch_labels = None
depends_on = None

DECISIONS = "decision IN ('removed', 'restricted', 'geo_blocked', 'declined', 'no_response')"


def upgrade() -> None:
    with op.batch_alter_table("takedown_items") as batch:
        batch.add_column(sa.Column("substances", sa.Text()))
        batch.add_column(sa.Column("removal_cause", sa.String(16)))
    with op.batch_alter_table("takedown_packets") as batch:
        batch.add_column(sa.Column("ticket", sa.String(200)))
    with op.batch_alter_table("takedown_checks") as batch:
        batch.add_column(sa.Column("cause", sa.String(16)))
    op.create_table(
        "takedown_responses",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("item_id", sa.Integer(), sa.ForeignKey("takedown_items.id"), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("grounds", sa.Text()),
        sa.Column("countries", sa.Text()),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("recorded_by", sa.String(128), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(DECISIONS, name="ck_takedown_responses_decision"),
    )
    op.create_index("ix_takedown_responses_item_id", "takedown_responses", ["item_id"])
    op.create_table(
        "takedown_appeals",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("item_id", sa.Integer(), sa.ForeignKey("takedown_items.id"), nullable=False),
        sa.Column("response_id", sa.Integer(), sa.ForeignKey("takedown_responses.id"), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("filed_at", UTCDateTime(), nullable=False),
        sa.Column("deadline", UTCDateTime(), nullable=False),
        sa.Column("filed_by", sa.String(128), nullable=False),
    )
    op.create_index("ix_takedown_appeals_item_id", "takedown_appeals", ["item_id"])


def downgrade() -> None:
    op.drop_table("takedown_appeals")
    op.drop_table("takedown_responses")
    for table, column in (
        ("takedown_checks", "cause"),
        ("takedown_packets", "ticket"),
        ("takedown_items", "removal_cause"),
    ):
        with op.batch_alter_table(table) as batch:
            batch.drop_column(column)
