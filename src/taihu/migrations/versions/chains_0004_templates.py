"""Chains: chain templates as data, with versions.

Revision ID: chains_0004_templates
Revises: 0003_chains
Create Date: 2026-12-06

The six built-in templates are not written here: the chains context writes them as version 1
the first time templates are read from an empty table (so a database emptied by hand, or by the
test suite, gets them back too).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from taihu.core import UTCDateTime

revision = "chains_0004_templates"
down_revision = "0003_chains"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the template and template version tables."""
    op.create_table(
        "chain_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("current_version", sa.Integer(), nullable=False),
        sa.Column("builtin", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_chain_templates"),
        sa.UniqueConstraint("key", name="uq_chain_templates_key"),
    )
    op.create_table(
        "chain_template_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("template_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name_zh", sa.String(100), nullable=False),
        sa.Column("name_en", sa.String(100), nullable=False),
        sa.Column("segments", sa.JSON(), nullable=False),
        sa.Column("note", sa.String(300), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["chain_templates.id"],
            name="fk_chain_template_versions_template_id_chain_templates",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_chain_template_versions"),
        sa.UniqueConstraint(
            "template_id", "version", name="uq_chain_template_versions_template_id_version"
        ),
    )
    op.create_index(
        "ix_chain_template_versions_template_id", "chain_template_versions", ["template_id"]
    )


def downgrade() -> None:
    """Drop the template tables."""
    op.drop_table("chain_template_versions")
    op.drop_table("chain_templates")
