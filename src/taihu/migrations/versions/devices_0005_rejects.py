"""Device hub: the record of refused messages (a count per reason, the last few per device).

Revision ID: devices_0005
Revises: devices_0004
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from taihu.core import UTCDateTime

revision = "devices_0005"
down_revision = "devices_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create device_rejects and device_reject_counts."""
    op.create_table(
        "device_rejects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("code", sa.SmallInteger(), nullable=False),
        sa.Column("transport", sa.String(8), nullable=False),
        sa.Column("topic", sa.String(255), nullable=False),
        sa.Column("detail", sa.String(500), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_device_rejects"),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.id"],
            name="fk_device_rejects_device_id_devices", ondelete="CASCADE",
        ),
    )  # fmt: skip
    op.create_index("ix_device_rejects_device_id", "device_rejects", ["device_id"])
    op.create_table(
        "device_reject_counts",
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("last_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("device_id", "reason", name="pk_device_reject_counts"),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.id"],
            name="fk_device_reject_counts_device_id_devices", ondelete="CASCADE",
        ),
    )  # fmt: skip


def downgrade() -> None:
    """Drop the refusal record (if there: see below)."""
    # On SQLite, DDL is not rolled back with a failed downgrade: when an older revision's
    # downgrade refuses (devices_0004 with two children of one name), these tables are gone
    # while the version still says devices_0005, and the next try must not fail here.
    op.drop_table("device_reject_counts", if_exists=True)
    op.drop_index("ix_device_rejects_device_id", table_name="device_rejects", if_exists=True)
    op.drop_table("device_rejects", if_exists=True)
