"""Alert subscriptions, events, the delivery log, and source run outcomes.

Revision ID: 0005_alerts
Revises: 0004_takedown_answers
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

from core.store.models import UTCDateTime

revision = "0005_alerts"
down_revision = "0004_takedown_answers"
branch_labels = None
depends_on = None

EVENTS = "event IN ('new_offer', 'relisting', 'saved_search', 'overdue', 'source_failed', 'task_failed')"


def upgrade() -> None:
    op.create_table(
        "alert_subscriptions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("filter", sa.Text()),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("body_format", sa.String(16), nullable=False),
        sa.Column("digest", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_digest_at", UTCDateTime()),
        sa.CheckConstraint(EVENTS, name="ck_alert_subscriptions_event"),
        sa.CheckConstraint("channel IN ('email', 'webhook')", name="ck_alert_subscriptions_channel"),
        sa.CheckConstraint("body_format IN ('json', 'slack')", name="ck_alert_subscriptions_body_format"),
        sa.CheckConstraint("digest IN ('none', 'hourly', 'daily')", name="ck_alert_subscriptions_digest"),
    )
    op.create_index("ix_alert_subscriptions_user_id", "alert_subscriptions", ["user_id"])
    op.create_table(
        "alert_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(512), nullable=False, unique=True),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.Column("owner_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE")),
        sa.Column("data", sa.Text(), nullable=False),
    )
    op.create_index("ix_alert_events_event", "alert_events", ["event"])
    op.create_table(
        "alert_deliveries",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "subscription_id",
            sa.Integer(),
            sa.ForeignKey("alert_subscriptions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("event_id", sa.Integer(), sa.ForeignKey("alert_events.id", ondelete="CASCADE"), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("last_error", sa.Text()),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime()),
        sa.UniqueConstraint("subscription_id", "event_id", name="uq_alert_deliveries_once"),
        sa.CheckConstraint("status IN ('pending', 'sent', 'dead')", name="ck_alert_deliveries_status"),
    )
    op.create_index("ix_alert_deliveries_event_id", "alert_deliveries", ["event_id"])
    op.create_index("ix_alert_deliveries_status_next", "alert_deliveries", ["status", "next_attempt_at"])
    op.create_table(
        "source_run_outcomes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("source", sa.String(128), nullable=False),
        sa.Column("run_key", sa.String(64), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("listings", sa.Integer(), nullable=False),
        sa.Column("flagged", sa.Integer(), nullable=False),
        sa.Column("new_flagged", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text()),
        sa.UniqueConstraint("source", "run_key", name="uq_source_run_outcomes_run"),
    )
    op.create_index("ix_source_run_outcomes_source", "source_run_outcomes", ["source"])


def downgrade() -> None:
    for table in ("source_run_outcomes", "alert_deliveries", "alert_events", "alert_subscriptions"):
        op.drop_table(table)
