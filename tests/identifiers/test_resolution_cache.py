"""TTL and cross-process freshness of the resolution cache, with two resolvers on one database."""

from __future__ import annotations

import pytest

from taihu.accounts import Principal
from taihu.core import Database, FrozenClock
from taihu.identifiers import Handle, HandleValue, IdentifierService
from taihu.identifiers.resolution.resolver import SYNC_INTERVAL, Resolver
from tests.identifiers.conftest import PREFIX

pytestmark = pytest.mark.usefixtures("prefixes")

H = Handle(f"{PREFIX}/CACHE-1")


class Ticks:
    """A monotonic clock moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def _put(db: Database, clock: FrozenClock, url: str, *, ttl: int = 86400) -> None:
    async with db.session() as session:
        await IdentifierService(session, clock).put(
            Principal.system("test"),
            H,
            [HandleValue(index=1, type="URL", data=url.encode(), ttl=ttl)],
            overwrite=True,
        )


def _url(record: object) -> str:
    values = getattr(record, "values", [])
    return next(v["data"]["value"] for v in values if v["type"] == "URL")


async def test_other_worker_sees_a_write_after_its_next_sync(
    db: Database, clock: FrozenClock
) -> None:
    ticks = Ticks()
    worker = Resolver(db, clock, monotonic=ticks)
    await _put(db, clock, "https://one.example")
    assert _url(await worker.lookup(H.key)) == "https://one.example"
    await _put(db, clock, "https://two.example")  # written by "another process"
    assert _url(await worker.lookup(H.key)) == "https://one.example"  # cached, within the window
    assert _url(await worker.lookup(H.key, fresh=True)) == "https://two.example"  # auth=true
    ticks.now += SYNC_INTERVAL
    await _put(db, clock, "https://three.example")
    assert _url(await worker.lookup(H.key)) == "https://three.example"


async def test_a_created_handle_replaces_a_cached_miss(db: Database, clock: FrozenClock) -> None:
    ticks = Ticks()
    worker = Resolver(db, clock, monotonic=ticks)
    await worker.lookup("88.118.8/WARMUP")  # first sync
    assert await worker.lookup(H.key) is None
    await _put(db, clock, "https://new.example")
    ticks.now += SYNC_INTERVAL
    assert _url(await worker.lookup(H.key)) == "https://new.example"


async def test_entries_expire_with_the_shortest_ttl(db: Database, clock: FrozenClock) -> None:
    ticks = Ticks()
    worker = Resolver(db, clock, monotonic=ticks)
    await _put(db, clock, "https://short.example", ttl=30)
    await worker.lookup(H.key)
    # Change the row behind the resolver's back, without a change-log entry, to see the TTL work.
    async with db.session() as session:
        row = await IdentifierService(session, clock).get_row(H)
        assert row is not None
        row.record = row.record.replace("short", "later")
    ticks.now += 29
    worker._last_sync = ticks.now
    assert _url(await worker.lookup(H.key)) == "https://short.example"
    ticks.now += 2
    worker._last_sync = ticks.now
    assert _url(await worker.lookup(H.key)) == "https://later.example"


async def test_resolutions_are_counted_per_prefix(db: Database, clock: FrozenClock) -> None:
    worker = Resolver(db, clock)
    await _put(db, clock, "https://one.example")
    for _ in range(3):
        await worker.lookup(H.key)
    assert worker.take_counts(force=True) == {("2026-11-25", PREFIX): 3}
    assert worker.take_counts(force=True) == {}
