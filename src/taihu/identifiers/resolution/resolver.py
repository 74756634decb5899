"""Resolution on the hot path: Core SQL, a per-process cache honouring TTLs, counters off the path.

Freshness across processes: every write adds a row to ``id_changes`` in its own unit of work.
On SQLite (one machine), and on PostgreSQL while no change notifications arrive, a resolver
that has not looked for ``SYNC_INTERVAL`` seconds reads the changes since the last id it saw
before answering from its cache, and drops those keys: a write is visible to every process
within ``SYNC_INTERVAL`` (0.5 s) plus one query. On PostgreSQL the resolver opened with its pool
LISTENs for the change log's notifications instead (``changes``): the keys written are dropped
when the commit's notification arrives (milliseconds), and nothing is read on the request path.
The process that wrote a key drops it at once (the service's caller invalidates directly).
``auth=true`` bypasses the cache altogether. Entries also expire with the shortest TTL among
their values.

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

import logging
import struct
import time
from collections import Counter
from collections.abc import Callable
from itertools import repeat
from typing import Literal

import orjson
import sqlalchemy as sa
from prometheus_client import Counter as PromCounter

from taihu.core import Clock, Database
from taihu.identifiers.models import HandleRow, Prefix
from taihu.identifiers.records import WireValue, spliced_body
from taihu.identifiers.resolution.answers import (
    REST_FORM,
    U32,
    WIRE_FORM,
    CachedRecord,
    Entry,
    PublicAnswer,
    WireAnswer,
    entry_bytes,
    rendered,
    ttl_seconds,
    wire_answer_of,
)
from taihu.identifiers.resolution.following import SYNC_INTERVAL, ChangeFollowing
from taihu.identifiers.resolution.queries import (
    SQLITE_LOOKUP,
    SQLITE_REST,
    Answers,
)
from taihu.identifiers.resolution.reads import Found

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

FLUSH_INTERVAL = 5.0
_MAX_ENTRIES = 200_000
_NEGATIVE_TTL = 60.0
_SQLITE_MMAP_BYTES = 4 << 30
_SQLITE_CACHE_KIB = 32 << 10

RESOLUTIONS = PromCounter(
    "taihu_identifier_resolutions_total", "Identifier resolutions answered", ["result"]
)
REGISTRATIONS = PromCounter("taihu_identifier_registrations_total", "Identifiers registered")
# Bound once: looking a labelled child up takes a lock and a dict, per resolution.
_FOUND = RESOLUTIONS.labels("found")
_NOT_FOUND = RESOLUTIONS.labels("not_found")

_HANDLES = sa.inspect(HandleRow).local_table
_PREFIXES = sa.inspect(Prefix).local_table
_HEAD = struct.Struct(">II")  # a stored wire answer's head: cache seconds, public value count


class Resolver(ChangeFollowing):
    """A per-process resolution cache in front of the handles table."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        max_entries: int = _MAX_ENTRIES,
        max_bytes: int | None = None,
    ) -> None:
        super().__init__(db, clock, monotonic)
        # 1-2 KB per entry (answers only, or record too), bounded twice: by count
        # (TAIHU_HANDLE_RESOLVER_CACHE_ENTRIES) and by the bytes the entries take as counted by
        # ``entry_bytes`` (TAIHU_HANDLE_RESOLVER_CACHE_MEGABYTES); bench/soak.py: the heap grows
        # until the first bound is reached.
        self.max_entries = max(int(max_entries), 2)
        self.max_bytes = max_bytes if max_bytes is not None else self.max_entries * 2048
        self.cached_bytes = 0
        # Keys dropped while a warm-up read is in flight (``warm``): not cached from that read.
        self.dropped_while_warming: set[str] | None = None
        self._cache: dict[str, Entry] = {}
        self._last_flush = self.monotonic()
        self._counts: Counter[tuple[str, str]] = Counter()

    def invalidate(self, key: str) -> None:
        """Forget a key (called by the process that wrote it)."""
        self._drop(key)

    def _drop(self, key: str) -> None:
        entry = self._cache.pop(key, None)
        if entry is not None:
            self.cached_bytes -= entry_bytes(key, entry)
        if self.dropped_while_warming is not None:
            self.dropped_while_warming.add(key)
        super()._drop(key)

    def _replace(self, key: str, old: Entry, new: Entry) -> None:
        """Put ``new`` where ``old`` was (the same key, a form rendered)."""
        self._cache[key] = new
        self.cached_bytes += entry_bytes(key, new) - entry_bytes(key, old)

    async def lookup(self, key: str, *, fresh: bool = False) -> CachedRecord | None:
        """The record of a normalized handle key, or ``None``; ``fresh`` skips the cache."""
        entry = await self._entry(key, None, fresh=fresh)
        if not entry[1]:
            return None
        return CachedRecord(entry[1], entry[2], orjson.loads(entry[3]))

    async def public(self, key: str, *, fresh: bool = False) -> PublicAnswer | None:
        """The anonymous answer for a normalized handle key, or ``None`` (``fresh``: no cache)."""
        entry = await self._entry(key, REST_FORM, fresh=fresh)
        body = entry[REST_FORM]
        return PublicAnswer(entry[1], entry[2], body) if body is not None else None

    def public_now(self, key: str, *, fresh: bool = False) -> PublicAnswer | None:
        """``public`` without waiting, for a handle that exists; ``None``: ask ``public``.

        Answers from the cache, or on SQLite from the read connection in the calling thread.
        A handle the database does not hold (the answer needs the prefix looked up), and on
        PostgreSQL a miss or a change-log sync due, are left to ``public``, with nothing counted
        or cached here: the HTTP front door then passes the request on to the application.
        """
        now = self.monotonic()
        if now - self._last_sync >= self._sync_every:
            if self._sqlite is None:
                return None
            self._sync_sqlite(self._sqlite, now)
        if not fresh:
            cached = self._cache.get(key)
            if (
                cached is not None
                and cached[0] > now
                and cached[1]
                and (cached[3] or cached[REST_FORM] is not None)
            ):
                hit = self._hit(key, now, REST_FORM)
                assert hit is not None  # live, found and with its record or answer: a hit
                return PublicAnswer(hit[1], hit[2], hit[REST_FORM] or b"")
        if self._sqlite is None:
            return None
        found = self._sqlite.execute(SQLITE_REST, (key,)).fetchone()
        if found is None:
            return None
        entry = self._store(key, found, now, REST_FORM)
        return PublicAnswer(entry[1], entry[2], entry[REST_FORM] or b"")

    async def wire(self, key: str) -> WireAnswer | None:
        """The public values of a normalized handle key, wire-encoded, or ``None``."""
        return wire_answer_of(await self._entry(key, WIRE_FORM))

    def wire_now(self, key: str) -> WireAnswer | Literal[False] | None:
        """``wire`` without waiting: ``False`` when only a PostgreSQL round trip can answer.

        On SQLite every read is a local call, so the Handle server answers a resolution in the
        datagram callback itself, without a task per request.
        """
        now = self.monotonic()
        if now - self._last_sync >= self._sync_every:
            if self._sqlite is None:
                return False
            self._sync_sqlite(self._sqlite, now)
        hit = self._hit(key, now, WIRE_FORM)
        if hit is not None:
            return wire_answer_of(hit)
        if self._sqlite is None:
            return False
        found = self._sqlite.execute(SQLITE_LOOKUP, (key,)).fetchone()
        row: Found | None = (found[0], found[1], found[2], None) if found else None
        return wire_answer_of(self._store(key, row, now, WIRE_FORM))

    def bodies_now(self, keys: list[str]) -> list[bytes | Literal[False] | None]:
        """For each normalized key its anonymous RESOLUTION reply body, ``None`` for no such handle.

        ``False`` where only a PostgreSQL round trip can tell (ask ``bodies``). The UDP hot
        path: hits come from the cache, and on SQLite the misses of the whole batch are read
        with one query, in the datagram callback.
        """
        now = self.monotonic()
        if now - self._last_sync >= self._sync_every:
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
        if now - self._last_sync >= self._sync_every:
            await self._sync(now)
        bodies, missing = self._cached_bodies(keys, now)
        if missing:
            wanted = [keys[i] for i in missing]
            rows = await self._read_fresh(wanted, self._read_many, wanted)
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
            # A miss: absent, expired, or kept with its REST answer only.
            if hit is None or hit[0] <= now or (hit[1] and not hit[3] and hit[WIRE_FORM] is None):
                bodies.append(False)
                missing.append(position)
                continue
            if hit[WIRE_FORM] is None and hit[1]:
                old, hit = hit, rendered(hit, WIRE_FORM)
                self._replace(key, old, hit)
            bodies.append(hit[WIRE_FORM])
            prefixes.append(hit[2])
        self._count_all(prefixes)
        return bodies, missing

    def _fill(
        self,
        bodies: list[bytes | Literal[False] | None],
        keys: list[str],
        missing: list[int],
        rows: Answers,
        now: float,
    ) -> None:
        stored: dict[str, Entry] = {}  # a key asked twice in one batch is rendered once
        prefixes: list[str] = []
        wall = self.clock.now().timestamp()
        for position in missing:
            key = keys[position]
            entry = stored.get(key)
            if entry is None:
                row = rows.get(key)
                if row is None:
                    entry = self._put(key, None, now, WIRE_FORM, wall)
                elif row[1] is None:  # no stored answer: render the record
                    entry = self._put(key, (row[0], row[2] or "", row[3]), now, WIRE_FORM, wall)
                else:
                    entry = self._put_answer(key, row[0], row[1], row[3], now)
                stored[key] = entry
            bodies[position] = entry[WIRE_FORM]
            prefixes.append(entry[2])
        self._count_all(prefixes)

    def _put_answer(self, key: str, handle: str, answer: bytes, prefix: str, now: float) -> Entry:
        """Cache the answer the database keeps for ``key`` (see ``wire_answer``), without record."""
        name = handle.encode("utf-8")
        body = U32.pack(len(name)) + name + answer[4:]
        entry: Entry = (now + U32.unpack_from(answer)[0], handle, prefix, "", None, body)
        self.remember(key, entry)
        return entry

    async def _entry(self, key: str, form: int | None, *, fresh: bool = False) -> Entry:
        now = self.monotonic()
        if now - self._last_sync >= self._sync_every:
            await self._sync(now)
        if not fresh:
            hit = self._hit(key, now, form)
            if hit is not None:
                return hit
        return self._store(key, await self._read_fresh([key], self._read, key), now, form)

    def _hit(self, key: str, now: float, form: int | None) -> Entry | None:
        """The live cache entry of ``key`` (counted), with ``form`` rendered; ``None``: a miss."""
        hit = self._cache.get(key)
        if (
            hit is None
            or hit[0] <= now  # expired
            or (hit[1] and not hit[3] and (form is None or hit[form] is None))  # other answer
        ):
            return None
        if form is not None and hit[form] is None and hit[1]:
            old, hit = hit, rendered(hit, form)
            self._replace(key, old, hit)
        self._count(hit[2])
        return hit

    def _store(self, key: str, row: Found | None, now: float, form: int | None) -> Entry:
        head = row[3] if row is not None and form == REST_FORM else None
        body = None
        if row is not None and head is not None and len(head) == _HEAD.size:
            # The REST answer cut from the record's text, its life read from the stored wire
            # answer: no JSON parsed or rendered; kept without the record (half the memory).
            seconds, public = _HEAD.unpack(head)
            body = spliced_body(row[0], row[1], public)
        if row is not None and body is not None:
            entry: Entry = (now + seconds, row[0], row[2], "", body, None)
            self.remember(key, entry)
        else:
            entry = self._put(key, row[:3] if row is not None else None, now, form)
        self._count(entry[2])
        return entry

    def _put(
        self,
        key: str,
        row: tuple[str, str, str] | None,
        now: float,
        form: int | None,
        wall: float | None = None,
    ) -> Entry:
        """Cache what the database said of ``key`` (``row``: ``None`` for no such handle).

        ``wall``: the clock's time as a POSIX timestamp, read once for a batch of rows.
        """
        entry: Entry = (now + _NEGATIVE_TTL, "", "", "", None, None)
        if row is not None:
            handle, record, prefix = row
            values = orjson.loads(record)
            if wall is None:
                wall = self.clock.now().timestamp()
            expires = now + ttl_seconds(values, wall)
            entry = (expires, handle, prefix, record, None, None)
            if form is not None:
                entry = rendered(entry, form, values)
        self.remember(key, entry)
        return entry

    def remember(self, key: str, entry: Entry) -> None:
        """Cache ``entry`` for ``key`` (evicting the older half when a bound is reached)."""
        cache = self._cache
        if len(cache) >= self.max_entries or self.cached_bytes >= self.max_bytes:
            # Drop the older half (dicts keep insertion order): cheap and good enough for LRU-ish.
            for stale in list(cache)[: len(cache) // 2]:
                self.cached_bytes -= entry_bytes(stale, cache.pop(stale))
        old = cache.get(key)
        if old is not None:
            self.cached_bytes -= entry_bytes(key, old)
        cache[key] = entry
        self.cached_bytes += entry_bytes(key, entry)

    def has_room(self, share: float = 1.0) -> bool:
        """Whether the cache is below ``share`` of both its bounds."""
        return (
            len(self._cache) < self.max_entries * share
            and self.cached_bytes < self.max_bytes * share
        )

    def cached(self, key: str) -> bool:
        """Whether ``key`` has an entry (live or not)."""
        return key in self._cache

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
