"""Device hub: a refused message's reason kept as a message id and its values.

``device_rejects.detail`` now holds the message id (English, with ``{name}`` fields) and the new
``params`` the values that fill it, so the console and the API show it in the reader's language.
Rows written before keep their English text and no params (shown as written).

Revision ID: devices_0006
Revises: devices_0005
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from taihu.core import JSONType, render_text

revision = "devices_0006"
down_revision = "devices_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add device_rejects.params."""
    op.add_column("device_rejects", sa.Column("params", JSONType, nullable=True))


def downgrade() -> None:
    """Render each message in English into ``detail`` again, then drop device_rejects.params."""
    connection = op.get_bind()
    # On SQLite a failed older downgrade (devices_0004 with two children of one name) leaves
    # the tables of devices_0005 gone while the version still says this one: nothing to undo.
    columns = (
        sa.inspect(connection).get_columns("device_rejects")
        if sa.inspect(connection).has_table("device_rejects")
        else []
    )
    if not any(c["name"] == "params" for c in columns):
        return
    rejects = sa.table(
        "device_rejects",
        sa.column("id", sa.Integer()),
        sa.column("detail", sa.String(500)),
        sa.column("params", JSONType),
    )
    rows = connection.execute(
        sa.select(rejects.c.id, rejects.c.detail, rejects.c.params).where(
            rejects.c.params.is_not(None)
        )
    ).all()
    for key, detail, params in rows:
        connection.execute(
            sa.update(rejects)
            .where(rejects.c.id == key)
            .values(detail=render_text(detail, params or {})[:500])
        )
    # A plain ALTER TABLE … DROP COLUMN (SQLite 3.35+): no table rebuild to leave half done.
    op.drop_column("device_rejects", "params")
