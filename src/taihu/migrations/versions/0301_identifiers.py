"""Identifiers: prefixes, handles, change log, templates, prefix applications, daily statistics.

Revision ID: 0301
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from taihu.core import JSONType, UTCDateTime

revision = "0301"
down_revision = "0001"
branch_labels = ("identifiers",)
depends_on = None


def upgrade() -> None:
    """Create the identifiers tables."""
    op.create_table(
        "id_prefixes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("prefix", sa.String(128), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_id_prefixes"),
        sa.UniqueConstraint("prefix", name="uq_id_prefixes_prefix"),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["id_prefixes.id"], name="fk_id_prefixes_parent_id_id_prefixes",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"], ["enterprises.id"], name="fk_id_prefixes_enterprise_id_enterprises",
            ondelete="RESTRICT",
        ),
    )  # fmt: skip
    op.create_index("ix_id_prefixes_enterprise_id", "id_prefixes", ["enterprise_id"])
    op.create_table(
        "id_handles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(2048), nullable=False),
        sa.Column("handle", sa.String(2048), nullable=False),
        sa.Column("prefix_id", sa.Integer(), nullable=False),
        sa.Column("record", sa.Text(), nullable=False),
        sa.Column("template", sa.String(64), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_id_handles"),
        sa.UniqueConstraint("key", name="uq_id_handles_key"),
        sa.ForeignKeyConstraint(
            ["prefix_id"], ["id_prefixes.id"], name="fk_id_handles_prefix_id_id_prefixes",
            ondelete="RESTRICT",
        ),
    )  # fmt: skip
    op.create_index("ix_id_handles_prefix_id", "id_handles", ["prefix_id"])
    op.create_table(
        "id_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(2048), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_id_changes"),
    )
    op.create_index("ix_id_changes_at", "id_changes", ["at"])
    op.create_table(
        "id_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("prefix", sa.String(128), nullable=False),
        sa.Column("version", sa.String(128), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("industry_class", sa.String(8), nullable=False),
        sa.Column("description", sa.String(500), nullable=False),
        sa.Column("items", JSONType, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_id_templates"),
        sa.UniqueConstraint("prefix", "version", name="uq_id_templates_prefix_version"),
    )
    op.create_table(
        "id_applications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("prefix", sa.String(128), nullable=False),
        sa.Column("contact", sa.String(200), nullable=False),
        sa.Column("industry_class", sa.String(8), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(500), nullable=True),
        sa.Column("timeline", JSONType, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_id_applications"),
        sa.ForeignKeyConstraint(
            ["enterprise_id"], ["enterprises.id"],
            name="fk_id_applications_enterprise_id_enterprises", ondelete="RESTRICT",
        ),
    )  # fmt: skip
    op.create_index("ix_id_applications_enterprise_id", "id_applications", ["enterprise_id"])
    op.create_table(
        "id_stats_daily",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("prefix", sa.String(128), nullable=False),
        sa.Column("registrations", sa.BigInteger(), nullable=False),
        sa.Column("resolutions", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "prefix", name="pk_id_stats_daily"),
    )


def downgrade() -> None:
    """Drop the identifiers tables."""
    for table in ("id_stats_daily", "id_applications", "id_templates", "id_changes"):
        op.drop_table(table)
    op.drop_table("id_handles")
    op.drop_table("id_prefixes")
