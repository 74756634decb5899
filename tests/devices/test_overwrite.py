"""A point sent again for a stored (device, key, ts): the latest write wins, rollups follow."""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Any

import httpx
import sqlalchemy as sa

from taihu.core import Database
from taihu.devices import DeviceHub
from taihu.devices.models import TsPoint, TsRollup
from taihu.devices.tsdb import PERIODS, store_for
from taihu.devices.values import Point, typed_value
from tests.devices.conftest import Dev, latest

T0 = 1_764_057_600_000  # 2025-11-25 08:00 UTC in ms
MIN, HOUR, DAY = 60_000, 3_600_000, 86_400_000


async def test_an_explicit_ts_sent_again_with_a_new_value_replaces_it(
    hub: DeviceHub, client: httpx.AsyncClient, make_device: Any
) -> None:
    dev: Dev = await make_device()
    url = f"/api/v1/{dev.token}/telemetry"
    for value in (1.5, 7.25):
        answer = await client.post(url, json={"ts": T0, "values": {"kw": value, "mode": "a"}})
        assert answer.status_code == 200
    raw = await hub.store.raw(dev.id, ["kw"], T0, T0 + 1, limit=10)
    assert [(s.ts, s.value) for s in raw["kw"]] == [(T0, 7.25)]
    assert await latest(client, dev) == {"kw": 7.25, "mode": "a"}
    daily = await hub.store.aggregate([dev.id], ["kw"], T0 - T0 % DAY, T0 + DAY, DAY, "SUM")
    assert [s.value for s in daily["kw"]] == [7.25]


async def test_an_overwrite_of_an_older_point_keeps_the_latest_value(db: Database) -> None:
    store = store_for(db)
    await store.write([(1, Point("t", T0, 1.0)), (1, Point("t", T0 + 1000, 2.0))])
    await store.write([(1, Point("t", T0, 5.0))])
    assert {k: (s.ts, s.value) for k, s in (await store.latest(1)).items()} == {
        "t": (T0 + 1000, 2.0)
    }
    await store.write([(1, Point("t", T0 + 1000, "off"))])  # a number becomes text
    assert (await store.latest(1))["t"].value == "off"


async def _table(db: Database, table: Any) -> list[Any]:
    async with db.engine.connect() as conn:
        return [tuple(r) for r in await conn.execute(sa.select(table))]


def _rollups_from(points: list[Any]) -> set[tuple[Any, ...]]:
    """``ts_rollups`` as the raw numeric points give it, for every period."""
    buckets: dict[tuple[int, str, int, int], list[float]] = defaultdict(list)
    for device_id, key, ts, _kind, num, _txt in points:
        if num is not None:
            for period in PERIODS:
                buckets[(device_id, key, period, ts - ts % period)].append(num)
    return {(*b, min(v), max(v), sum(v), len(v)) for b, v in buckets.items()}


async def test_rollups_stay_what_the_raw_points_give_after_overwrites(db: Database) -> None:
    store = store_for(db)
    rng = random.Random(15)
    day = T0 - T0 % DAY
    # Two days of two keys of two devices; values are whole or half numbers, so sums are exact
    # in any order and the comparison can be exact.
    times = [day + rng.randrange(2 * DAY) for _ in range(400)]
    times += [day + 5 * MIN + i for i in range(40)]  # a crowded minute
    first = [(d, k, ts) for ts in times for d in (1, 2) for k in ("p", "q")]
    expected: dict[tuple[int, str, int], Any] = {}

    def value() -> Any:
        pick = rng.random()
        if pick < 0.1:
            return "fault"  # text: no rollup
        if pick < 0.2:
            return pick < 0.15  # booleans count as 0 and 1
        return rng.randrange(-400, 400) / 2

    async def write(keys: list[tuple[int, str, int]]) -> None:
        batch = [(d, Point(k, ts, value())) for d, k, ts in keys]
        for d, p in batch:  # the last of a batch wins
            expected[(d, p.key, p.ts)] = p.value
        await store.write(batch)

    await write(first)
    # Overwrites: single points, whole batches again, a batch holding a (device, key, ts) twice
    # (once already stored, once new), and points that change between number and text.
    await write(rng.sample(first, 60))
    await write(first[:300])
    again = rng.sample(first, 30)
    await write([*again, (1, "p", day + 3 * DAY), *again, (1, "p", day + 3 * DAY)])
    await write([first[0]] * 5)
    for chunk in range(0, len(first), 500):
        await write([*rng.sample(first, 80), (2, "r", day + chunk)])

    points = await _table(db, TsPoint.__table__)
    assert {(d, k, ts): typed_value(kind, num, txt) for d, k, ts, kind, num, txt in points} == (
        expected
    )
    assert set(await _table(db, TsRollup.__table__)) == _rollups_from(points)
    newest: dict[tuple[int, str], tuple[int, Any]] = {}
    for (d, k, ts), v in sorted(expected.items()):
        newest[(d, k)] = (ts, v)
    for device_id in (1, 2):
        found = {k: (s.ts, s.value) for k, s in (await store.latest(device_id)).items()}
        assert found == {k: tv for (d, k), tv in newest.items() if d == device_id}
