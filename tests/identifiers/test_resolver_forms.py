"""One cache entry serves both protocols: the REST answer and the wire values of the same record."""

from __future__ import annotations

import gc

import orjson
import pytest

from taihu.accounts import Principal
from taihu.core import Database, FrozenClock
from taihu.identifiers import Handle, HandleValue, IdentifierService
from taihu.identifiers.handle_wire_values import stored_to_wire
from taihu.identifiers.records import dump_record
from taihu.identifiers.resolver import SYNC_INTERVAL, Resolver
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
