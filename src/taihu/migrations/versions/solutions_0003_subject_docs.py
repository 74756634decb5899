"""Solutions: the documents of providers and of reference cases.

Revision ID: solutions_0003_subject_docs
Revises: solutions_0002_documents
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from taihu.core import UTCDateTime

revision = "solutions_0003_subject_docs"
down_revision = "solutions_0002_documents"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the table of providers' and cases' documents."""
    op.create_table(
        "solution_subject_documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=True),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("content_type", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_by", sa.String(128), nullable=False),
        sa.Column("uploaded_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_solution_subject_documents"),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["solution_providers.id"],
            name="fk_solution_subject_documents_provider_id_solution_providers",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["solution_cases.id"],
            name="fk_solution_subject_documents_case_id_solution_cases", ondelete="CASCADE",
        ),
    )  # fmt: skip
    op.create_index(
        "ix_solution_subject_documents_provider_id", "solution_subject_documents", ["provider_id"]
    )
    op.create_index(
        "ix_solution_subject_documents_case_id", "solution_subject_documents", ["case_id"]
    )


def downgrade() -> None:
    """Drop the table."""
    op.drop_table("solution_subject_documents")
