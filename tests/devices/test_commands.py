"""Commands across processes, in one test process: two hubs joined by a real nats-server.

The application's hub plays the API process (no MQTT listener); a second hub, listening for MQTT,
plays the transport. RPC, one-way RPC, shared attribute pushes and presence go from the first to
a paho device on the second over core NATS (``taihu.devices.commands``).
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from taihu.core import Database
from taihu.devices import BusCommands, DeviceHub, JetStreamBus
from taihu.devices.commands import decode_command
from taihu.devices.downlink import NOT_CONNECTED
from taihu.settings import ClusterSettings, MqttSettings
from tests.devices.conftest import eventually
from tests.devices.test_mqtt_clients import V5, Paho
from tests.processes import NO_NATS_SERVER, nats_server

pytestmark = pytest.mark.skipif(NO_NATS_SERVER, reason="no nats-server")


@pytest.fixture
def nats_url(tmp_path: Path) -> Iterator[str]:
    """A JetStream nats-server of the test's own."""
    with nats_server(tmp_path / "nats") as url:
        yield url


async def _joined(hub: DeviceHub, url: str) -> tuple[JetStreamBus, BusCommands]:
    bus = JetStreamBus(ClusterSettings(nats_urls=[url], command_timeout=5.0))
    await bus.open()
    commands = BusCommands(bus, hub)
    await commands.start()
    return bus, commands


@pytest.fixture
async def transport(db: Database, nats_url: str) -> AsyncIterator[DeviceHub]:
    """A second hub, listening for MQTT on a free port, offering its devices on the bus."""
    hub = DeviceHub(db, MqttSettings(port=0, connect_timeout=1.0))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    await hub.start(sock)
    bus, commands = await _joined(hub, nats_url)
    yield hub
    await hub.stop()
    await commands.stop()
    await bus.close()


@pytest.fixture
async def api(app: Any, nats_url: str) -> AsyncIterator[DeviceHub]:
    """The application's hub, holding no device, joined to the bus."""
    hub: DeviceHub = app.state.device_hub
    bus, commands = await _joined(hub, nats_url)
    yield hub
    await commands.stop()
    await bus.close()


@pytest.fixture
def device_client() -> Iterator[list[Paho]]:
    """Paho clients closed at the end."""
    made: list[Paho] = []
    yield made
    for c in made:
        c.close()


async def test_rpc_pushes_and_presence_reach_a_device_held_by_another_hub(
    api: DeviceHub, transport: DeviceHub, make_device: Any, client: httpx.AsyncClient,
    device_client: list[Paho],
) -> None:  # fmt: skip
    dev = await make_device()
    twoway = f"/api/plugins/rpc/twoway/{dev.id}"
    # Held by no process: NATS has no responders, the answer is the one-process answer.
    offline = await client.post(twoway, json={"method": "m"}, headers=dev.headers)
    assert offline.status_code == 409, offline.text
    assert offline.json() == {"error": "device_offline", "message": NOT_CONNECTED}
    assert await api.online([dev.id]) == set()
    assert await api.push_shared(dev.id, {"speed": 1}) == 0

    assert transport.listener is not None
    c = Paho(transport.listener.port, dev.token, V5)
    device_client.append(c)
    assert await c.connect() == 0
    await c.subscribe("v1/devices/me/rpc/request/+")
    await c.subscribe("v1/devices/me/attributes")

    async def seen() -> bool:
        return await api.online([dev.id]) == {dev.id}

    await eventually(seen)
    assert not api.reachable(dev.id)  # answered by the other hub, not held here

    async def device_answers() -> None:
        topic, payload = await c.message()
        assert json.loads(payload) == {"method": "setSpeed", "params": {"rpm": 900}}
        request_id = topic.rsplit("/", 1)[1]
        c.client.publish(f"v1/devices/me/rpc/response/{request_id}", b'{"done": true}', qos=1)

    answering = asyncio.create_task(device_answers())
    answer = await client.post(
        twoway, json={"method": "setSpeed", "params": {"rpm": 900}}, headers=dev.headers
    )
    await answering
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"done": True}

    oneway = await client.post(
        f"/api/plugins/rpc/oneway/{dev.id}", json={"method": "blink"}, headers=dev.headers
    )
    assert oneway.status_code == 200, oneway.text
    topic, payload = await c.message()
    assert topic.startswith("v1/devices/me/rpc/request/")
    assert json.loads(payload) == {"method": "blink", "params": None}

    assert await api.push_shared(dev.id, {"speed": 1200}) == 1
    assert await c.message() == ("v1/devices/me/attributes", b'{"speed":1200}')

    # The device says nothing: the RPC's own wait ends it, as in one process.
    silent = await client.post(
        twoway, json={"method": "silent", "timeout": 300}, headers=dev.headers
    )
    assert silent.status_code == 504, silent.text
    await c.message()  # the unanswered request

    c.close()
    device_client.clear()

    async def gone() -> bool:
        return await api.online([dev.id]) == set()

    await eventually(gone)
    with pytest.raises(LookupError, match=NOT_CONNECTED):
        await api.rpc(dev.id, "m", None, wait=1.0, oneway=False)


