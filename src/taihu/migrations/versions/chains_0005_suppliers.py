"""Chains: suppliers outside the district as nodes of their own, with their region.

Revision ID: chains_0005_suppliers
Revises: 0003_chains
Create Date: 2026-12-06

Every supplier that edges already name (``supplier_id`` NULL) gets its row, with no region.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from taihu.core import UTCDateTime

revision = "chains_0005_suppliers"
down_revision = "chains_0004_templates"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the outside-supplier table and fill it from the edges."""
    op.create_table(
        "chain_outside_suppliers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(220), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("city", sa.String(64), nullable=True),
        sa.Column("province", sa.String(64), nullable=True),
        sa.Column("country", sa.String(64), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_chain_outside_suppliers"),
        sa.UniqueConstraint("key", name="uq_chain_outside_suppliers_key"),
    )
    op.execute(
        "INSERT INTO chain_outside_suppliers (key, name, created_at) "
        "SELECT supplier_key, MIN(supplier_name), MIN(created_at) FROM supply_edges "
        "WHERE supplier_id IS NULL GROUP BY supplier_key"
    )


def downgrade() -> None:
    """Drop the outside-supplier table."""
    op.drop_table("chain_outside_suppliers")
