"""Operation monitor: daily power, status reports, key lists, blocker cases and their events.

Revision ID: monitor_0001
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from taihu.core import UTCDateTime

revision = "monitor_0001"
down_revision = "0001"
branch_labels = ("monitor",)
depends_on = None


def _fk(table: str, column: str, target: str = "enterprises", ondelete: str = "CASCADE") -> Any:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}", ondelete=ondelete
    )


def _id(table: str) -> tuple[sa.Column[int], sa.PrimaryKeyConstraint]:
    return sa.Column("id", sa.Integer(), nullable=False), sa.PrimaryKeyConstraint(
        "id", name=f"pk_{table}"
    )


def upgrade() -> None:
    """Create the monitor's tables."""
    op.create_table(
        "monitor_power_days",
        *_id("monitor_power_days"),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kwh", sa.Float(), nullable=False),
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        _fk("monitor_power_days", "enterprise_id"),
        sa.UniqueConstraint("enterprise_id", "day", name="uq_monitor_power_days_enterprise_id_day"),
    )
    op.create_index("ix_monitor_power_days_enterprise_id", "monitor_power_days", ["enterprise_id"])
    op.create_index("ix_monitor_power_days_day", "monitor_power_days", ["day"])
    op.create_table(
        "monitor_status_reports",
        *_id("monitor_status_reports"),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("resumed", sa.Boolean(), nullable=False),
        sa.Column("note", sa.String(300), nullable=False),
        sa.Column("reported_by", sa.String(128), nullable=False),
        sa.Column("reported_at", UTCDateTime(), nullable=False),
        _fk("monitor_status_reports", "enterprise_id"),
        sa.UniqueConstraint(
            "enterprise_id", "day", name="uq_monitor_status_reports_enterprise_id_day"
        ),
    )
    op.create_index(
        "ix_monitor_status_reports_enterprise_id", "monitor_status_reports", ["enterprise_id"]
    )
    op.create_table(
        "monitor_lists",
        *_id("monitor_lists"),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("description", sa.String(300), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("name", name="uq_monitor_lists_name"),
    )
    op.create_table(
        "monitor_list_members",
        *_id("monitor_list_members"),
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("added_at", UTCDateTime(), nullable=False),
        _fk("monitor_list_members", "list_id", "monitor_lists"),
        _fk("monitor_list_members", "enterprise_id"),
        sa.UniqueConstraint(
            "list_id", "enterprise_id", name="uq_monitor_list_members_list_id_enterprise_id"
        ),
    )
    op.create_index("ix_monitor_list_members_list_id", "monitor_list_members", ["list_id"])
    op.create_index(
        "ix_monitor_list_members_enterprise_id", "monitor_list_members", ["enterprise_id"]
    )
    op.create_table(
        "monitor_cases",
        *_id("monitor_cases"),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.String(2000), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("officer", sa.String(128), nullable=True),
        sa.Column("deadline", sa.Date(), nullable=True),
        sa.Column("reported_by", sa.String(128), nullable=False),
        sa.Column("report_back", sa.String(2000), nullable=True),
        sa.Column("origin_enterprise_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        _fk("monitor_cases", "enterprise_id"),
        _fk("monitor_cases", "origin_enterprise_id", ondelete="SET NULL"),
    )
    op.create_index("ix_monitor_cases_enterprise_id", "monitor_cases", ["enterprise_id"])
    op.create_index("ix_monitor_cases_state", "monitor_cases", ["state"])
    op.create_table(
        "monitor_case_events",
        *_id("monitor_case_events"),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("comment", sa.String(2000), nullable=False),
        _fk("monitor_case_events", "case_id", "monitor_cases"),
    )
    op.create_index("ix_monitor_case_events_case_id", "monitor_case_events", ["case_id"])


def downgrade() -> None:
    """Drop the monitor's tables."""
    for table in (
        "monitor_case_events",
        "monitor_cases",
        "monitor_list_members",
        "monitor_lists",
        "monitor_status_reports",
        "monitor_power_days",
    ):
        op.drop_table(table)
