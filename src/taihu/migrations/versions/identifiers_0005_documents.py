"""Identifiers: the documents of a prefix application (the business licence scan).

Revision ID: identifiers_0004_documents
Revises: identifiers_case_keys
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from taihu.core import UTCDateTime

revision = "identifiers_0004_documents"
down_revision = "identifiers_case_keys"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the documents table."""
    op.create_table(
        "id_application_documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("content_type", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_id_application_documents"),
        sa.ForeignKeyConstraint(
            ["application_id"], ["id_applications.id"],
            name="fk_id_application_documents_application_id_id_applications", ondelete="CASCADE",
        ),
    )  # fmt: skip
    op.create_index(
        "ix_id_application_documents_application_id",
        "id_application_documents",
        ["application_id"],
    )


def downgrade() -> None:
    """Drop the documents table."""
    op.drop_table("id_application_documents")
