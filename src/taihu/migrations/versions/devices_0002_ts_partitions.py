"""Device hub: raw points in weekly range partitions on PostgreSQL (SQLite: unchanged).

Revision ID: devices_0002
Revises: devices_0001
Create Date: 2026-11-25

``ts_points`` becomes ``PARTITION BY RANGE (ts)`` with a default partition; the weeks holding
existing points are created here and the points copied over. Later weeks are created by the
store as data arrives and by the retention job ahead of time (taihu.devices.partitions).
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "devices_0002"
down_revision = "devices_0001"
branch_labels = None
depends_on = None

# Fixed here (not imported) so this revision keeps meaning what it meant when written.
_WEEK_MS = 7 * 86_400_000
_MONDAY_MS = 4 * 86_400_000
_COLUMNS = (
    "device_id integer NOT NULL, key varchar(255) NOT NULL, ts bigint NOT NULL, "
    "kind smallint NOT NULL, num double precision, txt text"
)


def _week_name(start: int) -> str:
    return "ts_points_w" + datetime.fromtimestamp(start / 1000, UTC).strftime("%Y%m%d")


def upgrade() -> None:
    """Partition ts_points by week on PostgreSQL."""
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE ts_points RENAME TO ts_points_plain")
    op.execute("ALTER TABLE ts_points_plain RENAME CONSTRAINT pk_ts_points TO pk_ts_points_plain")
    op.execute(
        f"CREATE TABLE ts_points ({_COLUMNS}, "
        "CONSTRAINT pk_ts_points PRIMARY KEY (device_id, key, ts)) PARTITION BY RANGE (ts)"
    )
    op.execute("CREATE TABLE ts_points_default PARTITION OF ts_points DEFAULT")
    lo, hi = bind.execute(sa.text("SELECT min(ts), max(ts) FROM ts_points_plain")).one()
    if lo is not None:
        start = lo - (lo - _MONDAY_MS) % _WEEK_MS
        while start <= hi:
            # Only integers are formatted into the statement.
            op.execute(
                f"CREATE TABLE {_week_name(start)} PARTITION OF ts_points "
                f"FOR VALUES FROM ({start}) TO ({start + _WEEK_MS})"
            )
            start += _WEEK_MS
    op.execute(
        "INSERT INTO ts_points SELECT device_id, key, ts, kind, num, txt FROM ts_points_plain"
    )
    op.execute("DROP TABLE ts_points_plain")


def downgrade() -> None:
    """Back to one plain ts_points table on PostgreSQL."""
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE ts_points RENAME TO ts_points_partitioned")
    op.execute(
        "ALTER TABLE ts_points_partitioned RENAME CONSTRAINT pk_ts_points "
        "TO pk_ts_points_partitioned"
    )
    op.execute(
        f"CREATE TABLE ts_points ({_COLUMNS}, "
        "CONSTRAINT pk_ts_points PRIMARY KEY (device_id, key, ts))"
    )
    op.execute(
        "INSERT INTO ts_points SELECT device_id, key, ts, kind, num, txt FROM ts_points_partitioned"
    )
    op.execute("DROP TABLE ts_points_partitioned")  # and its partitions with it
