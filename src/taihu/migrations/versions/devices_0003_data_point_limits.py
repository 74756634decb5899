"""Device hub: a per-profile limit on telemetry data points (ThingsBoard's telemetryDataPoints).

Revision ID: devices_0003
Revises: devices_0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "devices_0003"
down_revision = "devices_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add device_profiles.data_point_limits (empty: no limit)."""
    with op.batch_alter_table("device_profiles") as batch:
        batch.add_column(
            sa.Column("data_point_limits", sa.String(200), nullable=False, server_default="")
        )


def downgrade() -> None:
    """Drop device_profiles.data_point_limits."""
    with op.batch_alter_table("device_profiles") as batch:
        batch.drop_column("data_point_limits")
