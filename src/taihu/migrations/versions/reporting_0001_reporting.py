"""Reporting: upper departments' xlsx templates with bindings, report tasks, periods' runs.

Revision ID: reporting_0001
Revises: 0001
Create Date: 2026-12-06
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from taihu.core import JSONType, UTCDateTime

revision = "reporting_0001"
down_revision = "0001"
branch_labels = ("reporting",)
depends_on = None


def _fk(table: str, column: str, target: str, ondelete: str) -> Any:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}", ondelete=ondelete
    )


def _id(table: str) -> tuple[sa.Column[int], sa.PrimaryKeyConstraint]:
    return sa.Column("id", sa.Integer(), nullable=False), sa.PrimaryKeyConstraint(
        "id", name=f"pk_{table}"
    )


def upgrade() -> None:
    """Create the reporting tables."""
    table = "report_templates"
    op.create_table(
        table,
        *_id(table),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("bindings", JSONType, nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    table = "report_tasks"
    op.create_table(
        table,
        *_id(table),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("issuing_body", sa.String(200), nullable=False),
        sa.Column("cadence", sa.String(16), nullable=False),
        sa.Column("due_day", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("lead_days", sa.Integer(), nullable=False),
        sa.Column("template_id", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(128), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        _fk(table, "template_id", "report_templates", "RESTRICT"),
    )
    op.create_index("ix_report_tasks_template_id", table, ["template_id"])
    table = "report_runs"
    op.create_table(
        table,
        *_id(table),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("period_key", sa.String(16), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("generated", JSONType, nullable=False),
        sa.Column("corrections", JSONType, nullable=False),
        sa.Column("problems", JSONType, nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("template_sha256", sa.String(64), nullable=False),
        sa.Column("generated_at", UTCDateTime(), nullable=False),
        sa.Column("generated_by", sa.String(128), nullable=False),
        sa.Column("approved_by", sa.String(128), nullable=True),
        sa.Column("approved_at", UTCDateTime(), nullable=True),
        sa.Column("submitted_by", sa.String(128), nullable=True),
        sa.Column("submitted_at", UTCDateTime(), nullable=True),
        sa.Column("note", sa.String(1000), nullable=False),
        _fk(table, "task_id", "report_tasks", "CASCADE"),
        sa.UniqueConstraint("task_id", "period_key", name="uq_report_runs_task_id_period_key"),
    )
    for column in ("task_id", "due_on", "status"):
        op.create_index(f"ix_report_runs_{column}", table, [column])


def downgrade() -> None:
    """Drop the reporting tables (IF EXISTS: SQLite does not undo DDL of a failed downgrade)."""
    for table in ("report_runs", "report_tasks", "report_templates"):
        op.execute(f"DROP TABLE IF EXISTS {table}")
