"""Surveys: proposals of registry updates and supply edges drawn from approved submissions.

Revision ID: surveys_0002
Revises: surveys_0001
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from taihu.core import JSONType, UTCDateTime

revision = "surveys_0002"
down_revision = "surveys_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the proposals table."""
    op.create_table(
        "survey_proposals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(120), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("before", JSONType, nullable=True),
        sa.Column("after", JSONType, nullable=False),
        sa.Column("problem", sa.String(300), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("edge_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("decided_by", sa.String(128), nullable=True),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_survey_proposals"),
        sa.ForeignKeyConstraint(["survey_id"], ["survey_forms.id"], ondelete="CASCADE",
                                name="fk_survey_proposals_survey_id_survey_forms"),
        sa.ForeignKeyConstraint(["submission_id"], ["survey_submissions.id"], ondelete="CASCADE",
                                name="fk_survey_proposals_submission_id_survey_submissions"),
        sa.ForeignKeyConstraint(["enterprise_id"], ["enterprises.id"], ondelete="CASCADE",
                                name="fk_survey_proposals_enterprise_id_enterprises"),
        sa.UniqueConstraint("submission_id", "key", name="uq_survey_proposals_submission_id_key"),
    )  # fmt: skip
    op.create_index("ix_survey_proposals_survey_id", "survey_proposals", ["survey_id"])
    op.create_index("ix_survey_proposals_enterprise_id", "survey_proposals", ["enterprise_id"])


def downgrade() -> None:
    """Drop the proposals table."""
    op.execute("DROP TABLE IF EXISTS survey_proposals")
