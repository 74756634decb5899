"""Reporting: data tasks to enterprises (a form, an audience, a cadence) and their periods.

Revision ID: reporting_0002_data_tasks
Revises: reporting_0001
Create Date: 2026-12-07
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from taihu.core import UTCDateTime

revision = "reporting_0002_data_tasks"
down_revision = "reporting_0001"
branch_labels = None
depends_on = ("surveys_0001",)


def _fk(table: str, column: str, target: str, ondelete: str) -> Any:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}", ondelete=ondelete
    )


def upgrade() -> None:
    """Create the data task tables."""
    table = "report_data_tasks"
    op.create_table(
        table,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(40), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("xlsform", sa.LargeBinary(), nullable=False),
        sa.Column("source", sa.String(120), nullable=False),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("scope_value", sa.String(2000), nullable=False),
        sa.Column("cadence", sa.String(16), nullable=False),
        sa.Column("due_day", sa.Integer(), nullable=False),
        sa.Column("lead_days", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=f"pk_{table}"),
        sa.UniqueConstraint("key", name=f"uq_{table}_key"),
    )
    table = "report_data_periods"
    op.create_table(
        table,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("period_key", sa.String(16), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("asked", sa.Integer(), nullable=False),
        sa.Column("opened_by", sa.String(128), nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=f"pk_{table}"),
        _fk(table, "task_id", "report_data_tasks", "CASCADE"),
        _fk(table, "survey_id", "survey_forms", "CASCADE"),
        sa.UniqueConstraint("task_id", "period_key", name=f"uq_{table}_task_id_period_key"),
        sa.UniqueConstraint("survey_id", name=f"uq_{table}_survey_id"),
    )
    op.create_index(f"ix_{table}_task_id", table, ["task_id"])


def downgrade() -> None:
    """Drop the data task tables (IF EXISTS: SQLite does not undo DDL of a failed downgrade)."""
    for table in ("report_data_periods", "report_data_tasks"):
        op.execute(f"DROP TABLE IF EXISTS {table}")
