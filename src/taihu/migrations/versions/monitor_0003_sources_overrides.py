"""Monitor: the readings' sources in the day columns, and per-enterprise baseline windows.

A day's baseline comes from the same source as its reading (grid file or meters), so the day
columns carry each reading's source; they are rebuilt here. A change of source alone now marks
the day dirty on SQLite too (PostgreSQL's statement trigger sees every update already).

Revision ID: monitor_0003
Revises: monitor_0002
Create Date: 2026-12-06
"""

from __future__ import annotations

from itertools import groupby

import numpy as np
import sqlalchemy as sa
from alembic import op

from taihu.core import UTCDateTime

revision = "monitor_0003"
down_revision = "monitor_0002"
branch_labels = None
depends_on = None

_UPDATE_TRIGGER = """CREATE TRIGGER monitor_power_days_dirty_upd
    AFTER UPDATE OF enterprise_id, day, kwh{source} ON monitor_power_days
    BEGIN
        INSERT OR IGNORE INTO monitor_power_dirty_days (day) VALUES (OLD.day);
        INSERT OR IGNORE INTO monitor_power_dirty_days (day) VALUES (NEW.day);
    END"""


def _rebuild_columns() -> None:
    """Pack the stored power again, sources included, a month of days per query."""
    bind = op.get_bind()
    bind.execute(sa.text("DELETE FROM monitor_power_columns"))
    days = [d for (d,) in bind.execute(sa.text(
        "SELECT DISTINCT day FROM monitor_power_days ORDER BY day"))]  # fmt: skip
    columns = sa.table(
        "monitor_power_columns",
        sa.column("day", sa.Date()),
        sa.column("ids", sa.LargeBinary()),
        sa.column("kwh", sa.LargeBinary()),
        sa.column("meter", sa.LargeBinary()),
    )
    select = sa.text(
        "SELECT day, enterprise_id, kwh, source FROM monitor_power_days WHERE day IN :days "
        "ORDER BY day, enterprise_id"
    ).bindparams(sa.bindparam("days", expanding=True))
    typed = select.columns(
        sa.column("day", sa.Date()), sa.column("enterprise_id", sa.Integer()),
        sa.column("kwh", sa.Float()), sa.column("source", sa.String()),
    )  # fmt: skip
    for start in range(0, len(days), 31):
        rows = bind.execute(typed, {"days": days[start : start + 31]}).all()
        packed = []
        for day, group in groupby(rows, key=lambda r: r[0]):
            members = list(group)
            packed.append({
                "day": day,
                "ids": np.array([r[1] for r in members], dtype="<i8").tobytes(),
                "kwh": np.array([r[2] for r in members], dtype="<f8").tobytes(),
                "meter": np.array([r[3] == "meter" for r in members], dtype="u1").tobytes(),
            })  # fmt: skip
        if packed:
            bind.execute(sa.insert(columns), packed)
    bind.execute(sa.text("DELETE FROM monitor_power_dirty_days"))


def upgrade() -> None:
    """Add the sources to the columns (rebuilt), the trigger on source, the overrides table."""
    with op.batch_alter_table("monitor_power_columns") as batch:
        batch.add_column(sa.Column("meter", sa.LargeBinary(), nullable=False,
                                   server_default=sa.text("X''")
                                   if op.get_bind().dialect.name == "sqlite"
                                   else sa.text("'\\x'::bytea")))  # fmt: skip
    _rebuild_columns()
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS monitor_power_days_dirty_upd")
        op.execute(_UPDATE_TRIGGER.format(source=", source"))
    op.create_table(
        "monitor_baseline_overrides",
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("end", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(300), nullable=False),
        sa.Column("set_by", sa.String(128), nullable=False),
        sa.Column("set_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["enterprise_id"], ["enterprises.id"], ondelete="CASCADE",
                                name="fk_monitor_baseline_overrides_enterprise_id_enterprises"),
        sa.PrimaryKeyConstraint("enterprise_id", name="pk_monitor_baseline_overrides"),
    )  # fmt: skip


def downgrade() -> None:
    """Drop the overrides and the sources (the SQLite trigger as before)."""
    op.drop_table("monitor_baseline_overrides")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS monitor_power_days_dirty_upd")
        op.execute(_UPDATE_TRIGGER.format(source=""))
    with op.batch_alter_table("monitor_power_columns") as batch:
        batch.drop_column("meter")
