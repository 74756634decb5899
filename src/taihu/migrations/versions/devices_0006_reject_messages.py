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
    with op.batch_alter_table("device_rejects") as batch:
        batch.add_column(sa.Column("params", JSONType, nullable=True))


def downgrade() -> None:
    """Render each message in English into ``detail`` again, then drop device_rejects.params."""
    rejects = sa.table(
        "device_rejects",
        sa.column("id", sa.Integer()),
        sa.column("detail", sa.String(500)),
        sa.column("params", JSONType),
    )
    connection = op.get_bind()
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
    with op.batch_alter_table("device_rejects") as batch:
        batch.drop_column("params")
