"""The resolver's cache warmed from the store at start, in the background, as memory allows.

With uniformly spread keys a cache holding a fifth of a node's records misses four times in
five, and a miss (a point read, an answer cut or rendered) costs about ten hits. A node whose
records fit the cache's memory budget (TAIHU_HANDLE_RESOLVER_CACHE_MEGABYTES) is read into it
once, a chunk at a time between requests, both anonymous answers ready (REST and Handle
protocol), as the Handle.Net server holds its database in its heap.

Coherence: the change log is read once before the first chunk, so a write after that point is
dropped by a later sync as any other write is. A chunk read on SQLite is one call in the event
loop (nothing runs between the read and the caching); on PostgreSQL a key dropped while a chunk
is on its way (a sync, a write in this process) is not cached from it. A key already cached
stays as it is.
"""

from __future__ import annotations

import asyncio
import logging
import time

import orjson

from taihu.identifiers.records import spliced_body
from taihu.identifiers.resolution.answers import (
    REST_FORM,
    U32,
    WIRE_FORM,
    Entry,
    rendered,
    ttl_seconds,
)
from taihu.identifiers.resolution.reads import WarmRow
from taihu.identifiers.resolution.resolver import Resolver

__all__ = ["start_warming", "warm", "warm_entry"]

log = logging.getLogger("taihu.identifiers")

_CHUNK = 1000  # rows per read: a few milliseconds of the event loop on SQLite
_FILL = 0.9  # stop short of the budget: the cache then still takes new entries unevicted
_HEAD_BYTES = 8  # a stored wire answer's head: cache seconds, public value count (u32 each)


def warm_entry(row: WarmRow, now: float, wall: float) -> Entry:
    """A cache entry holding both anonymous answers of a stored row, without its record.

    The same bytes a REST miss (``spliced_body``, else ``public_body``) and a UDP miss (the
    stored wire answer, else the rendered values) would cache; tested against them.
    """
    _, _, handle, record, wire, prefix = row
    if wire is not None and len(wire) >= _HEAD_BYTES:
        seconds, public = U32.unpack_from(wire)[0], U32.unpack_from(wire, 4)[0]
        rest = spliced_body(handle, record, public)
        if rest is not None:
            name = handle.encode("utf-8")
            body = U32.pack(len(name)) + name + wire[4:]
            return (now + seconds, handle, prefix, "", rest, body)
    values = orjson.loads(record)
    entry: Entry = (now + ttl_seconds(values, wall), handle, prefix, record, None, None)
    entry = rendered(rendered(entry, REST_FORM, values), WIRE_FORM, values)
    return (*entry[:3], "", entry[REST_FORM], entry[WIRE_FORM])


async def warm(resolver: Resolver, *, chunk: int = _CHUNK, fill: float = _FILL) -> int:
    """Cache the served records in id order until the cache is ``fill`` full; how many."""
    if resolver.sync_due():
        await resolver.sync()  # the change log's position before the first read
    after, warmed = 0, 0
    prefixes: dict[str, str] = {}  # one str object per prefix, not one per entry
    while resolver.has_room(fill):
        resolver.dropped_while_warming = set()
        try:
            rows = await resolver.read_chunk(after, chunk)
            dropped = resolver.dropped_while_warming
        finally:
            resolver.dropped_while_warming = None
        if not rows:
            break
        now, wall = resolver.monotonic(), resolver.clock.now().timestamp()
        for row in rows:
            key = row[1]
            if key in dropped or resolver.cached(key):
                continue
            entry = warm_entry(row, now, wall)
            prefix = prefixes.setdefault(entry[2], entry[2])
            resolver.remember(key, (entry[0], entry[1], prefix, *entry[3:]))
            warmed += 1
        after = rows[-1][0]
        await asyncio.sleep(0)  # requests first
    return warmed


def start_warming(resolver: Resolver) -> asyncio.Task[int]:
    """Warm ``resolver``'s cache in a task of its own (cancelled by ``resolver.aclose``)."""

    async def run() -> int:
        started = time.perf_counter()
        try:
            warmed = await warm(resolver)
        except Exception:  # the cache then fills as requests come, as without a warm-up
            log.warning("resolver cache warm-up failed", exc_info=True)
            return 0
        log.info(
            "resolver cache warmed: %d identifiers, %.0f MB, %.1f s",
            warmed,
            resolver.cached_bytes / 2**20,
            time.perf_counter() - started,
        )
        return warmed

    resolver.warming = asyncio.get_running_loop().create_task(run())
    return resolver.warming
