"""Database engine and sessions: one async engine per process, SQLite or PostgreSQL.

SQLite runs in WAL mode with foreign keys on and a busy timeout, so the embedded default behaves
like a real database under a few concurrent writers. Every context declares its tables on
``Base.metadata``; schema changes go through the Alembic scripts in ``taihu.migrations``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import ConnectionPoolEntry

__all__ = ["Base", "Database", "JSONType", "UTCDateTime", "is_sqlite"]

# Stable constraint names keep migrations identical on SQLite and PostgreSQL.
_NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every table in every context."""

    metadata = sa.MetaData(naming_convention=_NAMING)


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A timestamp stored as UTC and always read back timezone-aware (SQLite forgets zones)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Refuse naive times; store UTC (without zone on SQLite)."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are refused; use timezone-aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(
        self,
        value: datetime | None,
        dialect: Dialect,  # noqa: ARG002 - part of SQLAlchemy's signature
    ) -> datetime | None:
        """Read back an aware UTC time."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
# JSON kept as written (PostgreSQL ``json``, not ``jsonb``), for append-only logs that are
# written far more often than searched by content: parsing an audit row's values into jsonb
# was half of what PostgreSQL spent on a batch-registered identifier (docs/benchmarks.md).
WrittenJSON = sa.JSON()


def _json_text(value: Any) -> str:
    """The text of a JSON column's value."""
    # orjson is several times faster than the standard encoder on bulk writes (audit rows of a
    # 2,000-identifier batch) and embeds already-serialized parts (orjson.Fragment).
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode("utf-8")
    except orjson.JSONEncodeError:  # what orjson refuses, such as integers past 64 bits
        return json.dumps(value)


def is_sqlite(url: str) -> bool:
    """Whether a database URL points at SQLite."""
    return url.startswith("sqlite")


class Database:
    """An async engine and its session factory."""

    def __init__(
        self,
        url: str,
        *,
        echo: bool = False,
        pool_size: int = 10,
        busy_timeout_ms: int = 5000,
    ) -> None:
        self.url = url
        kwargs: dict[str, Any] = {
            "echo": echo,
            "pool_pre_ping": not is_sqlite(url),
            "json_serializer": _json_text,
        }
        if not is_sqlite(url):
            kwargs["pool_size"] = pool_size
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if is_sqlite(url):
            _configure_sqlite(self.engine, busy_timeout_ms)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A unit of work: committed when the block succeeds, rolled back when it raises."""
        async with self.sessions() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    async def ping(self) -> None:
        """Raise when the database cannot be reached."""
        async with self.engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()


def _configure_sqlite(engine: AsyncEngine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: ConnectionPoolEntry) -> None:
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        # WAL + NORMAL is durable across application crashes; only an OS crash may lose the
        # last transactions, the trade-off SQLite documents for WAL.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "savepoint")
    def _on_savepoint(conn: sa.Connection, _name: str | None) -> None:
        # The driver runs reads outside a transaction and opens one (deferred) at the first
        # write, so a unit of work never reads an old snapshot and then writes. A SAVEPOINT
        # opened with no transaction, though, starts a deferred one: its reads fix a snapshot,
        # and when another connection commits before its first write that write fails at once
        # (SQLITE_BUSY_SNAPSHOT, "database is locked"; the busy timeout does not apply). Taking
        # the write lock first makes it wait its turn instead.
        driver = conn.connection.dbapi_connection
        if driver is not None and not driver._connection.in_transaction:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
