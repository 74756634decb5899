"""Notices: the SMS outbox's keys, provider ids and delivery reports; contacts' role and consent.

Revision ID: notices_0002
Revises: notices_0001
Create Date: 2026-12-06
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from taihu.core import UTCDateTime

revision = "notices_0002"
down_revision = "notices_0001"
branch_labels = None
depends_on = None

_DELIVERY: list[tuple[str, Any]] = [
    ("idempotency_key", sa.String(40)),
    ("out_id", sa.String(40)),
    ("provider", sa.String(16)),
    ("provider_ref", sa.String(64)),
    ("claimed_at", UTCDateTime()),
    ("report", sa.String(64)),
    ("delivered_at", UTCDateTime()),
]
_CONTACT: list[tuple[str, Any]] = [
    ("role", sa.String(40)),
    ("consent_at", UTCDateTime()),
    ("consent_how", sa.String(120)),
    ("consent_by", sa.String(128)),
    ("sms_opt_out_at", UTCDateTime()),
]


def upgrade() -> None:
    """Add the columns and their indexes."""
    for name, type_ in _DELIVERY:
        op.add_column("notice_deliveries", sa.Column(name, type_, nullable=True))
    for name, type_ in _CONTACT:
        op.add_column("notice_contacts", sa.Column(name, type_, nullable=True))
    op.create_index("ix_notice_deliveries_idempotency_key", "notice_deliveries",
                    ["idempotency_key"], unique=True)  # fmt: skip
    op.create_index("ix_notice_deliveries_out_id", "notice_deliveries", ["out_id"])
    op.create_index("ix_notice_deliveries_provider_ref", "notice_deliveries", ["provider_ref"])


def downgrade() -> None:
    """Drop them again (IF EXISTS: SQLite does not undo the DDL of a failed downgrade)."""
    for index in ("idempotency_key", "out_id", "provider_ref"):
        op.execute(f"DROP INDEX IF EXISTS ix_notice_deliveries_{index}")
    with op.batch_alter_table("notice_contacts") as batch:
        for name, _ in reversed(_CONTACT):
            batch.drop_column(name)
    with op.batch_alter_table("notice_deliveries") as batch:
        for name, _ in reversed(_DELIVERY):
            batch.drop_column(name)
