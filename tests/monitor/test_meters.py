"""Daily use from the device hub's power meters (real devices, real time-series store)."""

import asyncio
import logging
from datetime import date, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from sqlalchemy import select

from taihu.accounts import AuditEntry
from taihu.core import Database, FrozenClock
from taihu.devices import DeviceService, Point, TimeSeriesStore, store_for
from taihu.monitor import (
    EnergyGap,
    MeterSync,
    PowerDay,
    import_power,
    read_matrix,
    sync_meters,
)
from taihu.settings import Settings
from tests.monitor.helpers import DAY, SYSTEM, code, power_csv, registry

ZONE = ZoneInfo("Asia/Shanghai")


def _ms(day: date, hour: int) -> int:
    return int(datetime(day.year, day.month, day.day, hour, tzinfo=ZONE).timestamp() * 1000)


async def test_meters_give_the_counter_s_rise_per_day_summed_per_enterprise(
    db: Database, clock: FrozenClock
) -> None:
    ids = await registry(db, clock, n=2)
    async with db.session() as session:
        devices = DeviceService(session, clock)
        keys = [{"key": "energy", "type": "double"}]
        await devices.create_profile(SYSTEM, "power-meter", telemetry_keys=keys)
        one = await devices.create(SYSTEM, ids[code(0)], "电表-1", profile="power-meter")
        two = await devices.create(SYSTEM, ids[code(0)], "电表-2", profile="power-meter")
        other = await devices.create(SYSTEM, ids[code(1)], "电表-1", profile="power-meter")
    store = store_for(db)
    day = DAY - timedelta(days=1)
    # Local days (Asia/Shanghai): 01:00 and 23:00 fall on the same day, whatever UTC says.
    await store.write([
        (one.device.id, Point("energy", _ms(day, 1), 1000.0)),
        (one.device.id, Point("energy", _ms(day, 23), 1100.0)),
        (one.device.id, Point("energy", _ms(DAY, 1), 1110.0)),
        (one.device.id, Point("energy", _ms(DAY, 20), 1150.0)),
        (two.device.id, Point("energy", _ms(DAY, 2), 50.0)),
        (two.device.id, Point("energy", _ms(DAY, 22), 80.0)),
        (other.device.id, Point("energy", _ms(DAY, 3), 7.0)),
        (other.device.id, Point("energy", _ms(DAY, 4), 9.5)),
    ])  # fmt: skip
    async with db.session() as session:
        # The grid company's figure for the other enterprise is the billing one: kept.
        await import_power(session, clock, SYSTEM, "g.csv", power_csv([(code(1), DAY, 3.0)]),
                           max_kwh=1e6, today=DAY)  # fmt: skip
        report = await sync_meters(session, store, clock, SYSTEM, day, DAY, zone=ZONE,
                                   profile="power-meter", key="energy")  # fmt: skip
    assert report.meters == 3
    async with db.session() as session:
        rows = {(r.enterprise_id, r.day): (r.kwh, r.source)
                for r in await session.scalars(select(PowerDay))}  # fmt: skip
    assert rows == {
        (ids[code(0)], day): (100.0, "meter"),
        # 1150 - 1100: the 10 kWh between 23:00 and 01:00 count, on the later day; meter two
        # has no reading before DAY, so its day starts at its first reading.
        (ids[code(0)], DAY): (50.0 + 30.0, "meter"),
        (ids[code(1)], DAY): (3.0, "grid"),
    }
    assert report.written == 2
    assert (report.gaps, report.resets) == ((), ())
    async with db.session() as session:  # the indices' day columns carry the synced figures
        columns = await read_matrix(session, (ids[code(0)], ids[code(1)]), day, DAY)
    np.testing.assert_array_equal(columns.kwh, [[100.0, 80.0], [np.nan, 3.0]])


