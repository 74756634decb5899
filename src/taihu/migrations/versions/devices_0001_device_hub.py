"""Device hub: profiles, devices, access tokens, attributes, time series and rollups.

Revision ID: devices_0001
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from taihu.core import JSONType, UTCDateTime

revision = "devices_0001"
down_revision = "0001"
branch_labels = ("devices",)
depends_on = None


def _series() -> tuple[sa.Column[int], sa.Column[str]]:
    return (
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
    )


def upgrade() -> None:
    """Create the device hub's tables."""
    op.create_table(
        "device_profiles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("description", sa.String(500), nullable=False),
        sa.Column("telemetry_keys", JSONType, nullable=False),
        sa.Column("retention_days", sa.Integer(), nullable=False),
        sa.Column("rate_limits", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_device_profiles"),
        sa.UniqueConstraint("name", name="uq_device_profiles_name"),
    )
    op.create_table(
        "devices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("profile_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("gateway_id", sa.Integer(), nullable=True),
        sa.Column("identifier", sa.String(255), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_devices"),
        sa.ForeignKeyConstraint(
            ["enterprise_id"], ["enterprises.id"],
            name="fk_devices_enterprise_id_enterprises", ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["profile_id"], ["device_profiles.id"], name="fk_devices_profile_id_device_profiles"
        ),
        sa.ForeignKeyConstraint(
            ["gateway_id"], ["devices.id"], name="fk_devices_gateway_id_devices",
            ondelete="SET NULL",
        ),
        sa.UniqueConstraint("enterprise_id", "name", name="uq_devices_enterprise_id_name"),
    )  # fmt: skip
    op.create_index("ix_devices_enterprise_id", "devices", ["enterprise_id"])
    op.create_index("ix_devices_profile_id", "devices", ["profile_id"])
    op.create_index("ix_devices_gateway_id", "devices", ["gateway_id"])
    op.create_table(
        "device_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_device_tokens"),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.id"], name="fk_device_tokens_device_id_devices",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("token_hash", name="uq_device_tokens_token_hash"),
    )  # fmt: skip
    op.create_index("ix_device_tokens_device_id", "device_tokens", ["device_id"])
    op.create_table(
        "device_attributes",
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(8), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("value", JSONType, nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("device_id", "scope", "key", name="pk_device_attributes"),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.id"], name="fk_device_attributes_device_id_devices",
            ondelete="CASCADE",
        ),
    )  # fmt: skip
    op.create_table(
        "ts_points",
        *_series(),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.SmallInteger(), nullable=False),
        sa.Column("num", sa.Float(), nullable=True),
        sa.Column("txt", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("device_id", "key", "ts", name="pk_ts_points"),
    )
    op.create_table(
        "ts_latest",
        *_series(),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.SmallInteger(), nullable=False),
        sa.Column("num", sa.Float(), nullable=True),
        sa.Column("txt", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("device_id", "key", name="pk_ts_latest"),
    )
    op.create_table(
        "ts_rollups",
        *_series(),
        sa.Column("period", sa.Integer(), nullable=False),
        sa.Column("start_ts", sa.BigInteger(), nullable=False),
        sa.Column("min", sa.Float(), nullable=False),
        sa.Column("max", sa.Float(), nullable=False),
        sa.Column("sum", sa.Float(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("device_id", "key", "period", "start_ts", name="pk_ts_rollups"),
    )


def downgrade() -> None:
    """Drop the device hub's tables."""
    for table in (
        "ts_rollups", "ts_latest", "ts_points", "device_attributes", "device_tokens", "devices",
        "device_profiles",
    ):  # fmt: skip
        op.drop_table(table)
