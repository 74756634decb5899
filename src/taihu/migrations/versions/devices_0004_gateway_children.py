"""Device hub: child device names scoped per gateway; profiles record the enterprise that made them.

Before, a device name was unique within its enterprise, so two gateways announcing a ``PLC-1``
shared one device. Now a child's name is unique among its gateway's children and every other
device's name within its enterprise. Existing rows satisfy both (they were unique per
enterprise), and every child keeps its gateway.

SQLite cannot drop a table constraint without rebuilding the table, and dropping the old
``devices`` table with foreign keys on would cascade to tokens and attributes and clear every
child's gateway; they are set aside and put back within the same transaction.

Revision ID: devices_0004
Revises: devices_0003
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "devices_0004"
down_revision = "devices_0003"
branch_labels = None
depends_on = None

_STANDALONE = sa.text("gateway_id IS NULL")
# What a rebuild of ``devices`` on SQLite would lose: (temporary table, what it keeps, restore).
_KEPT = (
    ("_keep_device_tokens", "SELECT * FROM device_tokens", "device_tokens"),
    ("_keep_device_attributes", "SELECT * FROM device_attributes", "device_attributes"),
    ("_keep_device_links", "SELECT id, gateway_id FROM devices WHERE gateway_id IS NOT NULL", None),
)


def _set_aside() -> None:
    for keep, select, _ in _KEPT:
        op.execute(f"CREATE TEMP TABLE {keep} AS {select}")


def _put_back() -> None:
    for keep, _, table in _KEPT:
        if table is not None:
            # Whatever the cascade left goes, then all of it comes back. (The table names are
            # this module's constants.)
            op.execute(f"DELETE FROM {table}")  # noqa: S608
            op.execute(f"INSERT INTO {table} SELECT * FROM {keep}")  # noqa: S608
    op.execute(
        "UPDATE devices SET gateway_id = (SELECT k.gateway_id FROM _keep_device_links k "
        "WHERE k.id = devices.id) WHERE id IN (SELECT id FROM _keep_device_links)"
    )
    for keep, _, _ in _KEPT:
        op.execute(f"DROP TABLE {keep}")


def _rebuild_devices(drop: str, create: tuple[str, list[str]]) -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        _set_aside()
    with op.batch_alter_table("devices") as batch:
        batch.drop_constraint(drop, type_="unique")
        batch.create_unique_constraint(create[0], create[1])
    if sqlite:
        _put_back()


def upgrade() -> None:
    """Scope child names per gateway; add device_profiles.created_by_enterprise_id."""
    op.add_column("device_profiles", sa.Column("created_by_enterprise_id", sa.Integer()))
    _rebuild_devices(
        "uq_devices_enterprise_id_name", ("uq_devices_gateway_id_name", ["gateway_id", "name"])
    )
    op.create_index(
        "uq_devices_standalone_name", "devices", ["enterprise_id", "name"], unique=True,
        sqlite_where=_STANDALONE, postgresql_where=_STANDALONE,
    )  # fmt: skip


def downgrade() -> None:
    """Names unique per enterprise again: refused while two devices of one share a name."""
    twins = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT enterprise_id, name FROM devices GROUP BY enterprise_id, name "
                "HAVING COUNT(*) > 1 ORDER BY enterprise_id, name"
            )
        )
        .first()
    )
    if twins is not None:
        raise RuntimeError(
            f"cannot downgrade devices_0004: enterprise {twins[0]} has more than one device "
            f"named {twins[1]!r} (children of different gateways); rename them first"
        )
    op.drop_index("uq_devices_standalone_name", table_name="devices")
    _rebuild_devices(
        "uq_devices_gateway_id_name", ("uq_devices_enterprise_id_name", ["enterprise_id", "name"])
    )
    op.drop_column("device_profiles", "created_by_enterprise_id")
