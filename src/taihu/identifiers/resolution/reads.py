"""Reading records for the resolver: SQLite in the event loop, PostgreSQL through asyncpg.

``RecordReads`` is the base of ``Resolver`` (``resolver``): the resolver's cache sits in front
of it. On SQLite a read-only connection of its own reads in the event loop; on PostgreSQL a pool
of plain asyncpg connections reads, the misses of one turn of the event loop in one query.
"""

from __future__ import annotations

import asyncio
import sqlite3

import asyncpg
import orjson
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from taihu.core import Database
from taihu.identifiers.models import HandleRow, Prefix
from taihu.identifiers.resolution.queries import (
    PG_ANSWERS,
    PG_LOOKUP_MANY,
    PG_WARM,
    SQLITE_ANSWERS,
    SQLITE_REST,
    SQLITE_WARM,
    Answers,
)

__all__ = ["Found", "RecordReads", "WarmRow"]

_SQLITE_MMAP_BYTES = 4 << 30
_SQLITE_CACHE_KIB = 32 << 10
_WARM = sa.text(SQLITE_WARM.replace("h.id > ?", "h.id > :after").replace("LIMIT ?", "LIMIT :limit"))
_HANDLES = sa.inspect(HandleRow).local_table
_PREFIXES = sa.inspect(Prefix).local_table
# A read row: handle, record, prefix, and where the row keeps a wire answer its head (the
# seconds it may be cached, the public value count: records.wire_values.wire_answer).
Found = tuple[str, str, str, bytes | None]
# A row of the cache's warm-up: id, key, handle, record, stored wire answer, prefix.
WarmRow = tuple[int, str, str, str, bytes | None, str]


