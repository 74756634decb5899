"""The Sparkplug host on its own paths: raw payloads with aliases, unmapped nodes, a broker that
restarts, and `taihu serve` running the host with `taihu sparkplug status` showing it."""

from __future__ import annotations

import asyncio
import json
import queue
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from taihu.accounts import Role
from taihu.devices import DeviceHub
from taihu.devices.sparkplug import DataType, Metric, Payload, SparkplugHost, encode_payload
from taihu.settings import SparkplugSettings
from tests.cli.test_serve import env  # noqa: F401 - a fixture
from tests.conftest import CODE_A, World
from tests.devices.conftest import DEADLINE, Dev, eventually, latest
from tests.devices.test_sparkplug_interop import (  # noqa: F401 - broker is a fixture
    MOSQUITTO,
    Site,
    _answers,
    broker,
    site,
)
from tests.processes import run, running

T = 1_764_057_600_000


class Edge:
    """A bare MQTT client publishing Sparkplug payloads built with Taihu's codec."""

    def __init__(self, port: int, group: str) -> None:
        self.group = group
        self.commands: queue.Queue[tuple[str, bytes]] = queue.Queue()
        subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2)
        self.client.on_message = lambda _c, _u, m: self.commands.put((m.topic, m.payload))
        self.client.on_subscribe = lambda *_: subscribed.set()
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self.client.subscribe(f"spBv1.0/{group}/NCMD/#", 1)
        assert subscribed.wait(DEADLINE)

    def send(self, kind: str, node: str, payload: Payload, device: str | None = None) -> None:
        topic = f"spBv1.0/{self.group}/{kind}/{node}" + (f"/{device}" if device else "")
        self.client.publish(topic, encode_payload(payload), qos=1).wait_for_publish(DEADLINE)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _birth(bd_seq: int = 0) -> Payload:
    return Payload(T, (Metric("bdSeq", bd_seq, DataType.INT64),
                       Metric("temperature", 20.0, DataType.FLOAT, alias=1),
                       Metric("count", 7, DataType.UINT32, alias=2)), seq=0)  # fmt: skip


async def test_aliases_and_data_before_birth_on_raw_payloads(
    site: Site,  # noqa: F811 - the fixture imported above
    client: httpx.AsyncClient,
) -> None:
    edge = Edge(site.port, site.group)
    try:
        # Data before any birth: dropped, and the node is asked for a rebirth.
        edge.send("NDATA", "n1", Payload(T, (Metric(alias=1, value=1.0),), seq=4))
        topic, raw = await asyncio.to_thread(edge.commands.get, timeout=DEADLINE)
        assert topic == f"spBv1.0/{site.group}/NCMD/n1"
        assert b"Node Control/Rebirth" in raw
        edge.send("NBIRTH", "n1", _birth())
        node = await site.device(f"{site.group}/n1")
        # Data by alias only, typed by the birth.
        edge.send("NDATA", "n1", Payload(T + 1, (Metric(alias=1, value=21.5),
                                                  Metric(alias=2, value=8)), seq=1))  # fmt: skip

        async def stored() -> bool:
            return await latest(client, node) == {"temperature": 21.5, "count": 8, "bdSeq": 0}

        await eventually(stored)
        assert site.host.stats.rebirths == 1
    finally:
        edge.close()


