"""Chains: the source of a supply edge (the survey submission it was accepted from).

Revision ID: chains_0006_edge_source
Revises: chains_0005_suppliers
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "chains_0006_edge_source"
down_revision = "chains_0005_suppliers"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the nullable source column."""
    with op.batch_alter_table("supply_edges") as batch:
        batch.add_column(sa.Column("source", sa.String(220), nullable=True))


def downgrade() -> None:
    """Drop the source column."""
    with op.batch_alter_table("supply_edges") as batch:
        batch.drop_column("source")
