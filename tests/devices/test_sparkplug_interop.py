"""The Sparkplug host against a third-party edge node (pysparkplug) through a real mosquitto.

Each test uses its own group id, so tests sharing the broker do not hear each other.
"""

from __future__ import annotations

import asyncio
import queue
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import pytest
import sqlalchemy as sa
from paho.mqtt.enums import CallbackAPIVersion
from pysparkplug import Client, DataType, Device, EdgeNode, Message, Metric

from taihu.accounts import Role
from taihu.alarms import AlarmEngine, DevicePresence
from taihu.devices import DeviceHub
from taihu.devices.models import Device as TaihuDevice
from taihu.devices.sparkplug import SparkplugHost
from taihu.settings import SparkplugSettings
from tests.conftest import CODE_A, World
from tests.devices.conftest import DEADLINE, Dev, eventually, latest

# pysparkplug 0.6 declares paho-mqtt<2, while Taihu (its edge gateway) needs paho 2; it runs on
# paho 2 but for two things: it builds clients with the version 1 callbacks paho 2 deprecates,
# and it calls Client.message_retry_set, which paho 2 removed (a setting paho 1.6 no longer used
# for anything). It is given back as the no-op it was; pysparkplug itself runs unchanged.
pytestmark = pytest.mark.filterwarnings("ignore:Callback API version 1 is deprecated")
_SHIM = """
import paho.mqtt.client
if not hasattr(paho.mqtt.client.Client, "message_retry_set"):
    paho.mqtt.client.Client.message_retry_set = lambda self, retry: None
"""
exec(_SHIM)  # noqa: S102 - the same lines the killed node's process runs

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def _answers(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """The machine's mosquitto on 1883; where there is none, one started on a free port."""
    if _answers(1883):
        yield 1883
        return
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    conf = tmp_path_factory.mktemp("mosquitto") / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\n", encoding="utf-8")
    process = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + DEADLINE
        while not _answers(port):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"mosquitto did not listen on {port}")
            time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=DEADLINE)


class Site:
    """A group of one test: its enterprise, a user's headers, the host."""

    def __init__(self, group: str, enterprise_id: int, headers: dict[str, str],
                 host: SparkplugHost, port: int) -> None:  # fmt: skip
        self.group, self.enterprise_id, self.headers = group, enterprise_id, headers
        self.host, self.port = host, port

    async def device(self, name: str, gateway_id: int | None = None) -> Dev:
        """The Taihu device of that name, once the host has created it."""

        async def found() -> int | None:
            async with self.host.hub.db.session() as session:
                where = (TaihuDevice.gateway_id == gateway_id if gateway_id is not None
                         else TaihuDevice.gateway_id.is_(None))  # fmt: skip
                return await session.scalar(
                    sa.select(TaihuDevice.id).where(
                        TaihuDevice.name == name, TaihuDevice.enterprise_id == self.enterprise_id,
                        where,
                    )
                )  # fmt: skip

        device_id = await eventually(found)
        return Dev(device_id, "", self.enterprise_id, self.headers)


@pytest.fixture
async def site(hub: DeviceHub, world: World, broker: int) -> AsyncIterator[Site]:
    """A host application subscribed to a fresh group, mapped to enterprise A."""
    group = f"g{uuid.uuid4().hex[:10]}"
    enterprise = await world.enterprise("甲厂", CODE_A)
    headers = await world.bearer("alice", Role.ENTERPRISE, enterprises=(enterprise.id,))
    settings = SparkplugSettings(
        broker_port=broker, host_id=f"taihu-{group}", groups=[group],
        enterprises={group: enterprise.id}, rebirth_interval=60,
    )  # fmt: skip
    host = SparkplugHost(hub, settings, clock=world.clock)
    host.start()
    async with asyncio.timeout(DEADLINE):
        await host.ready.wait()
    yield Site(group, enterprise.id, headers, host, broker)
    await host.stop()


