"""Identifiers: Handle challenges and sessions any process can answer; change notifications.

Three tables hold the Handle protocol's conversation state where every resolver process finds
it (``server/shared_state.py``). On PostgreSQL a statement trigger on ``id_changes`` sends
``NOTIFY taihu_id_changes`` in the transaction of every write, so resolver caches in other
processes drop the written keys as soon as it commits (``resolution/changes.py``).

Revision ID: identifiers_0006_shared
Revises: identifiers_0004_documents
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "identifiers_0006_shared"
down_revision = "identifiers_0004_documents"
branch_labels = None
depends_on = None

# At most 100 changes are named in a notification (well under NOTIFY's 8000 bytes); a larger
# statement (a batch import) sends an empty payload: "read the change log".
_NOTIFY_FUNCTION = """
CREATE FUNCTION id_changes_notify() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    payload text;
BEGIN
    IF (SELECT count(*) FROM (SELECT 1 FROM new_rows LIMIT 101) AS head) > 100 THEN
        payload := '';
    ELSE
        SELECT coalesce(json_agg(json_build_array(id, key) ORDER BY id)::text, '')
          INTO payload FROM new_rows;
        IF octet_length(payload) > 7900 THEN
            payload := '';
        END IF;
    END IF;
    PERFORM pg_notify('taihu_id_changes', payload);
    RETURN NULL;
END
$$
"""
_NOTIFY_TRIGGER = (
    "CREATE TRIGGER id_changes_notify AFTER INSERT ON id_changes "
    "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION id_changes_notify()"
)


def upgrade() -> None:
    """Create the challenge, session and session counter tables; the notify trigger."""
    op.create_table(
        "id_handle_challenges",
        sa.Column("session_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("request", sa.LargeBinary(), nullable=False),
        sa.Column("signed", sa.LargeBinary(), nullable=False),
        sa.Column("digest_algorithm", sa.SmallInteger(), nullable=False),
        sa.Column("digest", sa.LargeBinary(), nullable=False),
        sa.Column("nonce", sa.LargeBinary(), nullable=False),
        sa.Column("binds", sa.Boolean(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("session_id", name="pk_id_handle_challenges"),
    )
    op.create_index("ix_id_handle_challenges_expires_at", "id_handle_challenges", ["expires_at"])
    op.create_table(
        "id_handle_sessions",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("sealed_key", sa.LargeBinary(), nullable=False),
        sa.Column("timeout", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.Column("identity_handle", sa.String(2048), nullable=False),
        sa.Column("identity_index", sa.Integer(), nullable=False),
        sa.Column("admin_handle", sa.String(2048), nullable=True),
        sa.Column("admin_index", sa.Integer(), nullable=True),
        sa.Column("counter", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_id_handle_sessions"),
    )
    op.create_index("ix_id_handle_sessions_expires_at", "id_handle_sessions", ["expires_at"])
    op.create_table(
        "id_handle_session_counters",
        sa.Column("session_id", sa.BigInteger(), nullable=False),
        sa.Column("counter", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("session_id", "counter", name="pk_id_handle_session_counters"),
        sa.ForeignKeyConstraint(
            ["session_id"], ["id_handle_sessions.id"],
            name="fk_id_handle_session_counters_session_id_id_handle_sessions", ondelete="CASCADE",
        ),
    )  # fmt: skip
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_NOTIFY_FUNCTION)
        op.execute(_NOTIFY_TRIGGER)


def downgrade() -> None:
    """Drop the trigger and the tables."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS id_changes_notify ON id_changes")
        op.execute("DROP FUNCTION IF EXISTS id_changes_notify()")
    op.drop_table("id_handle_session_counters")
    op.drop_table("id_handle_sessions")
    op.drop_table("id_handle_challenges")
