"""Accounts: the audit log keeps its before/after values as written (json, not jsonb).

Revision ID: accounts_0002
Revises: 0001
Create Date: 2026-12-04

Audit rows are written with every write and read back whole, never searched by content;
PostgreSQL's jsonb parses each value into its binary form on the way in, which was half the
database's work for a batch-registered identifier. ``json`` checks the text and keeps it. On
SQLite both are text: nothing to do.
"""

from __future__ import annotations

from alembic import op

revision = "accounts_0002"
down_revision = "0001"
branch_labels = ("accounts",)
depends_on = None


def _retype(kind: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for column in ("before", "after"):
        op.execute(
            f'ALTER TABLE audit_log ALTER COLUMN "{column}" TYPE {kind} USING "{column}"::{kind}'
        )


def upgrade() -> None:
    """Audit values become ``json`` on PostgreSQL."""
    _retype("json")


def downgrade() -> None:
    """Back to ``jsonb``."""
    _retype("jsonb")
