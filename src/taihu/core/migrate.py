"""Alembic machinery: run the migration scripts of ``taihu.migrations`` on an async engine."""

from __future__ import annotations

from dataclasses import dataclass

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from taihu.core.db import Database

__all__ = ["SchemaState", "alembic_config", "head_revision", "schema_state", "upgrade"]

SCRIPT_LOCATION = "taihu:migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration bound to an open connection (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision shipped with this code."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships migrations
        raise RuntimeError("no migration scripts found")
    return head


@dataclass(frozen=True, slots=True)
class SchemaState:
    """Where a database's schema stands relative to this code."""

    current: str | None
    head: str

    @property
    def is_current(self) -> bool:
        """Whether the schema is at the newest revision."""
        return self.current == self.head


async def schema_state(db: Database) -> SchemaState:
    """Read the schema revision of a database."""

    def _current(conn: Connection) -> str | None:
        return MigrationContext.configure(conn).get_current_revision()

    async with db.engine.connect() as conn:
        current = await conn.run_sync(_current)
    return SchemaState(current=current, head=head_revision())


async def upgrade(db: Database, revision: str = "head") -> SchemaState:
    """Migrate a database up to ``revision`` and return where it stands."""

    def _upgrade(conn: Connection) -> None:
        command.upgrade(alembic_config(conn), revision)

    async with db.engine.begin() as conn:
        await conn.run_sync(_upgrade)
    return await schema_state(db)
