"""Anonymous REST answers cut from the stored record's text on a cache miss.

A miss whose row keeps a wire answer (so its record was written with it, by stored_columns)
cuts the answer from the record's text and caches it without the record; any other row is
rendered: the same bytes either way.
"""

from __future__ import annotations

import orjson
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings

from taihu.accounts import Principal
from taihu.core import Database
from taihu.identifiers import HandleValue, IdentifierService, Resolver, parse_handle
from taihu.identifiers.records import public_body, spliced_body
from taihu.identifiers.records.wire_values import stored_columns
from tests.conftest import World
from tests.identifiers.conftest import PREFIX
from tests.identifiers.test_wire_answers import _values

SYSTEM = Principal.system("test")


def _url(index: int, text: str, **kw: object) -> HandleValue:
    return HandleValue(index=index, type="URL", data=text.encode(), **kw)  # type: ignore[arg-type]


async def _record(db: Database, key: str) -> str:
    async with db.engine.connect() as conn:
        return str(
            (
                await conn.execute(
                    sa.text("SELECT record FROM id_handles WHERE key = :k"), {"k": key}
                )
            ).scalar_one()
        )


async def _put(db: Database, world: World, key: str, values: list[HandleValue]) -> None:
    async with db.session() as session:
        await IdentifierService(session, world.clock).put(
            SYSTEM, parse_handle(key), values, overwrite=True
        )


# The first text draw of a fresh checkout builds Hypothesis's Unicode tables (over a second).
@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(_values())
def test_the_cut_answer_is_the_rendered_one_or_none(values: list[HandleValue]) -> None:
    record, wire = stored_columns(values)
    if wire is None:
        return
    public = int.from_bytes(wire[4:8], "big")
    cut = spliced_body(f"{PREFIX}/X", record, public)
    assert cut is None or cut == public_body(f"{PREFIX}/X", orjson.loads(record))
    if all(v.permission_bits == "1110" and v.type != "HS_SECKEY" for v in values):
        assert cut is not None  # the usual record is cut, not rendered


def test_marks_inside_a_value_do_not_fool_the_cut() -> None:
    values = [
        _url(1, ',"permissions":"1110"}{"index":'),
        _url(2, "x", public_read=False),
        _url(3, '"},{"index":7,"permissions":"1110"}'),
    ]
    for chosen in (values, [values[0], values[2]]):
        record, wire = stored_columns(chosen)
        assert wire is not None
        cut = spliced_body("88.118.8/\u00e9", record, int.from_bytes(wire[4:8], "big"))
        assert cut is None or cut == public_body("88.118.8/\u00e9", orjson.loads(record))
    assert cut is not None  # all public: cut, and equal to the rendered answer


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
        assert kept.body == public_body(key, orjson.loads(await _record(db, key)))
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
    async with db.engine.begin() as conn:  # no wire answer: the record is rendered
        await conn.execute(sa.text("UPDATE id_handles SET wire = NULL WHERE key = :k"), {"k": key})
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