class RecordReads:
    """Point and batch reads of stored records and rendered answers, by key."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._sqlite: sqlite3.Connection | None = None
        self._pool: asyncpg.Pool | None = None
        self._waiting: list[tuple[str, asyncio.Future[Found | None]]] = []
        self._reads: set[asyncio.Task[None]] = set()
        self.warming: asyncio.Task[int] | None = None  # the cache's warm-up (warm.py)
        path = make_url(db.url).database or ""
        if db.dialect == "sqlite" and path not in {"", ":memory:"}:
            # On SQLite a point read by unique index takes microseconds: asking aiosqlite's
            # thread for it costs more than the read. A read-only connection of our own answers
            # in the event loop instead (WAL readers see every committed write).
            self._sqlite = sqlite3.connect(
                f"file:{path}?mode=ro", uri=True, check_same_thread=False
            )
            # Reads through a memory map skip a system call per page, and a larger page cache
            # keeps the upper levels of the key index at hand (uniform keys touch every leaf).
            self._sqlite.execute(f"PRAGMA mmap_size = {_SQLITE_MMAP_BYTES}")
            self._sqlite.execute(f"PRAGMA cache_size = -{_SQLITE_CACHE_KIB}")

    async def open_pool(self, size: int = 8) -> None:
        """On PostgreSQL, read through a pool of plain asyncpg connections (see ``aclose``).

        SQLAlchemy's async pool pings every connection it hands out and wraps each statement;
        on the resolution path a prepared statement on a raw connection does one round trip.
        Whoever opens the pool closes it (the application's lifespan does).
        """
        if self.db.dialect != "postgresql" or self._pool is not None:
            return
        url = make_url(self.db.url).set(drivername="postgresql")
        self._pool = await asyncpg.create_pool(
            url.render_as_string(hide_password=False), min_size=1, max_size=size
        )

    async def aclose(self) -> None:
        """Close what the resolver opened."""
        if self.warming is not None:
            self.warming.cancel()
            await asyncio.gather(self.warming, return_exceptions=True)
            self.warming = None
        if self._reads:
            await asyncio.gather(*self._reads, return_exceptions=True)
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
        self.close()

    async def read_chunk(self, after: int, limit: int) -> list[WarmRow]:
        """Up to ``limit`` served records with ids past ``after``, in id order (the warm-up)."""
        if self._sqlite is not None:
            rows = self._sqlite.execute(SQLITE_WARM, (after, limit))
            return [(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows]
        if self._pool is not None:
            rows = await self._pool.fetch(PG_WARM, after, limit)
            return [(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows]
        async with self.db.engine.connect() as conn:
            found = await conn.execute(_WARM, {"after": after, "limit": limit})
            return [(r[0], r[1], r[2], r[3], r[4], r[5]) for r in found]

    async def _read(self, key: str) -> Found | None:
        if self._sqlite is not None:
            found = self._sqlite.execute(SQLITE_REST, (key,)).fetchone()
            return (found[0], found[1], found[2], found[3]) if found else None
        if self._pool is not None:
            return await self._read_together(key)
        async with self.db.engine.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(_HANDLES.c.handle, _HANDLES.c.record, _PREFIXES.c.prefix)
                    .join(_PREFIXES, _PREFIXES.c.id == _HANDLES.c.prefix_id)
                    .where(_HANDLES.c.key == key, _PREFIXES.c.status != "revoked")
                )
            ).first()
        return (row[0], row[1], row[2], None) if row else None

    async def _read_together(self, key: str) -> Found | None:
        # The misses of one turn of the event loop are read with one query: on PostgreSQL the
        # round trip and the statement cost more than the rows, and under load dozens of
        # requests miss the cache in the same turn.
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[Found | None] = loop.create_future()
        self._waiting.append((key, waiter))
        if len(self._waiting) == 1:
            loop.call_soon(self._read_waiting)
        return await waiter

    def _read_waiting(self) -> None:
        # One read in flight at a time: the misses that arrive meanwhile wait for it and go
        # together in the next one, so under load a query carries dozens of keys instead of a
        # few (PostgreSQL's cost is per statement far more than per row).
        if not self._waiting or self._reads:
            return
        batch, self._waiting = self._waiting, []
        task = asyncio.get_running_loop().create_task(self._fetch(batch))
        self._reads.add(task)  # a strong reference until it is done
        task.add_done_callback(self._read_done)

    def _read_done(self, task: asyncio.Task[None]) -> None:
        self._reads.discard(task)
        self._read_waiting()  # the misses that queued up behind it

    async def _fetch(self, batch: list[tuple[str, asyncio.Future[Found | None]]]) -> None:
        assert self._pool is not None
        try:
            rows = await self._pool.fetch(PG_LOOKUP_MANY, list({key for key, _ in batch}))
        except Exception as exc:  # handed to every waiting request, which answers it
            for _, waiter in batch:
                if not waiter.done():
                    waiter.set_exception(exc)
            return
        found = {row[0]: (row[1], row[2], row[3], row[4]) for row in rows}
        for key, waiter in batch:
            if not waiter.done():  # a request may have been cancelled meanwhile
                waiter.set_result(found.get(key))

    def close(self) -> None:
        """Close the SQLite read connection, if any."""
        if self._sqlite is not None:
            self._sqlite.close()
            self._sqlite = None

    @staticmethod
    def _read_many_sqlite(conn: sqlite3.Connection, keys: list[str]) -> Answers:
        rows = conn.execute(SQLITE_ANSWERS, (orjson.dumps(keys).decode(),))
        return {row[0]: (row[1], row[2], row[3], row[4]) for row in rows}

    async def _read_many(self, keys: list[str]) -> Answers:
        if self._sqlite is not None:
            return self._read_many_sqlite(self._sqlite, keys)
        if self._pool is not None:
            rows = await self._pool.fetch(PG_ANSWERS, list(set(keys)))
            return {row[0]: (row[1], row[2], row[3], row[4]) for row in rows}
        found: Answers = {}
        for key in set(keys):
            row = await self._read(key)
            if row is not None:
                found[key] = (row[0], None, row[1], row[2])
        return found
