"""One cache entry serves both protocols: the REST answer and the wire values of the same record."""

from __future__ import annotations

import asyncio
import gc

import asyncpg
import orjson
import pytest

from taihu.accounts import Principal
from taihu.core import Database, FrozenClock
from taihu.identifiers import Handle, HandleValue, IdentifierService
from taihu.identifiers.records import dump_record
from taihu.identifiers.records.wire_values import stored_to_wire
from taihu.identifiers.resolution.resolver import SYNC_INTERVAL, Resolver
from tests.identifiers.conftest import PREFIX
from tests.identifiers.test_resolution_cache import Ticks

pytestmark = pytest.mark.usefixtures("prefixes")

H = Handle(f"{PREFIX}/FORMS-1")


async def _put(db: Database, clock: FrozenClock, url: str) -> list[HandleValue]:
    values = [
        HandleValue(index=1, type="URL", data=url.encode()),
        HandleValue(index=2, type="NOTE", data=b"private", public_read=False),
    ]
    async with db.session() as session:
        result = await IdentifierService(session, clock).put(
            Principal.system("test"), H, values, overwrite=True
        )
    return result.values


def _wire(values: list[HandleValue]) -> list[tuple[int, str, bytes]]:
    encoded = (stored_to_wire(raw) for raw in orjson.loads(dump_record(values)))
    return [(index, type_, wire) for index, type_, public, wire in encoded if public]


def _count_then_values(values: list[tuple[int, str, bytes]]) -> bytes:
    return len(values).to_bytes(4, "big") + b"".join(v[2] for v in values)


async def test_rest_and_wire_answers_come_from_one_entry(db: Database, clock: FrozenClock) -> None:
    ticks = Ticks()
    resolver = Resolver(db, clock, monotonic=ticks)
    try:
        stored = await _put(db, clock, "https://one.example")
        rest = await resolver.public(H.key)
        assert rest is not None
        assert "NOTE" not in [v["type"] for v in rest.values()]  # private values are not shown
        wire = resolver.wire_now(H.key)  # a cache hit: answered without waiting on any database
        assert wire
        assert (wire.handle, wire.values()) == (H.text, _wire(stored))
        assert wire.encoded == _count_then_values(_wire(stored))
        assert await resolver.public(H.key) == rest
        # A write elsewhere drops the entry at the next sync: both forms are rendered anew.
        stored = await _put(db, clock, "https://two.example")
        ticks.now += SYNC_INTERVAL
        again = await resolver.wire(H.key)
        assert again is not None
        assert again.encoded == _count_then_values(_wire(stored))
        rest = await resolver.public(H.key)
        assert rest is not None
        assert rest.values()[0]["data"]["value"] == "https://two.example"
        assert await resolver.wire(f"{PREFIX}/NONE") is None
        assert await resolver.public(f"{PREFIX}/NONE") is None
    finally:
        await resolver.aclose()


async def test_cache_entries_cost_the_collector_nothing(db: Database, clock: FrozenClock) -> None:
    resolver = Resolver(db, clock)
    try:
        await _put(db, clock, "https://one.example")
        await resolver.public(H.key)
        await resolver.wire(H.key)
        gc.collect()
        # A flat tuple of atoms: the collector stops tracking it at its first pass, so a full
        # cache gives full collections nothing to walk.
        assert not gc.is_tracked(resolver._cache[H.key])
    finally:
        await resolver.aclose()


async def test_reply_bodies_in_batches(db: Database, clock: FrozenClock) -> None:
    stored = await _put(db, clock, "https://batch.example")
    resolver = Resolver(db, clock)
    await resolver.open_pool()  # PostgreSQL: the misses go to the pool in one query
    try:
        keys = [H.key, f"{PREFIX}/NONE", H.key]
        now = resolver.bodies_now(keys)
        later = await resolver.bodies(keys)  # what waiting gives; every key answered
        name = H.text.encode()
        body = len(name).to_bytes(4, "big") + name + _count_then_values(_wire(stored))
        assert later == [body, None, body]
        # On SQLite the misses are read in place; on PostgreSQL only a round trip can tell.
        assert now == ([body, None, body] if db.dialect == "sqlite" else [False] * 3)
        wire = await resolver.wire(H.key)
        assert wire is not None
        assert wire.body == body
        counts = resolver.take_counts(force=True)
        assert counts == {(clock.now().date().isoformat(), PREFIX): 3 + (2 if now[0] else 0)}
    finally:
        await resolver.aclose()


async def test_misses_waiting_behind_a_read_go_together_in_the_next(
    db: Database, clock: FrozenClock
) -> None:
    if db.dialect == "sqlite":
        pytest.skip("SQLite reads each miss in place; the PostgreSQL run checks the queueing")
    handles = [Handle(f"{PREFIX}/QUEUE-{n}") for n in range(30)]
    async with db.session() as session:
        service = IdentifierService(session, clock)
        for handle in handles:
            url = f"https://queue.example/{handle.suffix}".encode()
            await service.put(
                Principal.system("test"), handle, [HandleValue(1, "URL", url)], overwrite=True
            )
    resolver = Resolver(db, clock, monotonic=Ticks())  # no sync falls due during the test
    await resolver.open_pool()
    assert resolver._pool is not None
    await resolver.public(f"{PREFIX}/NONE")  # synced once
    reads: list[int] = []
    held, asked = asyncio.Event(), asyncio.Event()

    class Counted:  # the real pool, its reads counted
        def __init__(self, pool: asyncpg.Pool) -> None:
            self.pool = pool

        async def fetch(self, query: str, keys: list[str]) -> list[asyncpg.Record]:
            reads.append(len(keys))
            asked.set()
            if len(reads) == 1:
                await held.wait()  # the first read is slow: the next misses queue behind it
            return await self.pool.fetch(query, keys)

        async def close(self) -> None:
            await self.pool.close()

    resolver._pool = Counted(resolver._pool)  # type: ignore[assignment]
    reads.clear()
    try:
        first = [asyncio.create_task(resolver.public(h.key)) for h in handles[:10]]
        await asked.wait()  # the first read is on its way to PostgreSQL
        rest = [asyncio.create_task(resolver.public(h.key)) for h in handles[10:]]
        for _ in range(20):  # turns enough for the twenty to miss and ask
            await asyncio.sleep(0)
        assert reads == [10]  # they wait behind the read in flight
        held.set()
        answers = await asyncio.gather(*first, *rest)
        assert reads == [10, 20]  # the twenty waited for the first read and went in one
        for handle, answer in zip(handles, answers, strict=True):
            assert answer is not None
            assert answer.values()[0]["data"]["value"].endswith(handle.suffix)
    finally:
        held.set()
        await resolver.aclose()
