"""Takedown items, their append-only audit log, packets and removal checks.

Revision ID: 0002_takedown
Revises: 0001
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

from core.store.models import UTCDateTime

revision = "0002_takedown"
down_revision = "0001"
branch_labels = None
depends_on = None

STATUSES = "status IN ('new', 'queued', 'reported', 'removed', 'still_live', 'reinstated', 'rejected')"


def upgrade() -> None:
    op.create_table(
        "takedown_items",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("listing_id", sa.String(64), nullable=False, unique=True),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("platform", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("reported_at", UTCDateTime()),
        sa.Column("removed_at", UTCDateTime()),
        sa.Column("last_checked_at", UTCDateTime()),
        sa.Column("relist_of_id", sa.Integer(), sa.ForeignKey("takedown_items.id")),
        sa.Column("relist_reason", sa.Text()),
        sa.CheckConstraint(STATUSES, name="ck_takedown_items_status"),
    )
    op.create_index("ix_takedown_items_platform_status", "takedown_items", ["platform", "status"])
    op.create_table(
        "takedown_audit",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("item_id", sa.Integer(), sa.ForeignKey("takedown_items.id"), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("from_status", sa.String(16)),
        sa.Column("to_status", sa.String(16), nullable=False),
        sa.Column("note", sa.Text()),
    )
    op.create_index("ix_takedown_audit_item_id", "takedown_audit", ["item_id"])
    op.create_table(
        "takedown_packets",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("platform", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("zip_sha256", sa.String(64), nullable=False),
        sa.Column("packet_sha256", sa.String(64), nullable=False),
        sa.Column("timestamped", sa.Boolean(), nullable=False),
        sa.Column("sent_at", UTCDateTime()),
        sa.Column("sent_by", sa.String(128)),
    )
    op.create_index("ix_takedown_packets_platform", "takedown_packets", ["platform"])
    op.create_table(
        "takedown_packet_items",
        sa.Column(
            "packet_id", sa.String(128), sa.ForeignKey("takedown_packets.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("item_id", sa.Integer(), sa.ForeignKey("takedown_items.id", ondelete="CASCADE"), primary_key=True),
    )
    op.create_table(
        "takedown_checks",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("item_id", sa.Integer(), sa.ForeignKey("takedown_items.id"), nullable=False),
        sa.Column("checked_at", UTCDateTime(), nullable=False),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text()),
        sa.Column("http_status", sa.Integer()),
        sa.Column("final_url", sa.Text()),
        sa.Column("warc_file", sa.Text()),
        sa.Column("warc_record_id", sa.String(128)),
        sa.Column("body_sha256", sa.String(64)),
    )
    op.create_index("ix_takedown_checks_item_id", "takedown_checks", ["item_id"])


def downgrade() -> None:
    for table in ("takedown_checks", "takedown_packet_items", "takedown_packets", "takedown_audit", "takedown_items"):
        op.drop_table(table)
