"""Resolution on the hot path: Core SQL, a per-process cache honouring TTLs, counters off the path.

Freshness across worker processes: every write adds a row to ``id_changes`` in its own unit of
work. Before answering from its cache, a resolver that has not looked for ``SYNC_INTERVAL``
seconds reads the changes since the last id it saw and drops those keys. A write is therefore
visible to every worker within ``SYNC_INTERVAL`` (0.5 s) plus one query, and at once in the
process that made it (the service's caller invalidates directly). ``auth=true`` bypasses the
cache altogether. Entries also expire with the shortest TTL among their values.

Resolution counts are kept in memory and added to ``id_stats_daily`` every ``FLUSH_INTERVAL``
seconds, so counting never costs a write per request.

The cache holds flat tuples of strings and bytes: the stored record and the anonymous answers
already rendered, for REST (the JSON body) and for the Handle protocol (the public values
encoded), each made on the first resolution that needs it. Such tuples are not tracked by the
garbage collector, so a full cache costs a collection nothing. The cache of parsed values it
replaced (millions of small dicts) gave full collections a lot to walk; with this layout the p99
of the resolution benchmark fell from 300 to 400 ms to about 20 ms on the same box
(docs/benchmarks.md).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import struct
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from itertools import repeat
from typing import Any, Final, Literal

import asyncpg
import orjson
import sqlalchemy as sa
from prometheus_client import Counter as PromCounter
from sqlalchemy.engine import make_url

from taihu.core import Clock, Database
from taihu.identifiers.models import HandleChange, HandleRow, Prefix
from taihu.identifiers.records.rest import RC_SUCCESS, select_values
from taihu.identifiers.records.wire_values import CACHE_SECONDS, WireValue, public_wire

__all__ = [
    "FLUSH_INTERVAL",
    "SYNC_INTERVAL",
    "CachedRecord",
    "PublicAnswer",
    "Resolver",
    "WireAnswer",
    "WireValue",
    "ttl_seconds",
]

log = logging.getLogger("taihu.identifiers")

SYNC_INTERVAL = 0.5
FLUSH_INTERVAL = 5.0
_MAX_ENTRIES = 200_000
_NEGATIVE_TTL = 60.0
_CHANGE_RETENTION = timedelta(hours=1)
_SQLITE_MMAP_BYTES = 4 << 30
_SQLITE_CACHE_KIB = 32 << 10

_SQLITE_LOOKUP = (
    "SELECT h.handle, h.record, p.prefix FROM id_handles h JOIN id_prefixes p "
    "ON p.id = h.prefix_id WHERE h.key = ? AND p.status != 'revoked'"
)
# The misses of one batch of datagrams in one statement: json_each keeps the statement text
# the same whatever the number of keys, and SQLite walks the key index in key order. The stored
# answer where there is one, else the record to render it from.
_SQLITE_ANSWERS = (
    "SELECT h.key, h.handle, h.wire, CASE WHEN h.wire IS NULL THEN h.record END, p.prefix "
    "FROM id_handles h JOIN id_prefixes p ON p.id = h.prefix_id "
    "WHERE h.key IN (SELECT value FROM json_each(?)) AND p.status != 'revoked'"
)
_PG_ANSWERS = (
    "SELECT h.key, h.handle, h.wire, CASE WHEN h.wire IS NULL THEN h.record END, p.prefix "
    "FROM id_handles h JOIN id_prefixes p ON p.id = h.prefix_id "
    "WHERE h.key = ANY($1::varchar[]) AND p.status != 'revoked'"
)
# The records of the misses of one turn of the event loop (every other reader).
_PG_LOOKUP_MANY = (
    "SELECT h.key, h.handle, h.record, p.prefix FROM id_handles h JOIN id_prefixes p "
    "ON p.id = h.prefix_id WHERE h.key = ANY($1::varchar[]) AND p.status != 'revoked'"
)
# key -> (handle, stored answer or None, record when there is no answer, prefix)
_Answers = dict[str, tuple[str, bytes | None, str | None, str]]
_SQLITE_LATEST = "SELECT max(id) FROM id_changes"
_SQLITE_CHANGES = "SELECT id, key FROM id_changes WHERE id > ? ORDER BY id"

RESOLUTIONS = PromCounter(
    "taihu_identifier_resolutions_total", "Identifier resolutions answered", ["result"]
)
REGISTRATIONS = PromCounter("taihu_identifier_registrations_total", "Identifiers registered")
# Bound once: looking a labelled child up takes a lock and a dict, per resolution.
_FOUND = RESOLUTIONS.labels("found")
_NOT_FOUND = RESOLUTIONS.labels("not_found")

_HANDLES = sa.inspect(HandleRow).local_table
_PREFIXES = sa.inspect(Prefix).local_table
_CHANGES = sa.inspect(HandleChange).local_table


@dataclass(frozen=True, slots=True)
class CachedRecord:
    """A resolved record: the stored values (REST JSON dicts, permissions included)."""

    handle: str
    prefix: str
    values: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class PublicAnswer:
    """What anyone may see of a record: the rendered Handle REST answer of its public values."""

    handle: str
    prefix: str
    body: bytes

    def values(self) -> list[dict[str, Any]]:
        """The public values (REST JSON dicts, as the body shows them)."""
        shown: list[dict[str, Any]] = orjson.loads(self.body)["values"]
        return shown


@dataclass(frozen=True, slots=True)
class WireAnswer:
    """What anyone may see of a record over the Handle protocol: its public values, encoded."""

    handle: str
    prefix: str
    record: str
    body: bytes  # the body of the anonymous RESOLUTION reply: handle, value count, values

    @property
    def encoded(self) -> bytes:
        """The value count (u32) then each public value, as a RESOLUTION reply sends them."""
        return self.body[4 + _U32.unpack_from(self.body)[0] :]

    def values(self) -> list[WireValue]:
        """The public values one by one (for a request that asks for some types or indexes)."""
        return public_wire(orjson.loads(self.record))


# A cache entry, a flat tuple of atoms: (expires, handle, prefix, stored record, REST answer, wire
# answer); handle "": no such handle. Each answer is rendered when a resolution first asks for it
# (the JSON body for HTTP, the RESOLUTION reply body for the Handle protocol) and kept in the
# entry, so a node serving one protocol never renders the other; None until then. Only atoms, no
# nested tuples: the collector stops tracking such a tuple at the first collection it sees it in.
# A plain UDP resolution caches the answer the database keeps, without the record (record ""):
# only ``bodies_now``/``bodies`` use such an entry; to every other reader it is a miss.
_Entry = tuple[float, str, str, str, bytes | None, bytes | None]
_REST: Final = 4
_U32 = struct.Struct(">I")
_WIRE: Final = 5


def _public_body(handle: str, values: list[dict[str, Any]]) -> bytes:
    shown = select_values(values, types=[], indexes=[], include_private=False)
    body = orjson.dumps({"responseCode": RC_SUCCESS, "handle": handle, "values": shown})
    # Copied to its own size: orjson's bytes keep a buffer of at least 4 KiB whatever their
    # length, and the cache keeps up to max_entries of them (bench/soak.py saw the heap grow
    # by ~4 KiB per identifier resolved, for answers of ~200 bytes).
    return bytes(memoryview(body))


def _wire_body(handle: str, values: list[dict[str, Any]]) -> bytes:
    public = public_wire(values)
    name = handle.encode("utf-8")
    count = _U32.pack(len(public))
    return _U32.pack(len(name)) + name + count + b"".join(value[2] for value in public)


def _rendered(entry: _Entry, form: int, values: list[dict[str, Any]] | None = None) -> _Entry:
    """``entry`` with its ``form`` (``_REST`` or ``_WIRE``) rendered (``values``: parsed record)."""
    if entry[form] is not None or not entry[1]:
        return entry
    if values is None:
        values = orjson.loads(entry[3])
    if form == _REST:
        return (*entry[:4], _public_body(entry[1], values), entry[5])
    return (*entry[:5], _wire_body(entry[1], values))


def _wire_answer(entry: _Entry) -> WireAnswer | None:
    encoded = entry[_WIRE]
    return WireAnswer(entry[1], entry[2], entry[3], encoded) if encoded is not None else None


def ttl_seconds(values: list[dict[str, Any]], now: float) -> float:
    """How long a record may be cached: the shortest TTL among its values."""
    shortest = float(CACHE_SECONDS)
    for value in values:
        ttl = float(value.get("ttl", CACHE_SECONDS))
        if value.get("ttlType") == 1:
            ttl = ttl - now
        shortest = min(shortest, ttl)
    return max(shortest, 0.0)


class Resolver:
    """A per-process resolution cache in front of the handles table."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        max_entries: int = _MAX_ENTRIES,
    ) -> None:
        self.db = db
        # About 1 KB per entry (record and rendered answers), so the bound is the cache's memory:
        # TAIHU_HANDLE_RESOLVER_CACHE_ENTRIES (bench/soak.py: the heap grows until it is reached).
        self.max_entries = max(int(max_entries), 2)
        self.clock = clock
        self.monotonic = monotonic
        self._sqlite: sqlite3.Connection | None = None
        self._pool: asyncpg.Pool | None = None
        self._waiting: list[tuple[str, asyncio.Future[tuple[str, str, str] | None]]] = []
        self._reads: set[asyncio.Task[None]] = set()
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
        self._cache: dict[str, _Entry] = {}
        self._last_change: int | None = None
        self._last_sync = 0.0
        self._last_flush = self.monotonic()
        self._counts: Counter[tuple[str, str]] = Counter()
        # Counted under the day read at the last sync (every half second), not per request.
        self._day = clock.now().date().isoformat()

    def invalidate(self, key: str) -> None:
        """Forget a key (called by the process that wrote it)."""
        self._cache.pop(key, None)

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
            for change_id, key in rows:
                self._cache.pop(key, None)
                self._last_change = change_id

    def _sync_sqlite(self, conn: sqlite3.Connection, now: float) -> None:
        self._last_sync = now
        self._day = self.clock.now().date().isoformat()
        if self._last_change is None:
            self._last_change = int(conn.execute(_SQLITE_LATEST).fetchone()[0] or 0)
            return
        for change_id, key in conn.execute(_SQLITE_CHANGES, (self._last_change,)):
            self._cache.pop(key, None)
            self._last_change = change_id

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
        if self._reads:
            await asyncio.gather(*self._reads, return_exceptions=True)
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
        self.close()

    async def _read(self, key: str) -> tuple[str, str, str] | None:
        if self._sqlite is not None:
            found = self._sqlite.execute(_SQLITE_LOOKUP, (key,)).fetchone()
            return (found[0], found[1], found[2]) if found else None
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
        return (row[0], row[1], row[2]) if row else None

    async def _read_together(self, key: str) -> tuple[str, str, str] | None:
        # The misses of one turn of the event loop are read with one query: on PostgreSQL the
        # round trip and the statement cost more than the rows, and under load dozens of
        # requests miss the cache in the same turn.
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[tuple[str, str, str] | None] = loop.create_future()
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

    async def _fetch(
        self, batch: list[tuple[str, asyncio.Future[tuple[str, str, str] | None]]]
    ) -> None:
        assert self._pool is not None
        try:
            rows = await self._pool.fetch(_PG_LOOKUP_MANY, list({key for key, _ in batch}))
        except Exception as exc:  # handed to every waiting request, which answers it
            for _, waiter in batch:
                if not waiter.done():
                    waiter.set_exception(exc)
            return
        found = {row[0]: (row[1], row[2], row[3]) for row in rows}
        for key, waiter in batch:
            if not waiter.done():  # a request may have been cancelled meanwhile
                waiter.set_result(found.get(key))

    def close(self) -> None:
        """Close the SQLite read connection, if any."""
        if self._sqlite is not None:
            self._sqlite.close()
            self._sqlite = None

    async def lookup(self, key: str, *, fresh: bool = False) -> CachedRecord | None:
        """The record of a normalized handle key, or ``None``; ``fresh`` skips the cache."""
        entry = await self._entry(key, None, fresh=fresh)
        if not entry[1]:
            return None
        return CachedRecord(entry[1], entry[2], orjson.loads(entry[3]))

    async def public(self, key: str, *, fresh: bool = False) -> PublicAnswer | None:
        """The anonymous answer for a normalized handle key, or ``None`` (``fresh``: no cache)."""
        entry = await self._entry(key, _REST, fresh=fresh)
        body = entry[_REST]
        return PublicAnswer(entry[1], entry[2], body) if body is not None else None

    async def wire(self, key: str) -> WireAnswer | None:
        """The public values of a normalized handle key, wire-encoded, or ``None``."""
        return _wire_answer(await self._entry(key, _WIRE))

    def wire_now(self, key: str) -> WireAnswer | Literal[False] | None:
        """``wire`` without waiting: ``False`` when only a PostgreSQL round trip can answer.

        On SQLite every read is a local call, so the Handle server answers a resolution in the
        datagram callback itself, without a task per request.
        """
        now = self.monotonic()
        if now - self._last_sync >= SYNC_INTERVAL:
            if self._sqlite is None:
                return False
            self._sync_sqlite(self._sqlite, now)
        hit = self._hit(key, now, _WIRE)
        if hit is not None:
            return _wire_answer(hit)
        if self._sqlite is None:
            return False
        found = self._sqlite.execute(_SQLITE_LOOKUP, (key,)).fetchone()
        return _wire_answer(self._store(key, found, now, _WIRE))

    def bodies_now(self, keys: list[str]) -> list[bytes | Literal[False] | None]:
        """For each normalized key its anonymous RESOLUTION reply body, ``None`` for no such handle.

        ``False`` where only a PostgreSQL round trip can tell (ask ``bodies``). The UDP hot
        path: hits come from the cache, and on SQLite the misses of the whole batch are read
        with one query, in the datagram callback.
        """
        now = self.monotonic()
        if now - self._last_sync >= SYNC_INTERVAL:
            if self._sqlite is None:
                return [False] * len(keys)
            self._sync_sqlite(self._sqlite, now)
        bodies, missing = self._cached_bodies(keys, now)
        if missing and self._sqlite is not None:
            wanted = [keys[i] for i in missing]
            self._fill(bodies, keys, missing, self._read_many_sqlite(self._sqlite, wanted), now)
        return bodies

    async def bodies(self, keys: list[str]) -> list[bytes | None]:
        """``bodies_now`` with the waiting done: the misses read with one query."""
        now = self.monotonic()
        if now - self._last_sync >= SYNC_INTERVAL:
            await self._sync(now)
        bodies, missing = self._cached_bodies(keys, now)
        if missing:
            rows = await self._read_many([keys[i] for i in missing])
            self._fill(bodies, keys, missing, rows, now)
        return [body if body is not False else None for body in bodies]  # every one filled

    def _cached_bodies(
        self, keys: list[str], now: float
    ) -> tuple[list[bytes | Literal[False] | None], list[int]]:
        """The reply bodies the cache holds (``False`` for a miss) and where the misses are."""
        cache = self._cache
        bodies: list[bytes | Literal[False] | None] = []
        missing: list[int] = []
        prefixes: list[str] = []
        for position, key in enumerate(keys):
            hit = cache.get(key)
            if hit is None or hit[0] <= now:
                bodies.append(False)
                missing.append(position)
                continue
            if hit[_WIRE] is None and hit[1]:
                hit = cache[key] = _rendered(hit, _WIRE)
            bodies.append(hit[_WIRE])
            prefixes.append(hit[2])
        self._count_all(prefixes)
        return bodies, missing

    def _fill(
        self,
        bodies: list[bytes | Literal[False] | None],
        keys: list[str],
        missing: list[int],
        rows: _Answers,
        now: float,
    ) -> None:
        stored: dict[str, _Entry] = {}  # a key asked twice in one batch is rendered once
        prefixes: list[str] = []
        wall = self.clock.now().timestamp()
        for position in missing:
            key = keys[position]
            entry = stored.get(key)
            if entry is None:
                row = rows.get(key)
                if row is None:
                    entry = self._put(key, None, now, _WIRE, wall)
                elif row[1] is None:  # no stored answer: render the record
                    entry = self._put(key, (row[0], row[2] or "", row[3]), now, _WIRE, wall)
                else:
                    entry = self._put_answer(key, row[0], row[1], row[3], now)
                stored[key] = entry
            bodies[position] = entry[_WIRE]
            prefixes.append(entry[2])
        self._count_all(prefixes)

    def _put_answer(self, key: str, handle: str, answer: bytes, prefix: str, now: float) -> _Entry:
        """Cache the answer the database keeps for ``key`` (see ``wire_answer``), without record."""
        name = handle.encode("utf-8")
        body = _U32.pack(len(name)) + name + answer[4:]
        entry: _Entry = (now + _U32.unpack_from(answer)[0], handle, prefix, "", None, body)
        self._remember(key, entry)
        return entry

    @staticmethod
    def _read_many_sqlite(conn: sqlite3.Connection, keys: list[str]) -> _Answers:
        rows = conn.execute(_SQLITE_ANSWERS, (orjson.dumps(keys).decode(),))
        return {row[0]: (row[1], row[2], row[3], row[4]) for row in rows}

    async def _read_many(self, keys: list[str]) -> _Answers:
        if self._sqlite is not None:
            return self._read_many_sqlite(self._sqlite, keys)
        if self._pool is not None:
            rows = await self._pool.fetch(_PG_ANSWERS, list(set(keys)))
            return {row[0]: (row[1], row[2], row[3], row[4]) for row in rows}
        found: _Answers = {}
        for key in set(keys):
            row = await self._read(key)
            if row is not None:
                found[key] = (row[0], None, row[1], row[2])
        return found

    async def _entry(self, key: str, form: int | None, *, fresh: bool = False) -> _Entry:
        now = self.monotonic()
        if now - self._last_sync >= SYNC_INTERVAL:
            await self._sync(now)
        if not fresh:
            hit = self._hit(key, now, form)
            if hit is not None:
                return hit
        return self._store(key, await self._read(key), now, form)

    def _hit(self, key: str, now: float, form: int | None) -> _Entry | None:
        """The live cache entry of ``key`` (counted), with ``form`` rendered; ``None``: a miss."""
        hit = self._cache.get(key)
        if hit is None or hit[0] <= now or (hit[1] and not hit[3]):  # expired, or answer only
            return None
        if form is not None and hit[form] is None and hit[1]:
            hit = _rendered(hit, form)
            self._cache[key] = hit
        self._count(hit[2])
        return hit

    def _store(
        self, key: str, row: tuple[str, str, str] | None, now: float, form: int | None
    ) -> _Entry:
        entry = self._put(key, row, now, form)
        self._count(entry[2])
        return entry

    def _put(
        self,
        key: str,
        row: tuple[str, str, str] | None,
        now: float,
        form: int | None,
        wall: float | None = None,
    ) -> _Entry:
        """Cache what the database said of ``key`` (``row``: ``None`` for no such handle).

        ``wall``: the clock's time as a POSIX timestamp, read once for a batch of rows.
        """
        entry: _Entry = (now + _NEGATIVE_TTL, "", "", "", None, None)
        if row is not None:
            handle, record, prefix = row
            values = orjson.loads(record)
            if wall is None:
                wall = self.clock.now().timestamp()
            expires = now + ttl_seconds(values, wall)
            entry = (expires, handle, prefix, record, None, None)
            if form is not None:
                entry = _rendered(entry, form, values)
        self._remember(key, entry)
        return entry

    def _remember(self, key: str, entry: _Entry) -> None:
        if len(self._cache) >= self.max_entries:
            # Drop the older half (dicts keep insertion order): cheap and good enough for LRU-ish.
            for stale in list(self._cache)[: self.max_entries // 2]:
                del self._cache[stale]
        self._cache[key] = entry

    def _count(self, prefix: str) -> None:
        if not prefix:
            _NOT_FOUND.inc()
            return
        _FOUND.inc()
        self._counts[(self._day, prefix)] += 1

    def _count_all(self, prefixes: list[str]) -> None:
        """``_count`` for many resolutions at once (a batch of datagrams)."""
        found = [prefix for prefix in prefixes if prefix]
        if len(found) < len(prefixes):
            _NOT_FOUND.inc(len(prefixes) - len(found))
        if found:
            _FOUND.inc(len(found))
            self._counts.update(zip(repeat(self._day), found, strict=False))

    def take_counts(self, *, force: bool = False) -> dict[tuple[str, str], int]:
        """The resolution counts gathered since the last flush, when one is due (or forced)."""
        now = self.monotonic()
        if not self._counts or (not force and now - self._last_flush < FLUSH_INTERVAL):
            return {}
        self._last_flush = now
        counts = dict(self._counts)
        self._counts.clear()
        return counts

    def restore_counts(self, counts: dict[tuple[str, str], int]) -> None:
        """Give back counts whose flush failed, to be added with the next one."""
        self._counts.update(counts)

    async def prune_changes(self) -> int:
        """Delete change-log rows older than an hour (every worker has long seen them)."""
        cutoff = self.clock.now() - _CHANGE_RETENTION
        async with self.db.engine.begin() as conn:
            result = await conn.execute(sa.delete(HandleChange).where(HandleChange.at < cutoff))
        return int(result.rowcount or 0)
