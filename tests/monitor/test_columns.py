"""The day columns the indices read: kept equal to the power rows through every kind of write."""

import asyncio
from datetime import date, timedelta

import numpy as np
import sqlalchemy as sa
from alembic import command
from sqlalchemy import Connection

from taihu.core import Database, FrozenClock, upgrade
from taihu.core.migrate import alembic_config
from taihu.enterprises import Enterprise
from taihu.monitor import (
    MonitorService,
    PowerColumn,
    PowerDay,
    PowerDirtyDay,
    PowerMatrix,
    import_power,
    read_matrix,
    refresh_columns,
)
from tests.monitor.helpers import DAY, SYSTEM, code, example_rows, power_csv, registry

FIRST = date(2025, 12, 1)


async def _from_rows(db: Database, first: date, last: date) -> PowerMatrix:
    """The matrix built the slow way, from every power row, over the whole registry."""
    async with db.session() as session:
        ids = tuple(await session.scalars(sa.select(Enterprise.id).order_by(Enterprise.id)))
        rows = await session.execute(sa.select(PowerDay.enterprise_id, PowerDay.day, PowerDay.kwh))
        return PowerMatrix.build(ids, first, last, ((e, d, k) for e, d, k in rows))


async def _from_columns(db: Database, first: date, last: date) -> PowerMatrix:
    async with db.session() as session:
        ids = tuple(await session.scalars(sa.select(Enterprise.id).order_by(Enterprise.id)))
        return await read_matrix(session, ids, first, last)


async def _dirty(db: Database) -> list[date]:
    async with db.session() as session:
        return sorted(await session.scalars(sa.select(PowerDirtyDay.day)))


async def _resumption(db: Database, clock: FrozenClock) -> float | None:
    async with db.session() as session:
        report = await MonitorService(session, clock=clock).index(SYSTEM, DAY)
    return report.district.resumption_rate


async def test_an_import_builds_the_columns_in_its_own_transaction(
    db: Database, clock: FrozenClock
) -> None:
    await registry(db, clock)
    async with db.session() as session:
        await import_power(session, clock, SYSTEM, "p.csv", power_csv(example_rows()),
                           max_kwh=1e6, today=DAY)  # fmt: skip
    assert await _dirty(db) == []
    async with db.session() as session:
        days = set(await session.scalars(sa.select(PowerColumn.day)))
    assert days == {FIRST + timedelta(days=k) for k in range(31)} | {DAY - timedelta(days=1), DAY}
    fast, slow = await _from_columns(db, FIRST, DAY), await _from_rows(db, FIRST, DAY)
    np.testing.assert_array_equal(fast.kwh, slow.kwh)  # NaN where no reading, in both


async def test_a_re_import_replaces_the_day_the_indices_read(
    db: Database, clock: FrozenClock
) -> None:
    await registry(db, clock)
    async with db.session() as session:
        await import_power(session, clock, SYSTEM, "p.csv", power_csv(example_rows()),
                           max_kwh=1e6, today=DAY)  # fmt: skip
    assert await _resumption(db, clock) == 0.5  # the worked example: B at 59.9 < 0.3 · 200
    async with db.session() as session:
        report = await import_power(session, clock, SYSTEM, "fix.csv",
                                    power_csv([(code(1), DAY, 60.0)]), max_kwh=1e6,
                                    today=DAY)  # fmt: skip
    assert report.updated == 1
    assert await _resumption(db, clock) == 1.0  # 60 ≥ 0.3 · 200: B counts as resumed now
    assert await _dirty(db) == []


