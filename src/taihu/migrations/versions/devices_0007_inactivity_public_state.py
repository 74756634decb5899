"""Device hub: a profile's inactivity timeout; a device's public-state flag, identifier index.

Revision ID: devices_0007
Revises: devices_0006
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "devices_0007"
down_revision = "devices_0006"
branch_labels = None
depends_on = None


# Plain ALTER TABLE … ADD / DROP COLUMN on both databases (SQLite 3.35+), never a batch
# rebuild: rebuilding `devices` on SQLite drops the table, and its ON DELETE CASCADE children
# (tokens, attributes, telemetry) would go with it.


def upgrade() -> None:
    """Add device_profiles.inactivity_timeout, devices.public_state, an index on identifier."""
    op.add_column("device_profiles", sa.Column("inactivity_timeout", sa.Integer(), nullable=True))
    op.add_column(
        "devices",
        sa.Column("public_state", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_index("ix_devices_identifier", "devices", ["identifier"])


def downgrade() -> None:
    """Drop them again."""
    op.drop_index("ix_devices_identifier", table_name="devices")
    op.drop_column("devices", "public_state")
    op.drop_column("device_profiles", "inactivity_timeout")
