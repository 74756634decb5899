"""The time-series store on the suite's database (SQLite, or PostgreSQL when asked)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from taihu.accounts import Principal
from taihu.core import Database, FrozenClock
from taihu.devices import DeviceService
from taihu.devices.jobs import enforce_retention
from taihu.devices.partitions import week_of
from taihu.devices.tsdb import PostgresStore, store_for
from taihu.devices.values import Point
from tests.conftest import CODE_A, World

T0 = 1_764_057_600_000  # 2025-11-25 08:00 UTC in ms
MIN, HOUR, DAY = 60_000, 3_600_000, 86_400_000


async def test_points_latest_and_duplicates(db: Database) -> None:
    store = store_for(db)
    added = await store.write(
        [(1, Point("t", T0, 20.5)), (1, Point("t", T0 + 1000, 21.5)),
         (1, Point("on", T0, value=True)), (1, Point("name", T0, "press")),
         (1, Point("cfg", T0, {"a": [1, 2]})), (2, Point("t", T0, 99))]
    )  # fmt: skip
    assert added == 6
    # A redelivered message adds nothing and changes no rollup.
    assert await store.write([(1, Point("t", T0, 20.5))]) == 0
    latest = await store.latest(1)
    assert {k: s.value for k, s in latest.items()} == {
        "t": 21.5, "on": True, "name": "press", "cfg": {"a": [1, 2]},
    }  # fmt: skip
    assert latest["t"].ts == T0 + 1000
    # An older point does not replace the latest value.
    await store.write([(1, Point("t", T0 - 5000, 1.0))])
    assert (await store.latest(1, ["t"]))["t"].value == 21.5
    raw = await store.raw(1, ["t"], T0 - DAY, T0 + DAY, limit=2)
    assert [s.value for s in raw["t"]] == [21.5, 20.5]
    raw_asc = await store.raw(1, ["t"], T0 - DAY, T0 + DAY, limit=10, descending=False)
    assert [s.value for s in raw_asc["t"]] == [1.0, 20.5, 21.5]
    assert await store.keys(1) == ["cfg", "name", "on", "t"]


@pytest.mark.parametrize("agg", ["AVG", "MIN", "MAX", "SUM", "COUNT"])
async def test_rollups_match_raw_aggregation(db: Database, agg: str) -> None:
    store = store_for(db)
    day = T0 - T0 % DAY
    # Three hours of a value every 7 seconds, written in several batches.
    points = [(3, Point("p", day + i * 7000, float(i % 50))) for i in range(3 * 3600 // 7)]
    for i in range(0, len(points), 400):
        await store.write(points[i : i + 400])
    values = [p.value for _, p in points]
    # From hourly rollups (aligned interval) and from raw points (an unaligned interval).
    hourly = await store.aggregate([3], ["p"], day, day + 3 * HOUR, HOUR, agg)  # type: ignore[arg-type]
    assert len(hourly["p"]) == 3
    assert hourly["p"][0].ts == day + HOUR // 2
    whole = await store.aggregate([3], ["p"], day, day + DAY, DAY, agg)  # type: ignore[arg-type]
    by_raw = await store.aggregate([3], ["p"], day + 1, day + DAY, DAY, agg)  # type: ignore[arg-type]
    expected = {
        "AVG": sum(values) / len(values), "MIN": min(values), "MAX": max(values),
        "SUM": sum(values), "COUNT": len(values),
    }[agg]  # fmt: skip
    assert whole["p"][0].value == pytest.approx(expected)
    # The raw path skips the point at `day` exactly (it starts at day + 1).
    assert by_raw["p"][0].value == pytest.approx(
        {"AVG": sum(values[1:]) / len(values[1:]), "MIN": min(values[1:]),
         "MAX": max(values[1:]), "SUM": sum(values[1:]), "COUNT": len(values) - 1}[agg]
    )  # fmt: skip
    minutes = await store.aggregate([3], ["p"], day, day + 10 * MIN, MIN, "COUNT")
    per_minute = [sum(1 for _, p in points if (p.ts - day) // MIN == m) for m in range(10)]
    assert [s.value for s in minutes["p"]] == per_minute


async def test_buckets_hold_the_late_part_of_their_interval(db: Database) -> None:
    # A point 20 hours into a day belongs to that day: a bucket index rounded instead of floored
    # (true division cast to an integer, as PostgreSQL does) would move it to the next day.
    store = store_for(db)
    day = T0 - T0 % DAY
    await store.write(
        [(4, Point("e", day + 20 * HOUR, 1.0)), (4, Point("e", day + DAY + HOUR, 2.0))]
    )
    for start in (day, day + 1):  # from the hourly rollups, then from raw points
        daily = await store.aggregate([4], ["e"], start, day + 2 * DAY, DAY, "SUM")
        assert [s.value for s in daily["e"]] == [1.0, 2.0]


async def test_aggregate_across_devices(db: Database) -> None:
    store = store_for(db)
    day = T0 - T0 % DAY
    await store.write([(d, Point("kw", day + 1000 * d, 10.0 * d)) for d in (1, 2, 3)])
    total = await store.aggregate([1, 2], ["kw"], day, day + DAY, DAY, "SUM")
    assert total["kw"][0].value == 30.0


async def test_retention_per_profile(db: Database, world: World, clock: FrozenClock) -> None:
    enterprise = await world.enterprise("甲厂", CODE_A)
    async with db.session() as session:
        registry = DeviceService(session, clock)
        await registry.create_profile(Principal.system(), "short", retention_days=2)
        short = (
            await registry.create(Principal.system(), enterprise.id, "a", profile="short")
        ).device
        long = (await registry.create(Principal.system(), enterprise.id, "b")).device
    store = store_for(db)
    now = int(clock.now().timestamp() * 1000)
    old, recent = now - 5 * DAY, now - DAY
    await store.write([(d.id, Point("x", ts, 1.0)) for d in (short, long) for ts in (old, recent)])
    deleted = await enforce_retention(db, store, clock)
    assert deleted == 1
    assert [s.ts for s in (await store.raw(short.id, ["x"], 0, now, limit=10))["x"]] == [recent]
    assert len((await store.raw(long.id, ["x"], 0, now, limit=10))["x"]) == 2
    # Daily rollups of the short profile outlive its raw points (10 x retention).
    daily = await store.aggregate([short.id], ["x"], old - old % DAY, now, DAY, "COUNT")
    assert sum(s.value for s in daily["x"]) == 2
    clock.advance(timedelta(days=30))
    await enforce_retention(db, store, clock)
    assert await store.raw(short.id, ["x"], 0, now, limit=10) == {}
    minutes = await store.aggregate([short.id], ["x"], 0, now + MIN - now % MIN, MIN, "COUNT")
    assert minutes == {}


async def test_retention_drops_whole_weeks_on_postgresql(
    db: Database, world: World, clock: FrozenClock
) -> None:
    enterprise = await world.enterprise("甲厂", CODE_A)
    async with db.session() as session:
        registry = DeviceService(session, clock)
        await registry.create_profile(Principal.system(), "year", retention_days=365)
        dev = (await registry.create(Principal.system(), enterprise.id, "m", profile="year")).device
    store = store_for(db)
    now = int(clock.now().timestamp() * 1000)
    ancient, recent = now - 400 * DAY, now - DAY
    await store.write([(dev.id, Point("x", ts, 1.0)) for ts in (ancient, recent)])
    assert len((await store.raw(dev.id, ["x"], 0, now, limit=10))["x"]) == 2
    deleted = await enforce_retention(db, store, clock)
    assert (await store.raw(dev.id, ["x"], 0, now, limit=10))["x"][0].ts == recent
    assert len((await store.raw(dev.id, ["x"], 0, now, limit=10))["x"]) == 1
    if db.dialect == "sqlite":  # one table: retention deletes rows
        assert deleted == 1
        assert await store.rotate(now, now) == []
        return
    assert isinstance(store, PostgresStore)
    assert deleted == 0  # the ancient week went as a whole
    weeks = await _partitions(db)
    assert _week(ancient) not in weeks
    # The weeks of the recent point, this week and the two coming ones exist.
    assert {_week(recent), *(_week(now + i * 7 * DAY) for i in range(3))} <= set(weeks)
    # A point that landed in the default partition moves into its week when that is created.
    late = now - 100 * DAY
    store.partitions.known.add(week_of(late))  # as if another process had created it
    await store.write([(dev.id, Point("x", late, 2.0))])
    assert await _count(db, "ts_points_default") == 1
    fresh = PostgresStore(db)
    await fresh.write([(dev.id, Point("x", now, 3.0))])
    # Creating the week (here by rotating as of that time) moves the point into it.
    assert await fresh.rotate(late, late - 400 * DAY) == []
    assert await _count(db, "ts_points_default") == 0
    assert await _count(db, _week(late)) == 1
    values = await store.raw(dev.id, ["x"], 0, now + 1, limit=10, descending=False)
    assert [s.value for s in values["x"]] == [2.0, 1.0, 3.0]


def _week(ts: int) -> str:
    return "ts_points_w" + datetime.fromtimestamp(week_of(ts) / 1000, UTC).strftime("%Y%m%d")


async def _partitions(db: Database) -> list[str]:
    async with db.engine.connect() as conn:
        found = await conn.execute(
            sa.text(
                "SELECT relname FROM pg_class WHERE relispartition AND relkind = 'r' "
                "ORDER BY relname"
            )
        )
        return list(found.scalars())


async def _count(db: Database, table: str) -> int:
    async with db.engine.connect() as conn:
        query = sa.select(sa.func.count()).select_from(sa.table(table))
        return int((await conn.execute(query)).scalar_one())