async def _meter(db: Database, clock: FrozenClock) -> tuple[int, int]:
    """One enterprise with one power meter; returns (enterprise id, device id)."""
    ids = await registry(db, clock, n=1)
    async with db.session() as session:
        devices = DeviceService(session, clock)
        keys = [{"key": "energy", "type": "double"}]
        await devices.create_profile(SYSTEM, "power-meter", telemetry_keys=keys)
        meter = await devices.create(SYSTEM, ids[code(0)], "电表-1", profile="power-meter")
    return ids[code(0)], meter.device.id


async def test_a_sync_reports_energy_across_days_without_readings_and_resets(
    db: Database, clock: FrozenClock
) -> None:
    _, device = await _meter(db, clock)
    first = DAY - timedelta(days=4)
    await store_for(db).write([
        (device, Point("energy", _ms(first, 9), 100.0)),
        (device, Point("energy", _ms(first, 18), 160.0)),
        # nothing on the two days after: the meter was offline
        (device, Point("energy", _ms(DAY - timedelta(days=1), 8), 400.0)),
        (device, Point("energy", _ms(DAY - timedelta(days=1), 22), 450.0)),
        (device, Point("energy", _ms(DAY, 6), 2.0)),  # replaced overnight: a new counter
        (device, Point("energy", _ms(DAY, 18), 42.0)),
    ])  # fmt: skip
    async with db.session() as session:
        report = await sync_meters(session, store_for(db), clock, SYSTEM, first, DAY, zone=ZONE,
                                   profile="power-meter", key="energy")  # fmt: skip
    async with db.session() as session:
        rows = {r.day: r.kwh for r in await session.scalars(select(PowerDay))}
        audit = await session.scalar(select(AuditEntry).where(
            AuditEntry.action == "power.sync_meters"))  # fmt: skip
    assert rows == {first: 60.0, DAY - timedelta(days=1): 50.0, DAY: 40.0}
    assert report.gaps == ((device, EnergyGap(first, DAY - timedelta(days=1), 240.0)),)
    assert report.resets == ((device, DAY),)
    assert audit is not None
    assert audit.after is not None
    assert audit.after["gaps"] == [{"device_id": device, "after": first.isoformat(),
                                    "before": (DAY - timedelta(days=1)).isoformat(),
                                    "kwh": 240.0}]  # fmt: skip


class _GatedStore:
    """The real store, whose reads wait at a gate: a sync held open mid-transaction."""

    def __init__(self, inner: TimeSeriesStore) -> None:
        self.inner = inner
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    async def aggregate(self, *args: Any, **kwargs: Any) -> Any:
        self.entered.set()
        await self.release.wait()
        return await self.inner.aggregate(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


async def test_stopping_during_a_sync_lets_it_finish_without_an_error(
    db: Database, clock: FrozenClock, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    enterprise, device = await _meter(db, clock)
    today = clock.now().astimezone(settings.console.zone).date()
    yesterday = today - timedelta(days=1)
    await store_for(db).write([
        (device, Point("energy", _ms(yesterday, 10), 500.0)),
        (device, Point("energy", _ms(yesterday, 20), 520.0)),
        (device, Point("energy", _ms(today, 0), 530.0)),
        (device, Point("energy", _ms(today, 1), 533.5)),
    ])  # fmt: skip
    gated = _GatedStore(store_for(db))
    sync = MeterSync(db, settings, clock, store=cast(TimeSeriesStore, gated))
    caplog.set_level(logging.WARNING)
    sync.start()
    await asyncio.wait_for(gated.entered.wait(), 10)  # the sync's transaction is open now
    stopping = asyncio.create_task(sync.stop())
    await asyncio.sleep(0.05)
    assert not stopping.done()  # the stop waits for the sync rather than cancelling it
    gated.release.set()
    await asyncio.wait_for(stopping, 10)
    async with db.session() as session:
        rows = {(r.enterprise_id, r.day): (r.kwh, r.source)
                for r in await session.scalars(select(PowerDay))}  # fmt: skip
    assert rows == {(enterprise, yesterday): (20.0, "meter"), (enterprise, today): (13.5, "meter")}
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert "Traceback" not in caplog.text
