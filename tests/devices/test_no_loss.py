"""Readings without ``ts``: the hub stamps each one with a time of its own, across restarts.

The suite's clock is frozen, so every reading below arrives in the same millisecond as far as the
hub can tell: the worst case of a device sending faster than the clock ticks.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from taihu.core import Database, FrozenClock
from taihu.devices import Device, DeviceHub
from taihu.devices.stamps import DeviceStamps
from taihu.devices.values import parse_telemetry
from taihu.settings import MqttSettings
from tests.devices.conftest import DEADLINE, Dev
from tests.devices.test_mqtt_clients import V5, V311, Paho

TOPIC = "v1/devices/me/telemetry"


async def stored(hub: DeviceHub, device_id: int, key: str = "v") -> list[Any]:
    """Every stored value of a key, oldest first."""
    raw = await hub.store.raw(device_id, [key], 0, 2**62, limit=10_000, descending=False)
    return [s.value for s in raw.get(key, [])]


async def burst(port: int, token: str, payloads: list[bytes], version: int = V311) -> None:
    """Publish at QoS 1 without waiting in between, then wait for every PUBACK (all success)."""
    c = Paho(port, token, version)
    c.client.max_inflight_messages_set(len(payloads))
    try:
        assert await c.connect() == 0
        infos = [c.client.publish(TOPIC, p, qos=1) for p in payloads]
        acks = [await asyncio.to_thread(c.acks.get, timeout=DEADLINE) for _ in infos]
    finally:
        c.close()
    assert sorted(mid for mid, _ in acks) == sorted(i.mid for i in infos)
    assert all(rc == 0 for _, rc in acks)


@pytest.mark.parametrize("version", [V311, V5], ids=["3.1.1", "5"])
async def test_fifty_acknowledged_publishes_without_ts_are_fifty_points(
    version: int, hub: DeviceHub, port: int, make_device: Any
) -> None:
    dev: Dev = await make_device()
    await burst(port, dev.token, [b'{"v": %d}' % i for i in range(50)], version)
    # Every reading is kept, in the order it was sent, each at a time of its own.
    assert await stored(hub, dev.id) == list(range(50))
    raw = await hub.store.raw(dev.id, ["v"], 0, 2**62, limit=100, descending=False)
    times = [s.ts for s in raw["v"]]
    assert times == sorted(set(times))
    assert times[0] == hub.now_ms()  # the first reading of a quiet device: the clock's time


async def test_forty_concurrent_http_posts_without_ts_are_forty_points(
    hub: DeviceHub, client: httpx.AsyncClient, make_device: Any
) -> None:
    dev: Dev = await make_device()
    answers = await asyncio.gather(
        *(client.post(f"/api/v1/{dev.token}/telemetry", json={"v": i}) for i in range(40))
    )
    assert [a.status_code for a in answers] == [200] * 40
    assert sorted(await stored(hub, dev.id)) == list(range(40))


async def test_objects_without_ts_in_one_message_each_get_a_time(
    hub: DeviceHub, port: int, make_device: Any, client: httpx.AsyncClient
) -> None:
    dev: Dev = await make_device()
    t = 1_764_057_600_000
    await burst(port, dev.token, [b'[{"v": 1}, {"v": 2}, {"ts": %d, "values": {"v": 0}}]' % t])
    answer = await client.post(f"/api/v1/{dev.token}/telemetry", json=[{"v": 3}, {"v": 4}])
    assert answer.status_code == 200
    assert await stored(hub, dev.id) == [0, 1, 2, 3, 4]  # the explicit ts kept as given


async def test_gateway_children_readings_without_ts_are_each_kept(
    hub: DeviceHub, port: int, make_device: Any, db: Database
) -> None:
    gateway: Dev = await make_device("edge-gw", gateway=True)
    c = Paho(port, gateway.token, V311)
    c.client.max_inflight_messages_set(30)
    try:
        assert await c.connect() == 0
        infos = [
            c.client.publish("v1/gateway/telemetry", b'{"stamped-child": [{"v": %d}]}' % i, qos=1)
            for i in range(30)
        ]
        acks = [await asyncio.to_thread(c.acks.get, timeout=DEADLINE) for _ in infos]
    finally:
        c.close()
    assert all(rc == 0 for _, rc in acks)
    async with db.session() as session:
        child = (
            await session.execute(sa.select(Device.id).where(Device.name == "stamped-child"))
        ).scalar_one()
    assert await stored(hub, child) == list(range(30))


async def _started(db: Database, clock: FrozenClock) -> tuple[DeviceHub, int]:
    """A hub of its own (as a new process would have) listening on a free port."""
    hub = DeviceHub(db, MqttSettings(port=0, connect_timeout=1.0), clock=clock)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    await hub.start(sock)
    assert hub.listener is not None
    return hub, hub.listener.port


async def test_a_burst_resent_after_a_restart_is_kept(
    db: Database, clock: FrozenClock, make_device: Any
) -> None:
    dev: Dev = await make_device()
    first, port = await _started(db, clock)
    try:
        await burst(port, dev.token, [b'{"v": %d}' % i for i in range(25)])
    finally:
        await first.stop()
    # A new hub on the same database, at the same clock reading: it knows nothing in memory of
    # the times the first one used, and must not stamp over them.
    second, port = await _started(db, clock)
    try:
        await burst(port, dev.token, [b'{"v": %d}' % i for i in range(25)])
        assert await stored(second, dev.id) == list(range(25)) * 2
    finally:
        await second.stop()


async def test_processes_stamping_in_lanes_of_their_own_never_share_a_millisecond(
    hub: DeviceHub, make_device: Any
) -> None:
    # Three processes (two HTTP workers and the MQTT hub) stamping one device at the same instant.
    dev: Dev = await make_device()
    lanes = [DeviceStamps(lane, 3) for lane in range(3)]
    now = hub.now_ms()
    stamps: list[int] = []
    for _ in range(20):
        for lane, stamp in enumerate(lanes):
            first = await stamp.reserve(hub.store, dev.id, 2, now)
            assert first % 3 == lane
            stamps += [first, first + 3]  # a document with two objects without ts
    assert len(set(stamps)) == len(stamps)
    # The same spacing when a document's objects are parsed and stored.
    points = parse_telemetry([{"v": 1}, {"v": 2}], 30, step=3)
    assert [p.ts for p in points] == [30, 33]
    with pytest.raises(ValueError, match="lane 3 is not one of 3 lanes"):
        DeviceStamps(3, 3)
