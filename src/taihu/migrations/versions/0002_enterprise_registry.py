"""Enterprise registry: English name, township, industry class, flags, size, location.

Revision ID: 0002_enterprises
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from taihu.core import UTCDateTime

revision = "0002_enterprises"
down_revision = "0001"
branch_labels = ("enterprises",)
depends_on = None


def upgrade() -> None:
    """Add the registry columns to enterprises."""
    with op.batch_alter_table("enterprises") as batch:
        batch.add_column(sa.Column("name_en", sa.String(200), nullable=True))
        batch.add_column(sa.Column("township_code", sa.String(9), nullable=True))
        batch.add_column(sa.Column("industry_code", sa.String(4), nullable=True))
        for flag in ("above_size", "key_enterprise", "chain_leader", "synthetic"):
            batch.add_column(
                sa.Column(flag, sa.Boolean(), nullable=False, server_default=sa.false())
            )
        batch.add_column(sa.Column("employees", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("revenue_band", sa.String(16), nullable=True))
        batch.add_column(sa.Column("address", sa.String(300), nullable=True))
        batch.add_column(sa.Column("latitude", sa.Float(), nullable=True))
        batch.add_column(sa.Column("longitude", sa.Float(), nullable=True))
        batch.add_column(sa.Column("updated_at", UTCDateTime(), nullable=True))
    op.create_index("ix_enterprises_township_code", "enterprises", ["township_code"])
    op.create_index("ix_enterprises_industry_code", "enterprises", ["industry_code"])


def downgrade() -> None:
    """Drop the registry columns."""
    op.drop_index("ix_enterprises_industry_code", "enterprises")
    op.drop_index("ix_enterprises_township_code", "enterprises")
    with op.batch_alter_table("enterprises") as batch:
        for column in ("updated_at", "longitude", "latitude", "address", "revenue_band",
                       "employees", "synthetic", "chain_leader", "key_enterprise", "above_size",
                       "industry_code", "township_code", "name_en"):  # fmt: skip
            batch.drop_column(column)
