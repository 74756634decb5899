"""Notices: notices, their attachments, recipients with receipts, contacts and the outbox.

Revision ID: notices_0001
Revises: 0001
Create Date: 2026-12-06
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from taihu.core import UTCDateTime

revision = "notices_0001"
down_revision = "0001"
branch_labels = ("notices",)
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _fk(table: str, column: str, target: str) -> Any:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}", ondelete="CASCADE"
    )


def _pk(table: str) -> Any:
    return sa.PrimaryKeyConstraint("id", name=f"pk_{table}")


def _index(table: str, *columns: str) -> None:
    op.create_index(f"ix_{table}_{'_'.join(columns)}", table, list(columns))


def upgrade() -> None:
    """Create the notices tables."""
    op.create_table(
        "notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("require_ack", sa.Boolean(), nullable=False),
        sa.Column("audience_kind", sa.String(16), nullable=False),
        sa.Column("audience_refs", _JSON, nullable=False),
        sa.Column("channels", _JSON, nullable=False),
        sa.Column("publish_at", UTCDateTime(), nullable=True),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("published_at", UTCDateTime(), nullable=True),
        sa.Column("withdrawn_at", UTCDateTime(), nullable=True),
        _pk("notices"),
    )
    _index("notices", "status")
    _index("notices", "publish_at")
    op.create_table(
        "notice_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("content_type", sa.String(100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_at", UTCDateTime(), nullable=False),
        _pk("notice_attachments"),
        _fk("notice_attachments", "notice_id", "notices"),
    )
    _index("notice_attachments", "notice_id")
    op.create_table(
        "notice_recipients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("read_at", UTCDateTime(), nullable=True),
        sa.Column("read_by", sa.String(128), nullable=True),
        sa.Column("acknowledged_at", UTCDateTime(), nullable=True),
        sa.Column("acknowledged_by", sa.String(128), nullable=True),
        sa.Column("reminders", sa.Integer(), nullable=False),
        sa.Column("reminded_at", UTCDateTime(), nullable=True),
        _pk("notice_recipients"),
        _fk("notice_recipients", "notice_id", "notices"),
        _fk("notice_recipients", "enterprise_id", "enterprises"),
        sa.UniqueConstraint(
            "notice_id", "enterprise_id", name="uq_notice_recipients_notice_id_enterprise_id"
        ),
    )
    _index("notice_recipients", "notice_id")
    _index("notice_recipients", "enterprise_id")
    op.create_table(
        "notice_contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("phone", sa.String(20), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        _pk("notice_contacts"),
        _fk("notice_contacts", "enterprise_id", "enterprises"),
        sa.UniqueConstraint("enterprise_id", "name", name="uq_notice_contacts_enterprise_id_name"),
    )
    _index("notice_contacts", "enterprise_id")
    op.create_table(
        "notice_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("purpose", sa.String(8), nullable=False),
        sa.Column("address", sa.String(254), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("last_error", sa.String(300), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        _pk("notice_deliveries"),
        _fk("notice_deliveries", "notice_id", "notices"),
        _fk("notice_deliveries", "enterprise_id", "enterprises"),
    )
    _index("notice_deliveries", "notice_id")
    _index("notice_deliveries", "enterprise_id")
    op.create_index("ix_notice_deliveries_due", "notice_deliveries", ["status", "next_attempt_at"])


def downgrade() -> None:
    """Drop the notices tables."""
    for table in (
        "notice_deliveries", "notice_contacts", "notice_recipients", "notice_attachments",
        "notices",
    ):  # fmt: skip
        op.drop_table(table)
