"""Identifiers: the node hierarchy, i.e. the upstream link and the filing state of prefixes.

Revision ID: identifiers_0002
Revises: 0301
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from taihu.core import UTCDateTime

revision = "identifiers_0002"
down_revision = "0301"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the upstream link and filings tables."""
    op.create_table(
        "id_node_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("credential", sa.String(2048), nullable=False),
        sa.Column("advertise", sa.String(300), nullable=False),
        sa.Column("joined_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_id_node_links"),
    )
    op.create_table(
        "id_filings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("prefix", sa.String(128), nullable=False),
        sa.Column("action", sa.String(8), nullable=False),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(500), nullable=True),
        sa.Column("next_try_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_id_filings"),
        sa.UniqueConstraint("prefix", name="uq_id_filings_prefix"),
    )
    op.create_index("ix_id_filings_state", "id_filings", ["state"])


def downgrade() -> None:
    """Drop them."""
    op.drop_index("ix_id_filings_state", table_name="id_filings")
    op.drop_table("id_filings")
    op.drop_table("id_node_links")
