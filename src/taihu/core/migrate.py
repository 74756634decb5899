"""Alembic machinery: run the migration scripts of ``taihu.migrations`` on an async engine.

Each bounded context keeps its own branch of revisions (``branch_labels``) rooted on the
foundation revision, so contexts evolve their tables independently; the schema is current when
the database stands at every branch head.
"""

from __future__ import annotations

from dataclasses import dataclass

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from taihu.core.db import Database

__all__ = ["SchemaState", "alembic_config", "head_revisions", "schema_state", "upgrade"]

SCRIPT_LOCATION = "taihu:migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration bound to an open connection (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.attributes["connection"] = connection
    return config


def head_revisions() -> frozenset[str]:
    """The newest revision of every branch shipped with this code."""
    return frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())


@dataclass(frozen=True, slots=True)
class SchemaState:
    """Where a database's schema stands relative to this code."""

    current: frozenset[str]
    heads: frozenset[str]

    @property
    def is_current(self) -> bool:
        """Whether the schema is at the newest revision of every branch."""
        return self.current == self.heads

    @property
    def current_label(self) -> str:
        """The database's revisions for messages (``empty`` for a new database)."""
        return ", ".join(sorted(self.current)) or "empty"

    @property
    def heads_label(self) -> str:
        """The code's head revisions for messages."""
        return ", ".join(sorted(self.heads))

    @property
    def outdated_message(self) -> str:
        """What to tell an operator whose schema is behind the code."""
        return (
            f"the database schema is at {self.current_label}, this code needs "
            f"{self.heads_label}: run `taihu db upgrade`"
        )


async def schema_state(db: Database) -> SchemaState:
    """Read the schema revisions of a database."""

    def _current(conn: Connection) -> frozenset[str]:
        return frozenset(MigrationContext.configure(conn).get_current_heads())

    async with db.engine.connect() as conn:
        current = await conn.run_sync(_current)
    return SchemaState(current=current, heads=head_revisions())


async def upgrade(db: Database, revision: str = "heads") -> SchemaState:
    """Migrate a database up to ``revision`` (every branch head by default)."""

    def _upgrade(conn: Connection) -> None:
        command.upgrade(alembic_config(conn), revision)

    async with db.engine.begin() as conn:
        await conn.run_sync(_upgrade)
    return await schema_state(db)
