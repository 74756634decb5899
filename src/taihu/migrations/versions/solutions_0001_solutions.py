"""Solutions: the pool's tags, providers, solutions, cases, needs with their events, guides.

Revision ID: solutions_0001
Revises: 0001
Create Date: 2026-12-06

The built-in scenario tags are not written here: the solutions context writes them the first
time tags are read from an empty table (as programmes are).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from taihu.core import JSONType, UTCDateTime

revision = "solutions_0001"
down_revision = "0001"
branch_labels = ("solutions",)
depends_on = None


def _fk(table: str, column: str, target: str, ondelete: str = "CASCADE") -> Any:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}", ondelete=ondelete
    )


def _id(table: str) -> tuple[sa.Column[int], sa.PrimaryKeyConstraint]:
    return sa.Column("id", sa.Integer(), nullable=False), sa.PrimaryKeyConstraint(
        "id", name=f"pk_{table}"
    )


def _index(table: str, column: str) -> None:
    op.create_index(f"ix_{table}_{column}", table, [column])


def _text(name: str, length: int) -> sa.Column[str]:
    return sa.Column(name, sa.String(length), nullable=False)


def upgrade() -> None:
    """Create the pool's tables."""
    op.create_table(
        "solution_tags",
        *_id("solution_tags"),
        _text("key", 32),
        _text("name_zh", 64),
        _text("name_en", 64),
        sa.Column("builtin", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("key", name="uq_solution_tags_key"),
    )
    table = "solution_providers"
    op.create_table(
        table,
        *_id(table),
        _text("name", 200),
        _text("name_en", 200),
        _text("kind", 16),
        sa.Column("credit_code", sa.String(18), nullable=True),
        sa.Column("enterprise_id", sa.Integer(), nullable=True),
        _text("description", 2000),
        _text("website", 200),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        _fk(table, "enterprise_id", "enterprises", "SET NULL"),
        sa.UniqueConstraint("name", name="uq_solution_providers_name"),
    )
    _index(table, "enterprise_id")
    table = "solutions"
    op.create_table(
        table,
        *_id(table),
        sa.Column("provider_id", sa.Integer(), nullable=False),
        _text("title_zh", 200),
        _text("title_en", 200),
        _text("summary", 4000),
        sa.Column("tags", JSONType, nullable=False),
        sa.Column("industry_codes", JSONType, nullable=False),
        sa.Column("segments", JSONType, nullable=False),
        sa.Column("price_min", sa.Integer(), nullable=True),
        sa.Column("price_max", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        _fk(table, "provider_id", "solution_providers"),
    )
    _index(table, "provider_id")
    table = "solution_cases"
    op.create_table(
        table,
        *_id(table),
        sa.Column("solution_id", sa.Integer(), nullable=False),
        _text("enterprise_name", 200),
        sa.Column("enterprise_id", sa.Integer(), nullable=True),
        _text("change", 2000),
        _text("results", 2000),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        _fk(table, "solution_id", "solutions"),
        _fk(table, "enterprise_id", "enterprises", "SET NULL"),
    )
    _index(table, "solution_id")
    table = "solution_needs"
    op.create_table(
        table,
        *_id(table),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        _text("title", 200),
        _text("description", 4000),
        sa.Column("tags", JSONType, nullable=False),
        _text("status", 16),
        sa.Column("provider_id", sa.Integer(), nullable=True),
        sa.Column("solution_id", sa.Integer(), nullable=True),
        _text("outcome", 16),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        _fk(table, "enterprise_id", "enterprises"),
        _fk(table, "provider_id", "solution_providers", "SET NULL"),
        _fk(table, "solution_id", "solutions", "SET NULL"),
    )
    for column in ("enterprise_id", "status"):
        _index(table, column)
    table = "solution_need_events"
    op.create_table(
        table,
        *_id(table),
        sa.Column("need_id", sa.Integer(), nullable=False),
        _text("action", 16),
        _text("status", 16),
        _text("actor", 128),
        _text("comment", 1000),
        sa.Column("at", UTCDateTime(), nullable=False),
        _fk(table, "need_id", "solution_needs"),
    )
    _index(table, "need_id")
    table = "solution_guides"
    op.create_table(
        table,
        *_id(table),
        _text("industry_code", 4),
        _text("title_zh", 200),
        _text("title_en", 200),
        _text("body", 8000),
        sa.Column("solution_ids", JSONType, nullable=False),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    _index(table, "industry_code")


def downgrade() -> None:
    """Drop the pool's tables (IF EXISTS: SQLite does not undo the DDL of a failed downgrade)."""
    for table in (
        "solution_guides",
        "solution_need_events",
        "solution_needs",
        "solution_cases",
        "solutions",
        "solution_providers",
        "solution_tags",
    ):
        op.execute(sa.text(f"DROP TABLE IF EXISTS {table}"))
