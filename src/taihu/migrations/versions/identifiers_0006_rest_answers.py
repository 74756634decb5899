"""Identifiers: each record's anonymous REST answer (the JSON body) kept beside it, as ``wire``.

Revision ID: identifiers_0006
Revises: identifiers_0004_documents
Create Date: 2026-12-06

Rows stored before this revision have no answer (NULL) and are rendered by the resolver, as
are rows any statement rewrites without one: the triggers below set it to NULL whenever the
record changes and the answer does not, so a hand-written UPDATE can never leave a stale one.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "identifiers_0006"
down_revision = "identifiers_0004_documents"
branch_labels = None
depends_on = None

_SQLITE = """CREATE TRIGGER id_handles_rest_stale AFTER UPDATE OF record ON id_handles
    WHEN NEW.record IS NOT OLD.record AND NEW.rest IS OLD.rest
    BEGIN UPDATE id_handles SET rest = NULL WHERE id = NEW.id; END"""
_POSTGRESQL = [
    """CREATE FUNCTION id_handles_rest_stale() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NEW.record IS DISTINCT FROM OLD.record AND NEW.rest IS NOT DISTINCT FROM OLD.rest THEN
            NEW.rest := NULL;
        END IF;
        RETURN NEW;
    END $$""",
    """CREATE TRIGGER id_handles_rest_stale BEFORE UPDATE OF record ON id_handles
    FOR EACH ROW EXECUTE FUNCTION id_handles_rest_stale()""",
]


def upgrade() -> None:
    """Add the answer column and the trigger that clears a stale answer."""
    op.add_column("id_handles", sa.Column("rest", sa.LargeBinary(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        for statement in _POSTGRESQL:
            op.execute(statement)
    else:
        op.execute(_SQLITE)


def downgrade() -> None:
    """Drop the trigger and the column."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS id_handles_rest_stale ON id_handles")
        op.execute("DROP FUNCTION IF EXISTS id_handles_rest_stale()")
    else:
        op.execute("DROP TRIGGER IF EXISTS id_handles_rest_stale")
    with op.batch_alter_table("id_handles") as batch:
        batch.drop_column("rest")
