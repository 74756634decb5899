"""Programmes: a survey form as a programme's application form, its answers with an application.

Revision ID: programmes_0002_survey_forms
Revises: programmes_0001
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from taihu.core import JSONType

revision = "programmes_0002_survey_forms"
down_revision = "programmes_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the form id to programmes and the answers to applications."""
    with op.batch_alter_table("programmes") as batch:
        batch.add_column(sa.Column("form_id", sa.String(64), nullable=True))
    with op.batch_alter_table("programme_applications") as batch:
        batch.add_column(sa.Column("answers", JSONType, nullable=True))


def downgrade() -> None:
    """Drop the two columns."""
    with op.batch_alter_table("programme_applications") as batch:
        batch.drop_column("answers")
    with op.batch_alter_table("programmes") as batch:
        batch.drop_column("form_id")
