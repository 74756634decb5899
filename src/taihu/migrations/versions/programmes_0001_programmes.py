"""Programmes: programmes as data, applications with staged review, documents, award registries.

Revision ID: programmes_0001
Revises: 0001
Create Date: 2026-12-06

The built-in programmes are not written here: the programmes context writes them the first
time programmes are read from an empty table (as chain templates are).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from taihu.core import JSONType, UTCDateTime

revision = "programmes_0001"
down_revision = "0001"
branch_labels = ("programmes",)
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


def upgrade() -> None:
    """Create the programmes' tables."""
    op.create_table(
        "programmes",
        *_id("programmes"),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("name_zh", sa.String(200), nullable=False),
        sa.Column("name_en", sa.String(200), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("issuing_body", sa.String(200), nullable=False),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("batch", sa.String(64), nullable=False),
        sa.Column("criteria", sa.Text(), nullable=False),
        sa.Column("documents", JSONType, nullable=False),
        sa.Column("stages", JSONType, nullable=False),
        sa.Column("grades", JSONType, nullable=False),
        sa.Column("validity_years", sa.Integer(), nullable=True),
        sa.Column("subsidy_yuan", sa.BigInteger(), nullable=True),
        sa.Column("accepting", sa.Boolean(), nullable=False),
        sa.Column("builtin", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("key", name="uq_programmes_key"),
    )
    table = "programme_applications"
    op.create_table(
        table,
        *_id(table),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("form", JSONType, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        _fk(table, "programme_id", "programmes"),
        _fk(table, "enterprise_id", "enterprises"),
    )
    for column in ("programme_id", "enterprise_id", "status"):
        _index(table, column)
    table = "programme_stage_steps"
    op.create_table(
        table,
        *_id(table),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("comment", sa.String(1000), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        _fk(table, "application_id", "programme_applications"),
    )
    _index(table, "application_id")
    table = "programme_documents"
    op.create_table(
        table,
        *_id(table),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("step_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("content_type", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_at", UTCDateTime(), nullable=False),
        _fk(table, "application_id", "programme_applications"),
        _fk(table, "step_id", "programme_stage_steps"),
    )
    _index(table, "application_id")
    table = "programme_awards"
    op.create_table(
        table,
        *_id(table),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("grade", sa.String(32), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("since", sa.Date(), nullable=False),
        sa.Column("until", sa.Date(), nullable=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(500), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        _fk(table, "programme_id", "programmes"),
        _fk(table, "enterprise_id", "enterprises"),
        _fk(table, "application_id", "programme_applications", "SET NULL"),
        sa.UniqueConstraint(
            "programme_id",
            "enterprise_id",
            "year",
            name="uq_programme_awards_programme_id_enterprise_id_year",
        ),
    )
    for column in ("programme_id", "enterprise_id", "until"):
        _index(table, column)


def downgrade() -> None:
    """Drop the programmes' tables."""
    for table in (
        "programme_awards",
        "programme_documents",
        "programme_stage_steps",
        "programme_applications",
        "programmes",
    ):
        op.drop_table(table)