async def test_writes_that_bypass_the_service_are_read_from_the_rows_until_rebuilt(
    db: Database, clock: FrozenClock
) -> None:
    ids = await registry(db, clock)
    async with db.session() as session:
        await import_power(session, clock, SYSTEM, "p.csv", power_csv(example_rows()),
                           max_kwh=1e6, today=DAY)  # fmt: skip
    async with db.session() as session:  # a hand-made SQL fix, no refresh
        await session.execute(
            sa.update(PowerDay)
            .where(PowerDay.enterprise_id == ids[code(1)], PowerDay.day == DAY)
            .values(kwh=75.0)
        )
        await session.execute(sa.delete(PowerDay).where(PowerDay.enterprise_id == ids[code(0)],
                                                        PowerDay.day == DAY))  # fmt: skip
        await session.execute(sa.insert(PowerDay).values(
            enterprise_id=ids[code(3)], day=DAY, kwh=50.0, source="grid", updated_at=clock.now()
        ))  # fmt: skip
    assert await _dirty(db) == [DAY]  # the triggers saw the three statements
    fast, slow = await _from_columns(db, FIRST, DAY), await _from_rows(db, FIRST, DAY)
    np.testing.assert_array_equal(fast.kwh, slow.kwh)
    assert await _resumption(db, clock) == 1.0  # B at 75 and D at 50 (B 50), A without a reading
    async with db.session() as session:
        assert await refresh_columns(session) == 1
    assert await _dirty(db) == []
    np.testing.assert_array_equal((await _from_columns(db, FIRST, DAY)).kwh, slow.kwh)


async def test_a_deleted_enterprise_leaves_the_columns(db: Database, clock: FrozenClock) -> None:
    ids = await registry(db, clock)
    async with db.session() as session:
        await import_power(session, clock, SYSTEM, "p.csv", power_csv(example_rows()),
                           max_kwh=1e6, today=DAY)  # fmt: skip
    async with db.session() as session:  # the power rows go with it (ON DELETE CASCADE)
        await session.execute(sa.delete(Enterprise).where(Enterprise.id == ids[code(1)]))
        await refresh_columns(session)
    async with db.session() as session:
        column = await session.get(PowerColumn, DAY)
        assert column is not None
        assert ids[code(1)] not in np.frombuffer(column.ids, "<i8").tolist()
    assert await _resumption(db, clock) == 1.0  # A alone is counted, and resumed


async def test_the_migration_packs_the_power_already_stored(
    empty_database_url: str, clock: FrozenClock
) -> None:
    db = Database(empty_database_url)
    try:
        await upgrade(db)

        def _down(conn: Connection) -> None:
            command.downgrade(alembic_config(conn), "monitor_0001")

        async with db.engine.begin() as conn:
            await conn.run_sync(_down)
        ids = await registry(db, clock, n=2)
        rows = [
            {"e": ids[code(i)], "d": FIRST + timedelta(days=j), "k": 10.0 * i + j, "t": clock.now()}
            for i in range(2)
            for j in range(3)
            if (i, j) != (1, 1)
        ]
        async with db.engine.begin() as conn:
            await conn.execute(
                sa.text(
                    "INSERT INTO monitor_power_days (enterprise_id, day, kwh, source, updated_at) "
                    "VALUES (:e, :d, :k, 'grid', :t)"
                ),
                rows,
            )
        await upgrade(db)
        assert await _dirty(db) == []
        fast = await _from_columns(db, FIRST, FIRST + timedelta(days=2))
        np.testing.assert_array_equal(fast.kwh, [[0.0, 1.0, 2.0], [10.0, np.nan, 12.0]])
    finally:
        await db.dispose()


async def test_concurrent_imports_of_the_same_days_leave_the_columns_equal_to_the_rows(
    db: Database, clock: FrozenClock
) -> None:
    await registry(db, clock)
    days = [DAY - timedelta(days=k) for k in range(5)]

    async def load(kwh: float, order: list[date]) -> None:
        rows = [(code(i), d, kwh + i) for d in order for i in range(4)]
        async with db.session() as session:
            await import_power(session, clock, SYSTEM, "p.csv", power_csv(rows), max_kwh=1e6,
                               today=DAY)  # fmt: skip

    await asyncio.gather(load(10.0, days), load(20.0, days[::-1]), load(30.0, days[2:]))
    assert await _dirty(db) == []
    fast, slow = await _from_columns(db, days[-1], DAY), await _from_rows(db, days[-1], DAY)
    np.testing.assert_array_equal(fast.kwh, slow.kwh)
