"""The resolution cache warmed from the store: the same answers as misses, coherent on writes."""

from __future__ import annotations

import gc
import tracemalloc

import pytest

from taihu.accounts import Principal
from taihu.core import Database, FrozenClock
from taihu.identifiers import Handle, HandleValue, IdentifierService
from taihu.identifiers.resolution.answers import entry_bytes
from taihu.identifiers.resolution.reads import WarmRow
from taihu.identifiers.resolution.resolver import SYNC_INTERVAL, Resolver
from taihu.identifiers.resolution.warm import warm
from tests.identifiers.conftest import PREFIX

pytestmark = pytest.mark.usefixtures("prefixes")

HANDLES = [Handle(f"{PREFIX}/Warm-{n:03d}") for n in range(40)]
PRIVATE = Handle(f"{PREFIX}/Warm-Private")


class Ticks:
    """A monotonic clock moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def _put(db: Database, clock: FrozenClock, handle: Handle, url: str) -> None:
    values = [
        HandleValue(index=1, type="URL", data=url.encode()),
        HandleValue(index=2, type="model", data=b"HL-2000", ttl=600),
    ]
    if handle == PRIVATE:  # a value only an admin may read: REST and wire answers leave it out
        values.append(HandleValue(index=3, type="secret", data=b"s", public_read=False))
    async with db.session() as session:
        await IdentifierService(session, clock).put(
            Principal.system("test"), handle, values, overwrite=True
        )


async def _delete(db: Database, clock: FrozenClock, handle: Handle) -> None:
    async with db.session() as session:
        await IdentifierService(session, clock).delete(Principal.system("test"), handle)


@pytest.fixture
async def stored(db: Database, clock: FrozenClock, prefixes: int) -> None:
    for n, handle in enumerate([*HANDLES, PRIVATE]):
        await _put(db, clock, handle, f"https://w.example/{n}")


async def _answers(resolver: Resolver, handle: Handle) -> tuple[object, object]:
    rest = await resolver.public(handle.key)
    return (rest.body if rest else None), (await resolver.bodies([handle.key]))[0]


@pytest.mark.usefixtures("stored")
async def test_warmed_answers_are_the_misses_answers(db: Database, clock: FrozenClock) -> None:
    cold, warmed = Resolver(db, clock), Resolver(db, clock)
    try:
        assert await warm(warmed, chunk=7) >= len(HANDLES) + 1  # and the prefixes' admin handles
        for handle in [*HANDLES, PRIVATE]:
            assert warmed.cached(handle.key)
            assert await _answers(warmed, handle) == await _answers(cold, handle)
        private = await warmed.public(PRIVATE.key)
        assert private is not None
        assert b"secret" not in private.body
        assert await warmed.public(f"{PREFIX}/NOT-THERE".upper()) is None  # misses still 100/404
    finally:
        await cold.aclose()
        await warmed.aclose()


@pytest.mark.usefixtures("stored")
async def test_writes_after_the_warm_up_reach_the_warmed_worker(
    db: Database, clock: FrozenClock
) -> None:
    ticks = Ticks()
    worker = Resolver(db, clock, monotonic=ticks)  # another process's, warmed
    try:
        await warm(worker)
        await _put(db, clock, HANDLES[0], "https://changed.example")  # written elsewhere
        await _delete(db, clock, HANDLES[1])
        added = Handle(f"{PREFIX}/Warm-New")
        await _put(db, clock, added, "https://new.example")
        ticks.now += SYNC_INTERVAL
        changed = await worker.public(HANDLES[0].key)
        assert changed is not None
        assert b"https://changed.example" in changed.body
        wire = (await worker.bodies([HANDLES[0].key]))[0]
        assert wire is not None
        assert b"https://changed.example" in wire
        assert await worker.public(HANDLES[1].key) is None
        assert await worker.bodies([HANDLES[1].key]) == [None]
        assert await worker.public(added.key) is not None
        # Case-insensitive matching as before: the key is the normalized form.
        assert await worker.public(Handle(f"{PREFIX}/WARM-002").key) is not None
    finally:
        await worker.aclose()


@pytest.mark.usefixtures("stored")
async def test_a_key_dropped_while_a_chunk_is_read_is_not_cached_from_it(
    db: Database, clock: FrozenClock
) -> None:
    worker = Resolver(db, clock)
    read_chunk = worker.read_chunk

    async def read_while_written(after: int, limit: int) -> list[WarmRow]:
        rows = await read_chunk(after, limit)
        if after == 0:  # a write lands (and is dropped) while the first chunk is on its way
            await _put(db, clock, HANDLES[2], "https://meanwhile.example")
            worker.invalidate(HANDLES[2].key)
        return rows

    worker.read_chunk = read_while_written  # type: ignore[method-assign]
    try:
        await warm(worker, chunk=5)
        assert not worker.cached(HANDLES[2].key)
        assert worker.cached(HANDLES[3].key)
        answer = await worker.public(HANDLES[2].key)
        assert answer is not None
        assert b"https://meanwhile.example" in answer.body
    finally:
        await worker.aclose()


@pytest.mark.usefixtures("stored")
async def test_the_warm_up_stops_at_its_share_of_the_budget(
    db: Database, clock: FrozenClock
) -> None:
    probe = Resolver(db, clock)
    count = await warm(probe)
    per_entry = probe.cached_bytes // count
    await probe.aclose()
    small = Resolver(db, clock, max_bytes=per_entry * 10)
    try:
        warmed = await warm(small, chunk=1, fill=0.9)
        assert 8 <= warmed <= 10
        assert small.cached_bytes < per_entry * 10
        # The count stays the sum of the entries through invalidation and eviction.
        small.invalidate(HANDLES[0].key)
        for handle in HANDLES[20:]:
            await small.public(handle.key)
        assert small.cached_bytes == sum(entry_bytes(k, e) for k, e in small._cache.items())
        assert small.cached_bytes <= per_entry * 11
    finally:
        await small.aclose()


@pytest.mark.usefixtures("stored")
async def test_entry_bytes_is_about_what_the_cache_takes(db: Database, clock: FrozenClock) -> None:
    worker = Resolver(db, clock)
    try:
        # The read connection, pool and statement caches first (SQLAlchemy's on PostgreSQL).
        await worker.lookup(HANDLES[0].key)
        await worker.read_chunk(0, 1)
        gc.collect()
        tracemalloc.start()
        try:
            await warm(worker)
            counted = worker.cached_bytes
            gc.collect()
            held = tracemalloc.get_traced_memory()[0]
            # What the warm-up allocated besides the cache (a driver's statement and row caches
            # on PostgreSQL) stays: the memory given back when the entries go is theirs alone.
            for key in list(worker._cache):
                worker.invalidate(key)
            gc.collect()
            taken = held - tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()
        assert 0.7 * taken <= counted <= 1.3 * taken
    finally:
        await worker.aclose()
