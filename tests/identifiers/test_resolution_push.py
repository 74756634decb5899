"""Resolver caches kept coherent across processes by PostgreSQL LISTEN/NOTIFY (``changes``).

Two resolvers on one database stand for two resolver processes. Their monotonic clocks stand
still, so the change log is never read on the request path: only a notification (or the
listener's own read of the log) can drop a cached answer. On SQLite nothing listens.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest
import sqlalchemy as sa

from taihu.accounts import Principal
from taihu.core import Database, FrozenClock
from taihu.identifiers import Handle, HandleValue, IdentifierService
from taihu.identifiers.resolution.resolver import SYNC_INTERVAL, Resolver
from tests.conftest import POSTGRES_URL
from tests.identifiers.conftest import PREFIX

pytestmark = pytest.mark.usefixtures("prefixes")

H = Handle(f"{PREFIX}/PUSH-1")
WAIT = 10.0  # generous for a loaded machine: the bound is documented, not asserted here
postgres_only = pytest.mark.skipif(not POSTGRES_URL, reason="LISTEN/NOTIFY is PostgreSQL's")


class Ticks:
    """A monotonic clock moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def _put(db: Database, clock: FrozenClock, url: str) -> None:
    async with db.session() as session:
        await IdentifierService(session, clock).put(
            Principal.system("test"),
            H,
            [HandleValue(index=1, type="URL", data=url.encode())],
            overwrite=True,
        )


async def _url(resolver: Resolver) -> str:
    record = await resolver.lookup(H.key)
    assert record is not None
    return str(next(v["data"]["value"] for v in record.values if v["type"] == "URL"))


async def _until(check: Callable[[], object]) -> None:
    """Wait until ``check()`` is true (polled), failing after ``WAIT`` seconds."""
    async with asyncio.timeout(WAIT):
        while not check():  # noqa: ASYNC110 - another process's write has no event here
            await asyncio.sleep(0.005)


async def _until_url(resolver: Resolver, url: str) -> None:
    async with asyncio.timeout(WAIT):
        while await _url(resolver) != url:  # noqa: ASYNC110 - polled as a client would
            await asyncio.sleep(0.005)


@pytest.fixture
async def pair(db: Database, clock: FrozenClock) -> AsyncIterator[tuple[Resolver, Resolver]]:
    """Two listening resolvers, their clocks still."""
    first = Resolver(db, clock, monotonic=Ticks())
    second = Resolver(db, clock, monotonic=Ticks())
    for resolver in (first, second):
        await resolver.open_pool(size=2)
    try:
        await _until(
            lambda: all(r.listener is not None and r.listener.listening for r in (first, second))
        )
        yield first, second
    finally:
        await first.aclose()
        await second.aclose()


@postgres_only
async def test_a_write_reaches_the_other_process_by_notification(
    db: Database, clock: FrozenClock, pair: tuple[Resolver, Resolver]
) -> None:
    writer, reader = pair
    await _put(db, clock, "https://one.example")
    assert await _url(reader) == "https://one.example"
    assert reader.pushed  # nothing read on the request path while pushed
    await _put(db, clock, "https://two.example")  # through "the other process"
    writer.invalidate(H.key)  # the writing process drops its own key at once
    assert await _url(writer) == "https://two.example"
    await _until_url(reader, "https://two.example")


@postgres_only
async def test_a_statement_of_many_changes_has_the_log_read(
    db: Database, clock: FrozenClock, pair: tuple[Resolver, Resolver]
) -> None:
    _, reader = pair
    await _put(db, clock, "https://one.example")
    assert await _url(reader) == "https://one.example"
    async with db.engine.begin() as conn:
        await conn.execute(sa.text("UPDATE id_handles SET record = replace(record, 'one', 'many')"))
        # Over 100 rows in one statement: the notification names none of them.
        await conn.execute(
            sa.text(
                "INSERT INTO id_changes (key, at) SELECT k, now() FROM "
                "(SELECT 'x/' || g AS k FROM generate_series(1, 150) g "
                "UNION ALL SELECT :key) AS keys"
            ),
            {"key": H.key},
        )
    await _until_url(reader, "https://many.example")


@postgres_only
async def test_a_lost_listener_falls_back_to_the_log_and_comes_back(
    db: Database, clock: FrozenClock, pair: tuple[Resolver, Resolver]
) -> None:
    _, reader = pair
    ticks = reader.monotonic
    assert isinstance(ticks, Ticks)
    listener = reader.listener
    assert listener is not None
    await _put(db, clock, "https://one.example")
    assert await _url(reader) == "https://one.example"
    async with db.engine.connect() as conn:
        await conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"),
                           {"pid": listener.server_pid})  # fmt: skip
    await _until(lambda: not reader.pushed or listener.connections > 1)
    await _put(db, clock, "https://two.example")
    # Polling again (or listening again, having read the log): coherent either way.
    ticks.now += SYNC_INTERVAL
    await _until_url(reader, "https://two.example")
    await _until(lambda: listener.connections > 1 and listener.listening)
    assert reader.pushed
    await _put(db, clock, "https://three.example")
    await _until_url(reader, "https://three.example")  # by notification again


@postgres_only
async def test_changes_missed_while_disconnected_are_read_on_reconnection(
    db: Database, clock: FrozenClock, pair: tuple[Resolver, Resolver]
) -> None:
    _, reader = pair
    listener = reader.listener
    assert listener is not None
    await _put(db, clock, "https://one.example")
    assert await _url(reader) == "https://one.example"
    await listener.stop()  # as if the connection were down, without the fallback's polling
    reader.set_pushed(True)
    await _put(db, clock, "https://two.example")
    assert await _url(reader) == "https://one.example"  # nobody told it yet
    listener.start()
    await _until_url(reader, "https://two.example")


async def test_a_row_read_before_its_key_was_dropped_is_read_again(
    db: Database, clock: FrozenClock
) -> None:
    resolver = Resolver(db, clock, monotonic=Ticks())
    reads: list[int] = []

    async def read(key: str) -> str:
        reads.append(1)
        if len(reads) == 1:  # a notification drops the key while the first read is under way
            resolver.apply_changes([(1, key)], read=False)
        await asyncio.sleep(0)
        return f"read {len(reads)}"

    assert await resolver._read_fresh([H.key], read, H.key) == "read 2"
    assert await resolver._read_fresh([H.key], read, H.key) == "read 3"  # nothing dropped now
    resolver.close()


async def test_on_sqlite_nothing_listens(db: Database, clock: FrozenClock) -> None:
    resolver = Resolver(db, clock)
    await resolver.open_pool()
    try:
        assert (resolver.listener is not None) == (db.dialect == "postgresql")
    finally:
        await resolver.aclose()
