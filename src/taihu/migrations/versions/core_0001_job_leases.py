"""Core: job leases, so a periodic job runs in one process of all those sharing the database.

Revision ID: core_0001
Revises: 0001
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "core_0001"
down_revision = "0001"
branch_labels = ("core",)
depends_on = None


def upgrade() -> None:
    """The ``job_leases`` table."""
    op.create_table(
        "job_leases",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("holder", sa.String(128), nullable=False, server_default=""),
        sa.Column("held_until", sa.Float(), nullable=False, server_default="0"),
        sa.Column("last_round_at", sa.Float(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("name", name="pk_job_leases"),
    )


def downgrade() -> None:
    """Drop it (IF EXISTS: SQLite does not undo the DDL of a failed downgrade)."""
    op.execute("DROP TABLE IF EXISTS job_leases")