def _node(site: Site, name: str, commands: queue.Queue[Message] | None = None) -> EdgeNode:
    metrics = [
        Metric(timestamp=None, name="temperature", datatype=DataType.DOUBLE, value=20.5),
        Metric(timestamp=None, name="running", datatype=DataType.BOOLEAN, value=True),
    ]
    received = commands if commands is not None else queue.Queue()
    return EdgeNode(
        site.group, name, metrics, client=Client(client_id=f"{site.group}-{name}"),
        cmd_callback=lambda _node, message: received.put(message),
    )  # fmt: skip


def _press(commands: queue.Queue[Message]) -> Device:
    metrics = [
        Metric(timestamp=None, name="force", datatype=DataType.INT32, value=-3),
        Metric(timestamp=None, name="mode", datatype=DataType.STRING, value="auto"),
        Metric(timestamp=None, name="setpoint", datatype=DataType.FLOAT, value=1.5),
    ]
    return Device("press", metrics, cmd_callback=lambda _node, message: commands.put(message))


async def _presence(app: Any, device_id: int) -> str | None:
    engine: AlarmEngine = app.state.alarm_engine
    await engine.flush()
    async with engine.db.session() as session:
        row = await session.get(DevicePresence, device_id)
        return row.state if row is not None else None


async def test_birth_data_presence_and_a_command(
    site: Site, client: httpx.AsyncClient, app: Any
) -> None:
    commands: queue.Queue[Message] = queue.Queue()
    node = _node(site, "line1")
    node.register(_press(commands))
    node.connect("127.0.0.1", port=site.port)
    try:
        gateway = await site.device(f"{site.group}/line1")
        press = await site.device("press", gateway.id)

        async def born() -> bool:
            values = await latest(client, press)
            return values.get("mode") == "auto"

        await eventually(born)
        assert await latest(client, press) == {"force": -3, "mode": "auto", "setpoint": 1.5}
        assert await latest(client, gateway, "temperature,running") == {
            "temperature": 20.5, "running": True,
        }  # fmt: skip
        assert await _presence(app, press.id) == "connected"
        assert await _presence(app, gateway.id) == "connected"

        # Data: stored through the hub's ingest, as any device's.
        node.update_device("press", [Metric(timestamp=int(time.time() * 1000), name="force",
                                            datatype=DataType.INT32, value=-7)])  # fmt: skip

        async def stored() -> bool:
            return (await latest(client, press, "force")) == {"force": -7}

        await eventually(stored)

        # A command from Taihu: the RPC's method names the metric, its params are the value.
        answer = await client.post(
            f"/api/plugins/rpc/oneway/{press.id}", json={"method": "setpoint", "params": 2.5},
            headers=site.headers,
        )  # fmt: skip
        assert answer.status_code == 200, answer.text
        command = await asyncio.to_thread(commands.get, timeout=DEADLINE)
        assert str(command.topic) == f"spBv1.0/{site.group}/DCMD/line1/press"
        (metric,) = command.payload.metrics
        assert (metric.name, metric.value) == ("setpoint", 2.5)
        # Shared attributes too, one DCMD with a metric each (typed from the birth).
        written = await client.post(
            f"/api/devices/{press.id}/attributes/shared", json={"values": {"mode": "manual"}},
            headers=site.headers,
        )  # fmt: skip
        assert written.status_code == 204, written.text
        command = await asyncio.to_thread(commands.get, timeout=DEADLINE)
        assert [(m.name, m.value) for m in command.payload.metrics] == [("mode", "manual")]

        # A value that does not fit the metric's type from the birth is refused, nothing sent.
        refused = await client.post(
            f"/api/plugins/rpc/oneway/{press.id}", json={"method": "force", "params": 2**40},
            headers=site.headers,
        )  # fmt: skip
        assert refused.status_code == 400, refused.text
        assert site.host.stats.commands == 2
    finally:
        # pysparkplug's NDEATH on a clean disconnect carries the bdSeq of its next session, not
        # of this birth, so the host rightly takes it for a stale death: the killed node's will
        # (below) is the death this edge node gets right.
        node.disconnect()


