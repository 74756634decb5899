"""The anonymous RESOLUTION answer each row keeps beside its record (``id_handles.wire``).

Every write stores the answer its record gives; a statement that rewrites a record without it
leaves NULL (triggers), and the resolver then renders the record: never a stale answer.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from taihu.accounts import Principal
from taihu.core import Database
from taihu.identifiers import HandleValue, IdentifierService, Resolver, parse_handle
from taihu.identifiers.handle import (
    ADMIN_PERMISSIONS_ALL,
    AdminPermission,
    AdminRef,
    TtlType,
    encode_admin,
)
from taihu.identifiers.records import dump_record, iso
from taihu.identifiers.records.wire_values import (
    CACHE_SECONDS,
    public_wire,
    stored_columns,
    wire_answer,
)
from taihu.identifiers.registration import BatchItem, BatchService
from taihu.identifiers.resolution.resolver import ttl_seconds
from taihu.identifiers.wire import encode_vlist
from tests.conftest import World
from tests.identifiers.conftest import PREFIX

SYSTEM = Principal.system("test")


def _url(index: int, text: str, **kw: object) -> HandleValue:
    return HandleValue(index=index, type="URL", data=text.encode(), **kw)  # type: ignore[arg-type]


async def _rows(db: Database) -> dict[str, tuple[str, bytes | None]]:
    async with db.engine.connect() as conn:
        rows = await conn.execute(sa.text("SELECT key, record, wire FROM id_handles"))
        return {key: (record, None if wire is None else bytes(wire)) for key, record, wire in rows}


def test_the_answer_is_what_the_record_gives_anyone() -> None:
    stamp = "2026-11-25T08:00:00Z"
    stored = [
        {"index": 1, "type": "URL", "data": {"format": "string", "value": "https://a.cn/1"},
         "ttl": 3600, "timestamp": stamp, "permissions": "1110"},
        {"index": 2, "type": "NOTE", "data": {"format": "string", "value": "hidden"},
         "ttl": 86400, "timestamp": stamp, "permissions": "1100"},
        {"index": 300, "type": "HS_SECKEY", "data": {"format": "string", "value": "k"},
         "ttl": 60, "timestamp": stamp, "permissions": "1110"},
    ]  # fmt: skip
    answer = wire_answer(stored)
    assert answer is not None
    public = public_wire(stored)
    assert [v[0] for v in public] == [1]  # not the private value, never the secret key
    # The shortest TTL of all values (the secret key's too: the cache holds the whole record).
    assert int.from_bytes(answer[:4], "big") == ttl_seconds(stored, 0) == 60
    assert answer[4:] == (1).to_bytes(4, "big") + public[0][2]
    for value in stored:
        value["ttl"] = 10 * CACHE_SECONDS
    assert int.from_bytes(wire_answer(stored)[:4], "big") == CACHE_SECONDS  # type: ignore[index]
    stored[0]["ttlType"] = 1  # an absolute TTL: the resolver works out what is left of it
    assert wire_answer(stored) is None


_MOMENTS = st.none() | st.datetimes(  # hypothesis takes naive bounds and adds the zone
    min_value=datetime(1971, 1, 1),  # noqa: DTZ001
    max_value=datetime(2100, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)
_DATA = {
    "URL": st.text(max_size=30).map(str.encode) | st.binary(max_size=30),
    "HS_SECKEY": st.binary(min_size=1, max_size=20),
    "HS_ADMIN": st.builds(
        lambda index, bits: encode_admin(AdminRef("88.1/ADMIN", index, AdminPermission(bits))),
        st.integers(1, 400),
        st.integers(0, int(ADMIN_PERMISSIONS_ALL)),
    ),
    "HS_VLIST": st.lists(st.tuples(st.integers(1, 400), st.just("88.1/X")), max_size=3).map(
        lambda refs: encode_vlist(tuple(refs))
    ),
    "型号": st.text(max_size=10).map(str.encode),
}


@st.composite
def _values(draw: st.DrawFn) -> list[HandleValue]:
    indexes = draw(st.lists(st.integers(1, 500), min_size=1, max_size=6, unique=True))
    values = []
    for index in indexes:
        type_ = draw(st.sampled_from(sorted(_DATA)))
        values.append(
            HandleValue(
                index=index,
                type=type_,
                data=draw(_DATA[type_]),
                ttl=draw(st.integers(0, 2**31 - 1)),
                ttl_type=draw(st.sampled_from([TtlType.RELATIVE] * 5 + [TtlType.ABSOLUTE])),
                timestamp=draw(_MOMENTS),
                admin_read=draw(st.booleans()),
                admin_write=draw(st.booleans()),
                public_read=draw(st.booleans()),
                public_write=draw(st.booleans()),
                references=tuple(
                    draw(st.lists(st.tuples(st.integers(1, 9), st.just("88.1/R")), max_size=2))
                ),
            )
        )
    return values


# The first text draw of a fresh checkout builds Hypothesis's Unicode tables (over a second):
# that is not slow generation, and CI always starts from a fresh checkout.
@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(_values(), _MOMENTS)
def test_a_write_stores_the_answer_its_record_gives(
    values: list[HandleValue], at: datetime | None
) -> None:
    record, wire = stored_columns(values, at=at)
    assert record == dump_record(values, at=at)  # the fast path writes what the general one does
    assert wire == wire_answer(orjson.loads(record))


async def test_every_write_keeps_the_answer_of_its_record(
    db: Database, world: World, prefixes: int
) -> None:
    later = datetime(2027, 1, 1, tzinfo=UTC)
    async with db.session() as session:
        service = IdentifierService(session, world.clock)
        await service.put(SYSTEM, parse_handle(f"{PREFIX}/A"), [_url(1, "https://a.cn/1")])
        await service.put(SYSTEM, parse_handle(f"{PREFIX}/A"), [_url(2, "https://a.cn/2")],
                          indexes=[2])  # fmt: skip
        await service.put(SYSTEM, parse_handle(f"{PREFIX}/B"), [_url(1, "https://b.cn/1")])
        await service.put(SYSTEM, parse_handle(f"{PREFIX}/B"), [_url(5, "https://b.cn/5")],
                          overwrite=True)  # fmt: skip
        await service.put(
            SYSTEM,
            parse_handle(f"{PREFIX}/C"),
            [_url(1, "https://c.cn/1"), _url(2, "https://c.cn/2", public_read=False)],
        )
        await service.delete(SYSTEM, parse_handle(f"{PREFIX}/C"), indexes=[1])
        await service.put(SYSTEM, parse_handle(f"{PREFIX}/UNTIL"),
                          [_url(1, "https://u.cn", ttl=int(later.timestamp()),
                                ttl_type=TtlType.ABSOLUTE)])  # fmt: skip
    async with db.session() as session:
        batch = BatchService(session, world.clock)
        created = await batch.write(
            SYSTEM, [BatchItem(f"{PREFIX}/D{n}", [_url(1, f"https://d.cn/{n}")]) for n in range(3)],
            update=False,
        )  # fmt: skip
        updated = await batch.write(
            SYSTEM, [BatchItem(f"{PREFIX}/D0", [_url(1, "https://d.cn/new")])], update=True
        )
        await batch.load(SYSTEM, PREFIX, [("E", [_url(1, "https://e.cn")], None, later)])
    assert all(r.ok for r in created + updated)
    rows = await _rows(db)
    for key, (record, wire) in rows.items():
        assert wire == wire_answer(orjson.loads(record)), key
    assert rows[f"{PREFIX}/UNTIL"][1] is None
    assert all(wire is not None for key, (_, wire) in rows.items() if key != f"{PREFIX}/UNTIL")
    assert b"https://d.cn/new" in (rows[f"{PREFIX}/D0"][1] or b"")


async def test_a_statement_that_rewrites_the_record_alone_clears_its_answer(
    db: Database, world: World, prefixes: int
) -> None:
    async with db.session() as session:
        await IdentifierService(session, world.clock).put(
            SYSTEM, parse_handle(f"{PREFIX}/A"), [_url(1, "https://a.cn/old")]
        )
    key = f"{PREFIX}/A"
    record, answer = (await _rows(db))[key]
    assert answer is not None
    other = record.replace("https://a.cn/old", "https://a.cn/new")
    async with db.engine.begin() as conn:
        # The same record again changes nothing; both columns together are kept as written.
        await conn.execute(sa.text("UPDATE id_handles SET record = :r WHERE key = :k"),
                           {"r": record, "k": key})  # fmt: skip
    assert (await _rows(db))[key] == (record, answer)
    fresh = wire_answer(orjson.loads(other))
    async with db.engine.begin() as conn:
        await conn.execute(sa.text("UPDATE id_handles SET record = :r, wire = :w WHERE key = :k"),
                           {"r": other, "w": fresh, "k": key})  # fmt: skip
    assert (await _rows(db))[key] == (other, fresh)
    async with db.engine.begin() as conn:
        await conn.execute(sa.text("UPDATE id_handles SET record = :r WHERE key = :k"),
                           {"r": record, "k": key})  # fmt: skip
    assert (await _rows(db))[key] == (record, None)

    # Without a stored answer the resolver renders the record: the same bytes either way.
    resolver = Resolver(db, world.clock)
    try:
        (rendered,) = await resolver.bodies([key])
    finally:
        await resolver.aclose()
    async with db.engine.begin() as conn:
        await conn.execute(sa.text("UPDATE id_handles SET wire = :w WHERE key = :k"),
                           {"w": answer, "k": key})  # fmt: skip
    resolver = Resolver(db, world.clock)
    try:
        (stored,) = await resolver.bodies([key])
    finally:
        await resolver.aclose()
    assert rendered is not None
    assert rendered == stored
    assert b"https://a.cn/old" in rendered


async def test_an_answer_read_for_udp_is_cached_by_its_ttl_and_not_used_for_rest(
    db: Database, world: World, prefixes: int
) -> None:
    key = f"{PREFIX}/T"
    async with db.session() as session:
        await IdentifierService(session, world.clock).put(
            SYSTEM, parse_handle(key), [_url(1, "https://t.cn/old", ttl=60)]
        )
    now = [1000.0]
    resolver = Resolver(db, world.clock, monotonic=lambda: now[0])
    try:
        (first,) = await resolver.bodies([key])
        assert first is not None
        assert b"https://t.cn/old" in first
        # The cached answer carries no record: the REST reader reads and renders its own.
        public = await resolver.public(key)
        assert public is not None
        assert public.values()[0]["data"]["value"] == "https://t.cn/old"
        record = await resolver.lookup(key)
        assert record is not None
        assert record.values[0]["ttl"] == 60
        async with db.engine.begin() as conn:  # behind the change log's back: only TTL tells
            await conn.execute(
                sa.text(
                    "UPDATE id_handles SET record = replace(record, 'old', 'new') WHERE key = :k"
                ),
                {"k": key},
            )
        now[0] += 30
        assert (await resolver.bodies([key]))[0] == first
        now[0] += 31
        (expired,) = await resolver.bodies([key])
        assert expired is not None
        assert b"https://t.cn/new" in expired
    finally:
        await resolver.aclose()


def test_a_full_memo_starts_over_so_new_batches_are_memoized_too() -> None:
    from taihu.identifiers.records import wire_values as handle_wire_values  # noqa: PLC0415 - its private memo

    values = [_url(1, "https://a.cn/1")]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    moments = [start + timedelta(seconds=n) for n in range(handle_wire_values._MEMO + 10)]
    for moment in moments:  # a long-running server: every batch brings its own moment
        stored_columns(values, at=moment)
    last = (1, "URL", iso(moments[-1]), 86400, 0, "1110")  # what stored_to_wire looks up
    assert last in handle_wire_values._HEADS
    assert len(handle_wire_values._HEADS) <= handle_wire_values._MEMO
