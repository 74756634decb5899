"""Alarms: rules, alarms (one active per device and rule), their history, device presence.

Revision ID: alarms_0001
Revises: devices_0006
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from taihu.core import JSONType, UTCDateTime

revision = "alarms_0001"
down_revision = "devices_0006"
branch_labels = ("alarms",)
depends_on = None

_ACTIVE = sa.text("cleared_at IS NULL")


def _device_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["device_id"], ["devices.id"], name=f"fk_{table}_device_id_devices", ondelete="CASCADE"
    )


def upgrade() -> None:
    """Create the alarm tables."""
    op.create_table(
        "alarm_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("profile_id", sa.Integer(), nullable=True),
        sa.Column("device_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("spec", JSONType, nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_alarm_rules"),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["device_profiles.id"],
            name="fk_alarm_rules_profile_id_device_profiles",
            ondelete="CASCADE",
        ),
        _device_fk("alarm_rules"),
        sa.CheckConstraint(
            "(profile_id IS NULL) <> (device_id IS NULL)", name="ck_alarm_rules_one_owner"
        ),
    )
    op.create_index("ix_alarm_rules_profile_id", "alarm_rules", ["profile_id"])
    op.create_index("ix_alarm_rules_device_id", "alarm_rules", ["device_id"])
    op.create_table(
        "alarms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("first_value", sa.Float(), nullable=True),
        sa.Column("last_value", sa.Float(), nullable=True),
        sa.Column("escalated", sa.Boolean(), nullable=False),
        sa.Column("acknowledged_at", UTCDateTime(), nullable=True),
        sa.Column("acknowledged_by", sa.String(128), nullable=True),
        sa.Column("ack_comment", sa.String(500), nullable=True),
        sa.Column("cleared_at", UTCDateTime(), nullable=True),
        sa.Column("cleared_by", sa.String(128), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_alarms"),
        _device_fk("alarms"),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["alarm_rules.id"],
            name="fk_alarms_rule_id_alarm_rules",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_alarms_device_id", "alarms", ["device_id"])
    op.create_index("ix_alarms_enterprise_started", "alarms", ["enterprise_id", "started_at"])
    op.create_index(
        "uq_alarms_active",
        "alarms",
        ["device_id", "rule_id"],
        unique=True,
        sqlite_where=_ACTIVE,
        postgresql_where=_ACTIVE,
    )
    op.create_table(
        "alarm_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alarm_id", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("actor", sa.String(128), nullable=True),
        sa.Column("comment", sa.String(500), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_alarm_events"),
        sa.ForeignKeyConstraint(
            ["alarm_id"], ["alarms.id"], name="fk_alarm_events_alarm_id_alarms", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_alarm_events_alarm_id", "alarm_events", ["alarm_id"])
    op.create_table(
        "device_presence",
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("since", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("device_id", name="pk_device_presence"),
        _device_fk("device_presence"),
    )
    op.create_table(
        "device_presence_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_device_presence_events"),
        _device_fk("device_presence_events"),
    )
    op.create_index(
        "ix_device_presence_events_device_at", "device_presence_events", ["device_id", "at"]
    )


def downgrade() -> None:
    """Drop the alarm tables."""
    # IF EXISTS: on SQLite a DROP outside a transaction is not undone when a later step of the
    # same downgrade fails (devices_0004 refusing duplicate names), so a retry finds them gone.
    for table in (
        "device_presence_events",
        "device_presence",
        "alarm_events",
        "alarms",
        "alarm_rules",
    ):
        op.drop_table(table, if_exists=True)