async def test_a_skipped_seq_brings_a_rebirth_request(
    site: Site, client: httpx.AsyncClient
) -> None:
    commands: queue.Queue[Message] = queue.Queue()
    node = _node(site, "line2", commands)
    node.connect("127.0.0.1", port=site.port)
    try:
        gateway = await site.device(f"{site.group}/line2")

        async def born() -> bool:
            return "temperature" in await latest(client, gateway)

        await eventually(born)
        now = int(time.time() * 1000)
        node.update([Metric(timestamp=now, name="temperature", datatype=DataType.DOUBLE,
                            value=21.0)])  # fmt: skip
        _ = node._seq  # the edge node skips a sequence number, as if a message were lost
        node.update([Metric(timestamp=now + 1, name="temperature", datatype=DataType.DOUBLE,
                            value=22.0)])  # fmt: skip
        command = await asyncio.to_thread(commands.get, timeout=DEADLINE)
        assert str(command.topic) == f"spBv1.0/{site.group}/NCMD/line2"
        assert [(m.name, m.value) for m in command.payload.metrics] == [
            ("Node Control/Rebirth", True)
        ]
        assert site.host.stats.rebirths == 1

        # The message that showed the gap is whole: it was kept (in the history at its own time;
        # the latest value may already be the rebirth's, and storing is not ordered with the NCMD).
        async def kept() -> bool:
            history = await client.get(
                f"/api/plugins/telemetry/DEVICE/{gateway.id}/values/timeseries",
                params={"keys": "temperature", "startTs": now + 1, "endTs": now + 2,
                        "useStrictDataTypes": "true"},
                headers=gateway.headers,
            )  # fmt: skip
            return history.json() == {"temperature": [{"ts": now + 1, "value": 22.0}]}

        await eventually(kept)
    finally:
        node.disconnect()


_KILLED_NODE = (
    _SHIM
    + """
import sys, time
from pysparkplug import Client, DataType, Device, EdgeNode, Metric
group, port = sys.argv[1], int(sys.argv[2])
node = EdgeNode(group, "line3", [Metric(timestamp=None, name="temperature",
                datatype=DataType.DOUBLE, value=19.0)], client=Client(client_id=group + "-line3"))
node.register(Device("oven", [Metric(timestamp=None, name="heat", datatype=DataType.INT64,
                                     value=400)]))
node.connect("127.0.0.1", port=port)
print("up", flush=True)
time.sleep(3600)
"""
)


async def test_a_killed_node_is_disconnected_by_its_will(
    site: Site, client: httpx.AsyncClient, app: Any
) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _KILLED_NODE, site.group, str(site.port),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        gateway = await site.device(f"{site.group}/line3")
        oven = await site.device("oven", gateway.id)

        async def born() -> bool:
            return await latest(client, oven) == {"heat": 400}

        await eventually(born)
        assert await _presence(app, oven.id) == "connected"
    finally:
        process.kill()  # no DISCONNECT: the broker publishes the node's will, its NDEATH
        await process.wait()

    async def gone() -> bool:
        return await _presence(app, oven.id) == "disconnected"

    await eventually(gone)
    assert await _presence(app, gateway.id) == "disconnected"
    assert site.host.status()["nodes"][f"{site.group}/line3"]["online"] is False


async def test_state_is_retained_online_then_offline(site: Site) -> None:
    states: queue.Queue[bytes] = queue.Queue()
    watcher = mqtt.Client(CallbackAPIVersion.VERSION2)
    watcher.on_message = lambda _c, _u, message: states.put(message.payload)
    watcher.connect("127.0.0.1", site.port)
    watcher.subscribe(site.host.state_topic, 1)
    watcher.loop_start()
    try:
        online = await asyncio.to_thread(states.get, timeout=DEADLINE)
        assert online.startswith(b'{"online":true,"timestamp":')
        await site.host.stop()
        offline = await asyncio.to_thread(states.get, timeout=DEADLINE)
        assert offline.startswith(b'{"online":false,"timestamp":')
        # The same timestamp as the birth: the pair belongs to one session.
        assert offline.split(b":")[-1] == online.split(b":")[-1]
    finally:
        watcher.disconnect()
        watcher.loop_stop()
