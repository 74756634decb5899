"""Daily use from the device hub's power meters (real devices, real time-series store)."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from taihu.core import Database, FrozenClock
from taihu.devices import DeviceService, Point, store_for
from taihu.monitor import PowerDay, import_power, sync_meters
from tests.monitor.helpers import DAY, SYSTEM, code, power_csv, registry

ZONE = ZoneInfo("Asia/Shanghai")


def _ms(day: date, hour: int) -> int:
    return int(datetime(day.year, day.month, day.day, hour, tzinfo=ZONE).timestamp() * 1000)


async def test_meters_give_max_minus_min_per_day_summed_per_enterprise(
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
        written, meters = await sync_meters(session, store, clock, SYSTEM, day, DAY, zone=ZONE,
                                            profile="power-meter", key="energy")  # fmt: skip
    assert meters == 3
    async with db.session() as session:
        rows = {(r.enterprise_id, r.day): (r.kwh, r.source)
                for r in await session.scalars(select(PowerDay))}  # fmt: skip
    assert rows == {
        (ids[code(0)], day): (100.0, "meter"),
        (ids[code(0)], DAY): (40.0 + 30.0, "meter"),
        (ids[code(1)], DAY): (3.0, "grid"),
    }
    assert written == 2
