"""Solutions: the documents of a solution (brochures, case reports, certificates).

Revision ID: solutions_0002_documents
Revises: solutions_0001
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from taihu.core import UTCDateTime

revision = "solutions_0002_documents"
down_revision = "solutions_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the documents table."""
    op.create_table(
        "solution_documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("solution_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("content_type", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_by", sa.String(128), nullable=False),
        sa.Column("uploaded_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_solution_documents"),
        sa.ForeignKeyConstraint(
            ["solution_id"], ["solutions.id"],
            name="fk_solution_documents_solution_id_solutions", ondelete="CASCADE",
        ),
    )  # fmt: skip
    op.create_index("ix_solution_documents_solution_id", "solution_documents", ["solution_id"])


def downgrade() -> None:
    """Drop the documents table."""
    op.drop_table("solution_documents")
