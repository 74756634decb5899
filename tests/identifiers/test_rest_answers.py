"""The anonymous REST answer each row keeps beside its record (``id_handles.rest``).

A resolution that misses the cache sends the bytes the row keeps, cached without the record;
a statement that rewrites a record without its answer leaves NULL (trigger), and the resolver
then renders the record: the same bytes either way, never a stale answer.
"""

from __future__ import annotations

import orjson
import sqlalchemy as sa

from taihu.accounts import Principal
from taihu.core import Database
from taihu.identifiers import HandleValue, IdentifierService, Resolver, parse_handle
from taihu.identifiers.records import public_body
from tests.conftest import World
from tests.identifiers.conftest import PREFIX

SYSTEM = Principal.system("test")


def _url(index: int, text: str, **kw: object) -> HandleValue:
    return HandleValue(index=index, type="URL", data=text.encode(), **kw)  # type: ignore[arg-type]


async def _row(db: Database, key: str) -> tuple[str, bytes | None]:
    async with db.engine.connect() as conn:
        record, rest = (
            await conn.execute(
                sa.text("SELECT record, rest FROM id_handles WHERE key = :k"), {"k": key}
            )
        ).one()
    return record, None if rest is None else bytes(rest)


async def _put(db: Database, world: World, key: str, values: list[HandleValue]) -> None:
    async with db.session() as session:
        await IdentifierService(session, world.clock).put(
            SYSTEM, parse_handle(key), values, overwrite=True
        )


async def test_a_statement_that_rewrites_the_record_alone_clears_its_rest_answer(
    db: Database, world: World, prefixes: int
) -> None:
    key = f"{PREFIX}/A"
    await _put(db, world, key, [_url(1, "https://a.cn/old")])
    record, answer = await _row(db, key)
    assert answer == public_body(key, orjson.loads(record))
    other = record.replace("https://a.cn/old", "https://a.cn/new")
    async with db.engine.begin() as conn:  # the same record again: both columns kept
        await conn.execute(sa.text("UPDATE id_handles SET record = :r WHERE key = :k"),
                           {"r": record, "k": key})  # fmt: skip
    assert await _row(db, key) == (record, answer)
    fresh = public_body(key, orjson.loads(other))
    async with db.engine.begin() as conn:
        await conn.execute(sa.text("UPDATE id_handles SET record = :r, rest = :a WHERE key = :k"),
                           {"r": other, "a": fresh, "k": key})  # fmt: skip
    assert await _row(db, key) == (other, fresh)
    async with db.engine.begin() as conn:
        await conn.execute(sa.text("UPDATE id_handles SET record = :r WHERE key = :k"),
                           {"r": record, "k": key})  # fmt: skip
    assert await _row(db, key) == (record, None)


async def test_a_miss_sends_the_kept_answer_the_same_bytes_as_a_rendered_one(
    db: Database, world: World, prefixes: int
) -> None:
    key = f"{PREFIX}/B"
    await _put(db, world, key, [_url(1, "https://b.cn/1"), _url(2, "https://b.cn/2", ttl=60)])
    now = [1000.0]
    resolver = Resolver(db, world.clock, monotonic=lambda: now[0])
    try:
        kept = await resolver.public(key)
        kept_now = resolver.public_now(key, fresh=True)
        assert kept is not None
        assert kept.body == (await _row(db, key))[1]
        assert kept_now is None or kept_now.body == kept.body  # PostgreSQL: not without waiting
        # An entry kept with its REST answer only serves the other readers by reading again.
        record = await resolver.lookup(key)
        assert record is not None
        assert [v["data"]["value"] for v in record.values[:2]] == [
            "https://b.cn/1",
            "https://b.cn/2",
        ]
        (wire,) = await resolver.bodies([key])
        assert wire is not None
        assert b"https://b.cn/2" in wire
        assert resolver.public_now(key) is not None or db.dialect == "postgresql"
    finally:
        await resolver.aclose()
    async with db.engine.begin() as conn:  # no kept answer: the record is rendered
        await conn.execute(sa.text("UPDATE id_handles SET rest = NULL WHERE key = :k"), {"k": key})
    resolver = Resolver(db, world.clock)
    try:
        rendered = await resolver.public(key, fresh=True)
    finally:
        await resolver.aclose()
    assert rendered is not None
    assert rendered.body == kept.body


async def test_a_kept_answer_is_cached_for_its_shortest_ttl(
    db: Database, world: World, prefixes: int
) -> None:
    key = f"{PREFIX}/T"
    await _put(db, world, key, [_url(1, "https://t.cn/old", ttl=60), _url(2, "https://t.cn/x")])
    now = [1000.0]
    resolver = Resolver(db, world.clock, monotonic=lambda: now[0])
    try:
        first = resolver.public_now(key) or await resolver.public(key)
        assert first is not None
        async with db.engine.begin() as conn:  # behind the change log's back: only TTL tells
            await conn.execute(
                sa.text(
                    "UPDATE id_handles SET record = replace(record, 'old', 'new') WHERE key = :k"
                ),
                {"k": key},
            )
        now[0] += 30
        assert (await resolver.public(key)) == first
        now[0] += 31
        expired = await resolver.public(key)
        assert expired is not None
        assert b"https://t.cn/new" in expired.body
    finally:
        await resolver.aclose()
