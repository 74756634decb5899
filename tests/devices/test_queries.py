"""ThingsBoard-compatible queries and the cross-device aggregate, with enterprise isolation."""

from __future__ import annotations

from typing import Any

import httpx

from taihu.accounts import Role
from taihu.devices import DeviceHub, Point
from tests.conftest import CODE_B, World

DAY = 86_400_000
HOUR = 3_600_000


async def test_aggregated_series_and_isolation(
    client: httpx.AsyncClient, make_device: Any, world: World, app: Any
) -> None:
    hub: DeviceHub = app.state.device_hub
    a = await make_device("a")
    b = await make_device("b")
    day = 1_764_028_800_000  # 2025-11-25 00:00 UTC
    await hub.ingest.write(a.id, [Point("kw", day + i * 600_000, float(i)) for i in range(12)])
    await hub.ingest.write(b.id, [Point("kw", day + 60_000, 100.0)])
    url = f"/api/plugins/telemetry/DEVICE/{a.id}/values/timeseries"
    hourly = await client.get(
        url, params={"keys": "kw", "startTs": day, "endTs": day + 2 * HOUR, "interval": HOUR,
                     "agg": "AVG", "useStrictDataTypes": "true"},
        headers=a.headers,
    )  # fmt: skip
    assert hourly.json() == {
        "kw": [{"ts": day + HOUR // 2, "value": 2.5}, {"ts": day + HOUR + HOUR // 2, "value": 8.5}]
    }
    counted = await client.get(
        url, params={"keys": "kw", "startTs": day, "endTs": day + DAY, "interval": DAY,
                     "agg": "COUNT"}, headers=a.headers,
    )  # fmt: skip
    assert counted.json() == {"kw": [{"ts": day + DAY // 2, "value": "12"}]}
    bad = await client.get(url, params={"startTs": day, "endTs": day - 1}, headers=a.headers)
    assert bad.status_code == 400
    keys = await client.get(
        f"/api/plugins/telemetry/DEVICE/{a.id}/keys/timeseries", headers=a.headers
    )
    assert keys.json() == ["kw"]

    # Another enterprise's user sees nothing of it; the bureau sees aggregates, not series.
    other = await world.enterprise("乙厂", CODE_B)
    bob = await world.bearer("bob", Role.ENTERPRISE, enterprises=(other.id,))
    bureau = await world.bearer("bu", Role.BUREAU)
    assert (await client.get(url, headers=bob)).status_code == 404
    assert (await client.get(url, headers=bureau)).status_code == 404
    total = await client.get(
        "/api/telemetry/aggregate",
        params={"enterprise_id": a.enterprise_id, "key": "kw", "startTs": day,
                "endTs": day + DAY, "interval": DAY, "agg": "SUM"},
        headers=bureau,
    )  # fmt: skip
    assert total.json() == {"kw": [{"ts": day + DAY // 2, "value": 166.0}]}
    hidden = await client.get(
        "/api/telemetry/aggregate",
        params={"enterprise_id": a.enterprise_id, "key": "kw", "startTs": day,
                "endTs": day + DAY, "interval": DAY},
        headers=bob,
    )  # fmt: skip
    assert hidden.status_code == 404


async def test_values_as_text_are_json_text_as_thingsboard_renders_them(
    client: httpx.AsyncClient, make_device: Any, app: Any
) -> None:
    hub: DeviceHub = app.state.device_hub
    dev = await make_device()
    t = 1_764_028_800_000
    values = {
        "obj": {"x": 1, "ok": True, "name": "泵", "none": None},
        "arr": [1, 2.5, False, "a"],
        "on": True,
        "off": False,
        "n": 42,
        "s": "text",
    }
    await hub.ingest.write(dev.id, [Point(k, t, v) for k, v in values.items()])
    url = f"/api/plugins/telemetry/DEVICE/{dev.id}/values/timeseries"
    loose = await client.get(url, headers=dev.headers)  # useStrictDataTypes=false: the default
    assert {k: v[0]["value"] for k, v in loose.json().items()} == {
        "obj": '{"x":1,"ok":true,"name":"泵","none":null}',
        "arr": '[1,2.5,false,"a"]',
        "on": "true",
        "off": "false",
        "n": "42",
        "s": "text",
    }
    raw = await client.get(url, params={"keys": "obj,arr", "startTs": t, "endTs": t + 1},
                           headers=dev.headers)  # fmt: skip
    assert raw.json()["obj"][0]["value"] == '{"x":1,"ok":true,"name":"泵","none":null}'
    strict = await client.get(url, params={"useStrictDataTypes": "true"}, headers=dev.headers)
    assert {k: v[0]["value"] for k, v in strict.json().items()} == values
