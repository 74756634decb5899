"""Cache coherence across processes on PostgreSQL: the change log pushed with LISTEN/NOTIFY.

    a write, in any process ─► INSERT INTO id_changes (same transaction)
                                 └► trigger (identifiers_0006): pg_notify('taihu_id_changes',
                                    '[[id, key], ...]'; '' for a statement of over 100 rows)
    at COMMIT ─► every resolver process: one asyncpg connection LISTENing
                   ├► a list: those keys dropped from the cache in the callback, at once
                   └► '': the change log read from the last id seen (a batch import)
                 and every HEARTBEAT seconds the change log read on that connection: it proves
                 the connection alive and catches whatever a notification did not name

While the listener is up the resolver does not read the change log on the request path at all
(``Resolver.pushed``). When the connection is lost (closed by the server: at once, through the
termination callback; hung: the heartbeat read times out) the resolver falls back to its SQLite
mechanism (the change log read at most ``SYNC_INTERVAL`` before an answer) while this task
reconnects with jittered exponential backoff; once listening again it reads the log from where
it stopped, then stops polling.

The bound: a write is out of every other process's cache when its notification arrives
(loopback: about a millisecond after commit); with the listening connection hung, within
``HEARTBEAT + HEARTBEAT_TIMEOUT`` (3 s); with it closed, within ``SYNC_INTERVAL`` (0.5 s).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Iterable
from typing import Any, Protocol

import asyncpg
import orjson

__all__ = ["CHANNEL", "HEARTBEAT", "HEARTBEAT_TIMEOUT", "ChangeListener", "ChangeSink"]

log = logging.getLogger("taihu.identifiers")

CHANNEL = "taihu_id_changes"
HEARTBEAT = 1.0  # seconds between change-log reads on the listening connection
HEARTBEAT_TIMEOUT = 2.0  # a read taking longer: the connection is taken for lost
_BACKOFF_FIRST = 0.1
_BACKOFF_MAX = 10.0
_CHANGES_SINCE = "SELECT id, key FROM id_changes WHERE id > $1 ORDER BY id"
_LATEST = "SELECT coalesce(max(id), 0) FROM id_changes"


class ChangeSink(Protocol):
    """What the listener keeps coherent: the resolver's cache."""

    @property
    def change_cursor(self) -> int | None:
        """The last change id read (``None``: never read)."""
        ...

    def apply_changes(self, changes: Iterable[tuple[int, str]], *, read: bool) -> None:
        """Drop the changed keys (``read``: a read of the log, not a notification)."""
        ...

    def set_pushed(self, pushed: bool) -> None:
        """Whether changes arrive pushed (no reads of the log on the request path)."""
        ...


class ChangeListener:
    """One LISTENing connection per process, reconnected until ``stop``."""

    def __init__(self, url: str, sink: ChangeSink, *, heartbeat: float = HEARTBEAT) -> None:
        self.url, self.sink, self.heartbeat = url, sink, heartbeat
        self.server_pid: int | None = None  # the listening backend (tests terminate it)
        self.connections = 0  # how many times it connected (tests wait for a reconnection)
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    @property
    def listening(self) -> bool:
        """Whether changes arrive pushed right now."""
        return self.server_pid is not None

    def start(self) -> None:
        """Listen in a task of its own (named), until ``stop``."""
        self._task = asyncio.get_running_loop().create_task(self._run(), name="taihu-id-changes")

    async def stop(self) -> None:
        """Stop listening and close the connection."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        delay = _BACKOFF_FIRST
        while True:
            try:
                conn = await asyncpg.connect(self.url, timeout=5)
            except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
                log.warning("change notifications: cannot connect (%s); retrying", exc)
                await asyncio.sleep(delay * random.uniform(0.5, 1.5))  # noqa: S311 - jitter
                delay = min(delay * 2, _BACKOFF_MAX)
                continue
            delay = _BACKOFF_FIRST
            try:
                await self._listen(conn)
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("change notifications lost (%s): polling the change log until "
                            "listening again", exc)  # fmt: skip
            finally:
                self._lost()
                with contextlib.suppress(Exception):  # already gone, most often
                    conn.terminate()
            await asyncio.sleep(_BACKOFF_FIRST * random.uniform(0.5, 1.5))  # noqa: S311 - jitter

    def _lost(self, *_: Any) -> None:
        self.server_pid = None
        self.sink.set_pushed(False)
        self._wake.set()  # the heartbeat loop notices at once

    async def _listen(self, conn: asyncpg.Connection) -> None:
        conn.add_termination_listener(self._lost)
        await conn.add_listener(CHANNEL, self._notified)
        # LISTEN first, then the log: a change committed in between is dropped either way.
        await self._read(conn)
        self.server_pid = conn.get_server_pid()
        self.connections += 1
        self.sink.set_pushed(True)
        log.info("change notifications: listening (backend %d)", self.server_pid)
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.heartbeat):
                    await self._wake.wait()
            self._wake.clear()
            if conn.is_closed():
                return
            await self._read(conn)

    async def _read(self, conn: asyncpg.Connection) -> None:
        """Read the change log past the cursor on the listening connection (bounded in time)."""
        async with asyncio.timeout(HEARTBEAT_TIMEOUT):
            cursor = self.sink.change_cursor
            if cursor is None:
                latest = await conn.fetchval(_LATEST)
                self.sink.apply_changes([(int(latest), "")], read=True)
                return
            rows = await conn.fetch(_CHANGES_SINCE, cursor)
        self.sink.apply_changes([(row[0], row[1]) for row in rows], read=True)

    def _notified(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        if not payload:
            self._wake.set()  # too many to name: read the log now
            return
        try:
            changes = orjson.loads(payload)
        except orjson.JSONDecodeError:
            self._wake.set()
            return
        self.sink.apply_changes([(int(i), str(k)) for i, k in changes], read=False)
