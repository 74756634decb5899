"""Monitor: the day columns (one packed row per day) and the triggers that mark changed days.

Revision ID: monitor_0002
Revises: monitor_0001
Create Date: 2026-12-03
"""

from __future__ import annotations

from itertools import groupby

import numpy as np
import sqlalchemy as sa
from alembic import op

revision = "monitor_0002"
down_revision = "monitor_0001"
branch_labels = None
depends_on = None

# Fixed here (not imported) so this revision keeps meaning what it meant when written.
_TRIGGERS = ("monitor_power_days_dirty_ins", "monitor_power_days_dirty_upd",
             "monitor_power_days_dirty_del")  # fmt: skip
_SQLITE = [
    """CREATE TRIGGER monitor_power_days_dirty_ins AFTER INSERT ON monitor_power_days
    BEGIN INSERT OR IGNORE INTO monitor_power_dirty_days (day) VALUES (NEW.day); END""",
    """CREATE TRIGGER monitor_power_days_dirty_upd
    AFTER UPDATE OF enterprise_id, day, kwh ON monitor_power_days
    BEGIN
        INSERT OR IGNORE INTO monitor_power_dirty_days (day) VALUES (OLD.day);
        INSERT OR IGNORE INTO monitor_power_dirty_days (day) VALUES (NEW.day);
    END""",
    """CREATE TRIGGER monitor_power_days_dirty_del AFTER DELETE ON monitor_power_days
    BEGIN INSERT OR IGNORE INTO monitor_power_dirty_days (day) VALUES (OLD.day); END""",
]
# Statement triggers with transition tables: one insert of the distinct days per statement,
# however many rows it wrote (a year's import is millions of rows).
_POSTGRESQL = [
    """CREATE FUNCTION monitor_power_days_dirty() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP IN ('INSERT', 'UPDATE') THEN
            INSERT INTO monitor_power_dirty_days (day)
            SELECT DISTINCT day FROM new_rows ORDER BY day ON CONFLICT DO NOTHING;
        END IF;
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
            INSERT INTO monitor_power_dirty_days (day)
            SELECT DISTINCT day FROM old_rows ORDER BY day ON CONFLICT DO NOTHING;
        END IF;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER monitor_power_days_dirty_ins AFTER INSERT ON monitor_power_days
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION monitor_power_days_dirty()""",
    """CREATE TRIGGER monitor_power_days_dirty_upd AFTER UPDATE ON monitor_power_days
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION monitor_power_days_dirty()""",
    """CREATE TRIGGER monitor_power_days_dirty_del AFTER DELETE ON monitor_power_days
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION monitor_power_days_dirty()""",
]


def _build_columns() -> None:
    """Pack the power already stored, a month of days per query."""
    bind = op.get_bind()
    days = [d for (d,) in bind.execute(sa.text(
        "SELECT DISTINCT day FROM monitor_power_days ORDER BY day"))]  # fmt: skip
    columns = sa.table(
        "monitor_power_columns",
        sa.column("day", sa.Date()),
        sa.column("ids", sa.LargeBinary()),
        sa.column("kwh", sa.LargeBinary()),
    )
    select = sa.text(
        "SELECT day, enterprise_id, kwh FROM monitor_power_days WHERE day IN :days "
        "ORDER BY day, enterprise_id"
    ).bindparams(sa.bindparam("days", expanding=True))
    typed = select.columns(sa.column("day", sa.Date()), sa.column("enterprise_id", sa.Integer()),
                           sa.column("kwh", sa.Float()))  # fmt: skip
    for start in range(0, len(days), 31):
        rows = bind.execute(typed, {"days": days[start : start + 31]}).all()
        packed = []
        for day, group in groupby(rows, key=lambda r: r[0]):
            members = list(group)
            packed.append({
                "day": day,
                "ids": np.array([r[1] for r in members], dtype="<i8").tobytes(),
                "kwh": np.array([r[2] for r in members], dtype="<f8").tobytes(),
            })  # fmt: skip
        if packed:
            bind.execute(sa.insert(columns), packed)


def upgrade() -> None:
    """Create the day columns and the dirty days, fill the columns, install the triggers."""
    op.create_table(
        "monitor_power_columns",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("ids", sa.LargeBinary(), nullable=False),
        sa.Column("kwh", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("day", name="pk_monitor_power_columns"),
    )
    op.create_table(
        "monitor_power_dirty_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("day", name="pk_monitor_power_dirty_days"),
    )
    _build_columns()
    for statement in _POSTGRESQL if op.get_bind().dialect.name == "postgresql" else _SQLITE:
        op.execute(statement)


def downgrade() -> None:
    """Drop the triggers and both tables."""
    postgresql = op.get_bind().dialect.name == "postgresql"
    for trigger in _TRIGGERS:
        op.execute(
            f"DROP TRIGGER IF EXISTS {trigger}" + (" ON monitor_power_days" if postgresql else "")
        )
    if postgresql:
        op.execute("DROP FUNCTION IF EXISTS monitor_power_days_dirty()")
    op.drop_table("monitor_power_dirty_days")
    op.drop_table("monitor_power_columns")
