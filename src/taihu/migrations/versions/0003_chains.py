"""Chains: enterprise-segment tags and supply edges.

Revision ID: 0003_chains
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from taihu.core import UTCDateTime

revision = "0003_chains"
down_revision = "0001"
branch_labels = ("chains",)
depends_on = None


def _enterprise_fk(table: str, column: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], ["enterprises.id"], name=f"fk_{table}_{column}_enterprises", ondelete="CASCADE"
    )


def upgrade() -> None:
    """Create the chain tables."""
    op.create_table(
        "chain_tags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("segment_key", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("reason", sa.String(300), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("decided_by", sa.String(128), nullable=True),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        _enterprise_fk("chain_tags", "enterprise_id"),
        sa.PrimaryKeyConstraint("id", name="pk_chain_tags"),
        sa.UniqueConstraint(
            "enterprise_id", "segment_key", name="uq_chain_tags_enterprise_id_segment_key"
        ),
    )
    op.create_index("ix_chain_tags_enterprise_id", "chain_tags", ["enterprise_id"])
    op.create_index("ix_chain_tags_segment_key", "chain_tags", ["segment_key"])
    op.create_table(
        "supply_edges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("supplier_id", sa.Integer(), nullable=True),
        sa.Column("supplier_key", sa.String(220), nullable=False),
        sa.Column("supplier_name", sa.String(200), nullable=False),
        sa.Column("buyer_id", sa.Integer(), nullable=False),
        sa.Column("input_category", sa.String(64), nullable=False),
        sa.Column("annual_value", sa.Float(), nullable=False),
        sa.Column("ring", sa.String(16), nullable=False),
        sa.Column("substitutable", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=True),
        _enterprise_fk("supply_edges", "supplier_id"),
        _enterprise_fk("supply_edges", "buyer_id"),
        sa.PrimaryKeyConstraint("id", name="pk_supply_edges"),
        sa.UniqueConstraint(
            "supplier_key",
            "buyer_id",
            "input_category",
            name="uq_supply_edges_supplier_key_buyer_id_input_category",
        ),
    )
    op.create_index("ix_supply_edges_supplier_id", "supply_edges", ["supplier_id"])
    op.create_index("ix_supply_edges_buyer_id", "supply_edges", ["buyer_id"])
    op.create_index("ix_supply_edges_input_category", "supply_edges", ["input_category"])


def downgrade() -> None:
    """Drop the chain tables."""
    op.drop_table("supply_edges")
    op.drop_table("chain_tags")
