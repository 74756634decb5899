"""Device → edge → hub through an uplink outage: every reading once, in order, nothing lost."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
from tests.devices.conftest import latest
from tests.edge.conftest import child, config, eventually, modbus_device, outage, running, series
from tests.web.test_console import sign_in

from taihu.accounts import Principal, Role
from taihu.demo.simulators import ModbusSimulator
from taihu.devices import DeviceHub, DeviceService
from taihu.edge import EdgeGateway


def spy(gateway: EdgeGateway) -> list[tuple[str, int, str, Any]]:
    """Every reading the gateway appends to its buffer, in order."""
    appended: list[tuple[str, int, str, Any]] = []
    append = gateway.buffer.append

    def recording(readings: Sequence[tuple[str, int, str, Any]]) -> int:
        appended.extend(readings)
        return append(readings)

    gateway.buffer.append = recording  # type: ignore[method-assign]
    return appended


async def tick(meter: ModbusSimulator) -> None:
    """The meter's counter (holding 0, uint32) goes up every 10 ms."""
    count = 0
    while True:
        count += 1
        meter.set("holding", 0, count, "uint32")
        await asyncio.sleep(0.01)


async def test_uplink_outage_every_reading_arrives_once_and_in_order(
    tmp_path: Path, hub: DeviceHub, port: int, make_device: Any, client: httpx.AsyncClient,
    world: Any, meter: ModbusSimulator,
) -> None:  # fmt: skip
    gw = await make_device("edge-1", gateway=True)
    gateway = EdgeGateway(config(tmp_path, port, gw.token, [modbus_device("电表-1", meter.port)]))
    appended = spy(gateway)
    ticking = asyncio.create_task(tick(meter))
    try:
        async with running(gateway):
            dev = await child(world, gw, "电表-1")

            async def arriving() -> bool:
                return len(await series(client, dev, "count")) >= 5

            await eventually(arriving)

            async def buffering() -> bool:
                # The hub is gone: readings pile up in the buffer, polling goes on.
                return not gateway.status.uplink.connected and gateway.buffer.depth >= 30

            await outage(hub, lambda: eventually(buffering))
            assert gateway.status.uplink.last_error is not None

            # The meter goes away too, so the stream has an end to compare against.
            ticking.cancel()
            await meter.stop()

            async def drained() -> bool:
                health = gateway.status.devices["电表-1"]
                return gateway.buffer.depth == 0 and not health.connected

            await eventually(drained)
            stored = await series(client, dev, "count")
            stats = gateway.buffer.stats()
    finally:
        ticking.cancel()
    assert stored == [(ts, value) for _, ts, _, value in appended], (
        stats,
        gateway.status.uplink,
        len(stored),
        len(appended),
        sorted(set(appended) - {("电表-1", ts, "count", v) for ts, v in stored})[:20],
    )
    values = [v for _, v in stored]
    assert values == sorted(values)
    assert stats.counters["sent"] == len(appended) == stats.counters["appended"]
    assert stats.counters["dropped_full"] == stats.counters["dropped_age"] == 0
    assert gateway.status.uplink.connects >= 2

    # The gateway's own health is its telemetry on the hub, shown on its console page.
    assert {"edge_buffer_depth", "edge_sent", "edge_dropped"} <= (await latest(client, gw)).keys()
    await world.user("factory", Role.ENTERPRISE, enterprises=(gw.enterprise_id,))
    await sign_in(client, "factory")
    page = await client.get(f"/devices/{gw.id}")
    assert 'data-key="edge_buffer_depth"' in page.text
    assert 'data-key="edge_devices_up"' in page.text


async def test_replay_keeps_to_the_advertised_rate_limit(
    tmp_path: Path, hub: DeviceHub, port: int, make_device: Any, client: httpx.AsyncClient,
    world: Any, meter: ModbusSimulator,
) -> None:  # fmt: skip
    async with world.db.session() as session:
        await DeviceService(session).create_profile(
            Principal.system(), "slow-gateway", rate_limits="20:1,400:60"
        )
    gw = await make_device("edge-1", gateway=True, profile="slow-gateway")
    device = modbus_device("电表-1", meter.port, interval=1.0)
    gateway = EdgeGateway(config(tmp_path, port, gw.token, [device], uplink={"max_batch": 5}))
    # A backlog as an outage leaves it: 400 readings, 80 messages of 5 at most.
    t0 = int(time.time() * 1000) - 60_000  # within the buffer's max_age
    gateway.buffer.append([("backlog", t0 + i, "n", i) for i in range(400)])
    async with running(gateway):
        dev = await child(world, gw, "backlog")

        async def replayed() -> bool:
            return gateway.buffer.stats().counters["sent"] >= 400

        await eventually(replayed)
        stored = await series(client, dev, "n")
    assert stored == [(t0 + i, i) for i in range(400)]
    assert gateway.status.uplink.limits == "20:1,400:60"
    # Paced below the limit: the hub never answered "quota exceeded".
    assert gateway.status.uplink.rate_limited == 0
    assert hub.devices[gw.id].rate_limited == 0
