"""Alarm notifications: subscriptions per person and the outbox of notifications.

Revision ID: alarms_0002
Revises: alarms_0001
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from taihu.core import JSONType, UTCDateTime

revision = "alarms_0002"
down_revision = "alarms_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the subscription and outbox tables."""
    op.create_table(
        "alarm_subscriptions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("enterprise_id", sa.Integer, nullable=True),
        sa.Column("min_severity", sa.String(16), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("target", sa.String(500), nullable=False),
        sa.Column("secret", sa.String(128), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_alarm_subscriptions_user_id_users",
            ondelete="CASCADE",
        ),
    )  # fmt: skip
    op.create_index("ix_alarm_subscriptions_user_id", "alarm_subscriptions", ["user_id"])
    op.create_table(
        "alarm_notifications",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("subscription_id", sa.Integer, nullable=False),
        sa.Column("alarm_id", sa.Integer, nullable=False),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("payload", JSONType, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("next_at", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("read_at", UTCDateTime(), nullable=True),
        sa.Column("error", sa.String(500), nullable=True),
        sa.ForeignKeyConstraint(
            ["subscription_id"], ["alarm_subscriptions.id"],
            name="fk_alarm_notifications_subscription_id_alarm_subscriptions", ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["alarm_id"], ["alarms.id"], name="fk_alarm_notifications_alarm_id_alarms",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("subscription_id", "alarm_id", "event", name="uq_alarm_notification"),
    )  # fmt: skip
    op.create_index(
        "ix_alarm_notifications_subscription_id", "alarm_notifications", ["subscription_id"]
    )
    op.create_index("ix_alarm_notifications_due", "alarm_notifications", ["status", "next_at"])


def downgrade() -> None:
    """Drop the notification tables."""
    for table in ("alarm_notifications", "alarm_subscriptions"):
        op.drop_table(table, if_exists=True)
