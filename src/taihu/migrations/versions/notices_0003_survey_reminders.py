"""Notices: the survey reminders sent, one per survey, enterprise and day at most.

Revision ID: notices_0003
Revises: notices_0002
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from taihu.core import UTCDateTime

revision = "notices_0003"
down_revision = "notices_0002"
branch_labels = None
depends_on = ("surveys_0001",)


def upgrade() -> None:
    """Create the reminders table."""
    op.create_table(
        "notice_survey_reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_notice_survey_reminders"),
        sa.ForeignKeyConstraint(["survey_id"], ["survey_forms.id"], ondelete="CASCADE",
                                name="fk_notice_survey_reminders_survey_id_survey_forms"),
        sa.ForeignKeyConstraint(["enterprise_id"], ["enterprises.id"], ondelete="CASCADE",
                                name="fk_notice_survey_reminders_enterprise_id_enterprises"),
        sa.ForeignKeyConstraint(["notice_id"], ["notices.id"], ondelete="CASCADE",
                                name="fk_notice_survey_reminders_notice_id_notices"),
        sa.UniqueConstraint("survey_id", "enterprise_id", "day",
                            name="uq_notice_survey_reminders_survey_id_enterprise_id_day"),
    )  # fmt: skip


def downgrade() -> None:
    """Drop the reminders table."""
    op.execute("DROP TABLE IF EXISTS notice_survey_reminders")
