"""Identifiers: handle keys in the case-insensitive form, the Handle.Net server's default.

Revision ID: identifiers_case_keys
Revises: identifiers_0003
Create Date: 2026-12-06

A key was the prefix upper-cased and the suffix as written; by default it is now the whole
handle with its ASCII letters upper-cased, so 99.1/ref-1 is found as 99.1/REF-1 through the same
unique index (no second index, resolution as fast as before). The ``handle`` column keeps the
case the registrant wrote. Nothing changes with ``TAIHU_HANDLE_CASE_SENSITIVE=true``. Handles
that differ only in case (possible before) keep their old keys and the upgrade prints them: the
one written in capitals still resolves, the others only with the setting on.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from taihu.settings import HandleSettings

revision = "identifiers_case_keys"
down_revision = "identifiers_0003"
branch_labels = None
depends_on = None

_LOWER = "abcdefghijklmnopqrstuvwxyz"
# ASCII letters only, as Handle.key folds them: SQLite's upper() touches nothing else, while
# PostgreSQL's follows the locale, so it gets an explicit translate().
_FOLD = {
    "sqlite": "upper(key)",
    "postgresql": f"translate(key, '{_LOWER}', '{_LOWER.upper()}')",
}


def upgrade() -> None:
    """Fold the keys (unless the node compares suffixes as written)."""
    if HandleSettings().case_sensitive:
        return
    bind = op.get_bind()
    fold = _FOLD.get(bind.dialect.name, "upper(key)")
    clashes = bind.execute(
        sa.text(
            f"SELECT {fold}, count(*) FROM id_handles GROUP BY {fold} HAVING count(*) > 1"  # noqa: S608 - constant
        )
    ).all()
    for folded, count in clashes:
        print(f"identifiers: {count} handles differ only in case ({folded}); they keep their keys")  # noqa: T201
    op.execute(
        f"UPDATE id_handles SET key = {fold} WHERE key != {fold} AND {fold} IN "  # noqa: S608
        f"(SELECT {fold} FROM id_handles GROUP BY {fold} HAVING count(*) = 1)"
    )


def downgrade() -> None:
    """Keep the keys: which case each suffix was keyed in is not recorded (not reversible)."""
