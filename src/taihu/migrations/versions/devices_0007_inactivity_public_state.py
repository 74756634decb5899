"""Device hub: a profile's inactivity timeout; a device's public-state flag, identifier index.

Revision ID: devices_inactivity_public_state
Revises: devices_0006
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "devices_inactivity_public_state"
down_revision = "devices_0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add device_profiles.inactivity_timeout, devices.public_state, an index on identifier."""
    with op.batch_alter_table("device_profiles") as batch:
        batch.add_column(sa.Column("inactivity_timeout", sa.Integer(), nullable=True))
    with op.batch_alter_table("devices") as batch:
        batch.add_column(
            sa.Column("public_state", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_index("ix_devices_identifier", "devices", ["identifier"])


def downgrade() -> None:
    """Drop them again."""
    op.drop_index("ix_devices_identifier", table_name="devices")
    with op.batch_alter_table("devices") as batch:
        batch.drop_column("public_state")
    with op.batch_alter_table("device_profiles") as batch:
        batch.drop_column("inactivity_timeout")