async def test_a_gateway_child_is_reached_through_the_process_of_its_gateway(
    api: DeviceHub, transport: DeviceHub, make_device: Any, device_client: list[Paho]
) -> None:
    gateway = await make_device("gw", gateway=True)
    assert transport.listener is not None
    c = Paho(transport.listener.port, gateway.token, V5)
    device_client.append(c)
    assert await c.connect() == 0
    await c.subscribe("v1/gateway/rpc")
    assert await c.publish("v1/gateway/connect", {"device": "Meter A"}) == 0
    (child,) = [d for d, (_, name) in transport.gateway_children.items() if name == "Meter A"]

    async def seen() -> bool:
        return await api.online([child]) == {child}

    await eventually(seen)
    calling = asyncio.create_task(api.rpc(child, "read", {"k": 1}, wait=30.0, oneway=False))
    topic, payload = await c.message()
    request = json.loads(payload)
    assert (topic, request["device"]) == ("v1/gateway/rpc", "Meter A")
    assert request["data"]["method"] == "read"
    answer = {"device": "Meter A", "id": request["data"]["id"], "data": {"v": 7}}
    assert await c.publish("v1/gateway/rpc", answer) == 0
    assert await calling == {"v": 7}

    assert await c.publish("v1/gateway/disconnect", {"device": "Meter A"}) == 0

    async def gone() -> bool:
        return await api.online([child]) == set()

    await eventually(gone)


async def test_a_stop_ends_the_follower_cancelled_as_its_flush_is_answered(
    db: Database, nats_url: str
) -> None:
    """The teardown that hung after the gateway test, made certain.

    The gateway's session ends as the test ends and moves its device; the follower flushes, and
    the commands' stop cancels it in the turn of the loop in which the PONG came: Python 3.11's
    ``wait_for`` then returns instead of raising (CPython gh-86296), and the follower waited for
    its next move.
    """
    hub = DeviceHub(db, MqttSettings(port=0))
    bus, commands = await _joined(hub, nats_url)
    follower = commands._follower
    assert follower is not None
    assert bus.nc is not None
    pinged: asyncio.Future[asyncio.Future[bool]] = asyncio.get_running_loop().create_future()

    class Pongs(list[asyncio.Future[bool]]):
        """nats-py's PONG futures; the first handed to the test when the follower pings."""

        def append(self, pong: asyncio.Future[bool]) -> None:
            super().append(pong)
            if not pinged.done():
                pinged.set_result(pong)

    bus.nc._pongs = Pongs()  # the PONG the follower waits for, seen by the test
    commands.moved(1)  # held nowhere: nothing to offer, but the round ends with a flush
    pong = await pinged
    # Woken after the follower's wait_for learnt the answer, before the follower resumes.
    await pong
    await commands.stop()
    try:
        assert follower.cancelled()
    finally:
        await bus.close()


@pytest.mark.parametrize(
    "body",
    [b"[]", b'{"op": "reboot"}', b'{"op": "rpc", "wait": 1}', b'{"op": "shared", "values": 1}'],
)
def test_a_malformed_command_is_refused(body: bytes) -> None:
    with pytest.raises(ValueError, match="command"):
        decode_command(body)


def test_commands_stay_outside_the_stream_subjects() -> None:
    with pytest.raises(ValueError, match="outside"):
        ClusterSettings(subject_prefix="taihu", command_prefix="taihu.cmd")
    assert ClusterSettings(subject_prefix="taihu.ingest", command_prefix="taihu.cmd")
