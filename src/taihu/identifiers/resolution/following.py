"""The resolver following the change log: read on the request path, or pushed by PostgreSQL.

``ChangeFollowing`` is the base of ``Resolver`` (``resolver``): it keeps the position in
``id_changes`` and drops the keys written since, in one of two ways.

    SQLite, or PostgreSQL while nothing is pushed:
        a request finding the log unread for SYNC_INTERVAL (0.5 s) reads it first (``_sync``)
    PostgreSQL with the listener up (``changes.ChangeListener``):
        NOTIFY at each commit ─► ``apply_changes`` in the callback; the request path reads no log

A row read from PostgreSQL while a notification drops its key is read again rather than cached
(``_read_fresh``): otherwise the old answer would stay until its TTL.
"""

from __future__ import annotations

import math
import sqlite3
import time
from collections.abc import Awaitable, Callable, Iterable
from datetime import timedelta
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from taihu.core import Clock, Database
from taihu.identifiers.models import HandleChange
from taihu.identifiers.resolution.changes import ChangeListener
from taihu.identifiers.resolution.queries import SQLITE_CHANGES, SQLITE_LATEST
from taihu.identifiers.resolution.reads import RecordReads

__all__ = ["SYNC_INTERVAL", "ChangeFollowing"]

SYNC_INTERVAL = 0.5
_CHANGE_RETENTION = timedelta(hours=1)
_CHANGES = sa.inspect(HandleChange).local_table
_T = TypeVar("_T")


class ChangeFollowing(RecordReads):
    """Reads of stored records, and the change log followed so that a cache can stay fresh."""

    def __init__(
        self, db: Database, clock: Clock, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__(db)
        self.clock = clock
        self.monotonic = monotonic
        self._last_change: int | None = None
        self._last_sync = 0.0
        # Seconds between reads of the change log on the request path: none while pushed.
        self._sync_every = SYNC_INTERVAL
        self.listener: ChangeListener | None = None  # on PostgreSQL, opened with the pool
        # Keys being read (by how many reads) and, of those, the ones dropped meanwhile (with
        # the generation of the drop): a row read before a notification dropped its key must
        # not be cached after it (``_read_fresh``). Both bounded by the reads under way.
        self._inflight: dict[str, int] = {}
        self._stale: dict[str, int] = {}
        self._generation = 0
        # Resolutions are counted under the day read at the last sync, not per request.
        self._day = clock.now().date().isoformat()

    def _drop(self, key: str) -> None:
        """Forget ``key`` (the resolver drops its cache entry, then calls this)."""
        if key in self._inflight:
            self._generation += 1
            self._stale[key] = self._generation

    async def _sync(self, now: float) -> None:
        if self._sqlite is not None:
            self._sync_sqlite(self._sqlite, now)
            return
        self._last_sync = now
        self._day = self.clock.now().date().isoformat()
        async with self.db.engine.connect() as conn:
            if self._last_change is None:
                latest = await conn.scalar(sa.select(sa.func.max(_CHANGES.c.id)))
                self._last_change = int(latest or 0)
                return
            rows = await conn.execute(
                sa.select(_CHANGES.c.id, _CHANGES.c.key)
                .where(_CHANGES.c.id > self._last_change)
                .order_by(_CHANGES.c.id)
            )
            self.apply_changes([(row[0], row[1]) for row in rows], read=False)

    def _sync_sqlite(self, conn: sqlite3.Connection, now: float) -> None:
        self._last_sync = now
        self._day = self.clock.now().date().isoformat()
        if self._last_change is None:
            self._last_change = int(conn.execute(SQLITE_LATEST).fetchone()[0] or 0)
            return
        self.apply_changes(conn.execute(SQLITE_CHANGES, (self._last_change,)), read=False)

    @property
    def change_cursor(self) -> int | None:
        """The last change id read (``None``: the change log never read)."""
        return self._last_change

    def apply_changes(self, changes: Iterable[tuple[int, str]], *, read: bool) -> None:
        """Drop the keys of ``changes`` (id, key) and move the cursor past them.

        ``read``: the listener's read of the log, which also stands for a sync done now.
        """
        last = self._last_change or 0
        for change_id, key in changes:
            self._drop(key)
            last = max(last, change_id)
        self._last_change = last
        if read:
            self._last_sync = self.monotonic()
            self._day = self.clock.now().date().isoformat()

    def set_pushed(self, pushed: bool) -> None:
        """Whether the change log arrives pushed; if not, read it on the request path again."""
        self._sync_every = math.inf if pushed else SYNC_INTERVAL

    @property
    def pushed(self) -> bool:
        """Whether changes arrive pushed (the request path reads no change log)."""
        return self._sync_every == math.inf

    async def open_pool(self, size: int = 8) -> None:
        """The PostgreSQL read pool (``RecordReads``), and the change notifications listened to."""
        await super().open_pool(size)
        if self._pool is not None and self.listener is None:
            url = make_url(self.db.url).set(drivername="postgresql")
            self.listener = ChangeListener(url.render_as_string(hide_password=False), self)
            self.listener.start()

    async def aclose(self) -> None:
        """Stop listening, then close what the resolver opened."""
        if self.listener is not None:
            await self.listener.stop()
            self.listener = None
            self.set_pushed(False)
        await super().aclose()

    async def _read_fresh(
        self, keys: list[str], read: Callable[[Any], Awaitable[_T]], arg: Any
    ) -> _T:
        """``read(arg)`` again until none of ``keys`` was dropped while it was under way.

        A notification may drop a key while its old row is on the way from the database;
        caching that row would keep the old answer until its TTL.
        """
        inflight, stale = self._inflight, self._stale
        while True:
            mark = self._generation
            for key in keys:
                inflight[key] = inflight.get(key, 0) + 1
            try:
                found = await read(arg)
            finally:
                again = False
                for key in keys:
                    if stale.get(key, -1) > mark:
                        again = True
                    left = inflight[key] - 1
                    if left:
                        inflight[key] = left
                    else:
                        del inflight[key]
                        stale.pop(key, None)
            if not again:
                return found

    def sync_due(self) -> bool:
        """Whether the change log is due a read on the request path (never read, or stale)."""
        return self._last_change is None or self.monotonic() - self._last_sync >= self._sync_every

    async def sync(self) -> None:
        """Read the change log now (dropping the keys written since the last read)."""
        await self._sync(self.monotonic())

    async def prune_changes(self) -> int:
        """Delete change-log rows older than an hour (every worker has long seen them)."""
        cutoff = self.clock.now() - _CHANGE_RETENTION
        async with self.db.engine.begin() as conn:
            result = await conn.execute(sa.delete(HandleChange).where(HandleChange.at < cutoff))
        return int(result.rowcount or 0)
