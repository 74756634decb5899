"""Identifiers: each record's anonymous Handle RESOLUTION answer, encoded, kept beside it.

Revision ID: identifiers_0003
Revises: identifiers_0002
Create Date: 2026-12-03

Rows stored before this revision have no answer (NULL) and are rendered by the resolver, as
are rows any statement rewrites without one: the triggers below set it to NULL whenever the
record changes and the answer does not, so a hand-written UPDATE can never leave a stale one.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "identifiers_0003"
down_revision = "identifiers_0002"
branch_labels = None
depends_on = None

_SQLITE = """CREATE TRIGGER id_handles_wire_stale AFTER UPDATE OF record ON id_handles
    WHEN NEW.record IS NOT OLD.record AND NEW.wire IS OLD.wire
    BEGIN UPDATE id_handles SET wire = NULL WHERE id = NEW.id; END"""
_POSTGRESQL = [
    """CREATE FUNCTION id_handles_wire_stale() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NEW.record IS DISTINCT FROM OLD.record AND NEW.wire IS NOT DISTINCT FROM OLD.wire THEN
            NEW.wire := NULL;
        END IF;
        RETURN NEW;
    END $$""",
    """CREATE TRIGGER id_handles_wire_stale BEFORE UPDATE OF record ON id_handles
    FOR EACH ROW EXECUTE FUNCTION id_handles_wire_stale()""",
]


def upgrade() -> None:
    """Add the answer column and the trigger that clears a stale answer."""
    op.add_column("id_handles", sa.Column("wire", sa.LargeBinary(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        for statement in _POSTGRESQL:
            op.execute(statement)
    else:
        op.execute(_SQLITE)


def downgrade() -> None:
    """Drop the trigger and the column."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS id_handles_wire_stale ON id_handles")
        op.execute("DROP FUNCTION IF EXISTS id_handles_wire_stale()")
    else:
        op.execute("DROP TRIGGER IF EXISTS id_handles_wire_stale")
    with op.batch_alter_table("id_handles") as batch:
        batch.drop_column("wire")