async def test_a_node_of_no_mapped_enterprise_is_ignored(
    hub: DeviceHub,
    world: World,
    broker: int,  # noqa: F811
) -> None:
    mapped, other = f"g{uuid.uuid4().hex[:10]}", f"g{uuid.uuid4().hex[:10]}"
    enterprise = await world.enterprise("甲厂", CODE_A)
    settings = SparkplugSettings(
        broker_port=broker, host_id=f"taihu-{mapped}", groups=[mapped, other],
        enterprises={mapped: enterprise.id},
    )  # fmt: skip
    host = SparkplugHost(hub, settings, clock=world.clock)
    host.start()
    edge = Edge(broker, other)
    try:
        async with asyncio.timeout(DEADLINE):
            await host.ready.wait()
        edge.send("NBIRTH", "n1", _birth())

        async def counted() -> bool:
            return host.stats.ignored == 1

        await eventually(counted)
        assert host.nodes == {}
        assert hub.remote == {}
    finally:
        edge.close()
        await host.stop()


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[tuple[int, Any]]:
    """A mosquitto of this test's own, and a way to restart it on the same port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\n", encoding="utf-8")
    processes: list[subprocess.Popen[bytes]] = []

    def start() -> None:
        process = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)  # fmt: skip
        processes.append(process)
        deadline = time.monotonic() + DEADLINE
        while not _answers(port):
            assert process.poll() is None, "mosquitto ended"
            assert time.monotonic() < deadline, "mosquitto does not listen"
            time.sleep(0.05)

    def stop() -> None:
        processes[-1].terminate()
        processes[-1].wait(timeout=DEADLINE)

    start()
    try:
        yield port, (start, stop)
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=DEADLINE)


async def test_the_host_reconnects_when_the_broker_comes_back(
    hub: DeviceHub, world: World, own_broker: tuple[int, Any]
) -> None:
    port, (start, stop) = own_broker
    group = f"g{uuid.uuid4().hex[:10]}"
    enterprise = await world.enterprise("甲厂", CODE_A)
    settings = SparkplugSettings(broker_port=port, host_id="taihu", groups=[group],
                                 enterprises={group: enterprise.id}, backoff_max=0.5)  # fmt: skip
    host = SparkplugHost(hub, settings, clock=world.clock)
    host.start()
    try:
        async with asyncio.timeout(DEADLINE):
            await host.ready.wait()
        edge = Edge(port, group)
        edge.send("NBIRTH", "n1", _birth())

        async def attached() -> bool:
            return bool(hub.remote)

        await eventually(attached)
        edge.close()
        await asyncio.to_thread(stop)

        async def lost() -> bool:
            return not host.connected

        await eventually(lost)
        assert hub.remote == {}  # what the host knew of the nodes is forgotten
        assert host.last_error
        await asyncio.to_thread(start)
        async with asyncio.timeout(DEADLINE):
            await host.ready.wait()
        assert host.stats.connects == 2
    finally:
        await host.stop()


async def test_serve_runs_the_host_and_the_cli_shows_it(
    env: dict[str, str],  # noqa: F811
    tmp_path: Path,
    world: World,
    broker: int,  # noqa: F811
) -> None:
    group = f"g{uuid.uuid4().hex[:10]}"
    enterprise = await world.enterprise("甲厂", CODE_A)
    headers = await world.bearer("alice", Role.ENTERPRISE, enterprises=(enterprise.id,))
    env = {**env, "TAIHU_SPARKPLUG_ENABLED": "true", "TAIHU_SPARKPLUG_BROKER_PORT": str(broker),
           "TAIHU_SPARKPLUG_HOST_ID": f"taihu-{group}", "TAIHU_SPARKPLUG_GROUPS": group,
           "TAIHU_SPARKPLUG_ENTERPRISES": f"{group}={enterprise.id}"}  # fmt: skip
    args = ("serve", "--host", "127.0.0.1", "--port", "0", "--mqtt-port", "0")
    path = Path(env["TAIHU_DATA_DIR"]) / "sparkplug-status.json"

    def status() -> dict[str, Any]:  # what `taihu sparkplug status` reads, polled cheaply
        return dict(json.loads(path.read_bytes())) if path.exists() else {}

    with running(*args, env=env, cwd=tmp_path) as server:
        url = server.url()

        async def connected() -> bool:
            return bool(status().get("connected"))

        await eventually(connected)
        edge = Edge(broker, group)
        try:
            edge.send("NBIRTH", "n1", _birth())

            async def known() -> int | None:
                return status().get("nodes", {}).get(f"{group}/n1", {}).get("device_id")

            device_id = await eventually(known)
        finally:
            edge.close()
        shown = await asyncio.to_thread(run, "sparkplug", "status", env=env, cwd=tmp_path)
        assert f"{group}/n1" in shown.stdout, shown.stdout
        assert "connected;" in shown.stdout
        as_json = await asyncio.to_thread(
            run, "sparkplug", "status", "--json", env=env, cwd=tmp_path
        )
        document = json.loads(as_json.stdout.splitlines()[-1])
        assert document["enabled"] is True
        assert document["status"]["nodes"][f"{group}/n1"]["device_id"] == device_id
        async with httpx.AsyncClient(base_url=url, trust_env=False, timeout=DEADLINE) as http:
            # The status names the node once its device is registered; its birth's values are
            # stored after that, by the hub's writer.
            async def born() -> dict[str, Any]:
                values = await latest(http, Dev(device_id, "", enterprise.id, headers))
                return values if "count" in values else {}

            values = await eventually(born)
        assert values["count"] == 7
        assert server.interrupt() in (0, 130)
    assert status()["connected"] is False  # written once more at shutdown
