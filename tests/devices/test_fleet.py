"""The hub overview across processes: each publishes its figures, the API process sums them.

A JetStream-enabled ``nats-server`` of the test's own. The application (its hub consuming the
bus, as a process with the api and ingest roles) answers ``GET /api/device-hub``; the other
processes are a second hub with a bus of its own in this process, or a ``taihu serve --role
transport`` process that is killed.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from taihu.accounts import Role
from taihu.devices import FLEET_STATE, BusNode, DeviceHub
from taihu.devices.fleet import ProcessFigures, decode_figures, summed
from taihu.settings import ROLES, ClusterSettings, MqttSettings
from tests.cli.test_serve import MQTT
from tests.conftest import World
from tests.devices.conftest import Dev, eventually
from tests.devices.test_mqtt_clients import V5, Paho
from tests.processes import NO_NATS_SERVER, nats_server, running, taihu_env
from tests.web.test_console import sign_in

needs_nats = pytest.mark.skipif(NO_NATS_SERVER, reason="no nats-server")
TOPIC = "v1/devices/me/telemetry"
T0 = int(time.time()) // 60 * 60_000  # ms: readings of this minute
NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def _process(pid: int, **figures: Any) -> ProcessFigures:
    return ProcessFigures(
        id=f"{pid}-x", host="node-a", pid=pid, roles=("transport",), figures=figures, last_seen=NOW
    )


def test_the_processes_figures_are_summed_and_listed() -> None:
    local = {"connected_devices": 0, "messages": 0, "mqtt_port": None, "points_written": 5,
             "malformed_by_device": {7: 1}}  # fmt: skip
    processes = [
        _process(20, connected_devices=2, sessions=3, messages=10, messages_per_second=1.25,
                 points_written=0, pending_points=4, mqtt_port=1883,
                 malformed_by_device={"7": 2, "9": 1}),
        _process(10, connected_devices=1, sessions=1, messages=5, messages_per_second=0.5,
                 points_written=5, malformed_by_device={7: 1}),
    ]  # fmt: skip
    overview = summed(local, processes)
    assert overview["connected_devices"] == 3
    assert overview["sessions"] == 4
    assert overview["messages"] == 15
    assert overview["messages_per_second"] == 1.75
    assert overview["points_written"] == 5
    assert overview["pending_points"] == 4
    assert overview["malformed_by_device"] == {"7": 3, "9": 1}
    assert overview["mqtt_port"] == 1883  # this process has none: a transport's
    assert [p["pid"] for p in overview["processes"]] == [10, 20]
    assert overview["processes"][1]["last_seen"] == NOW.isoformat()
    assert overview["processes"][1]["roles"] == ["transport"]


def test_an_entry_of_another_shape_is_refused_or_read_defensively() -> None:
    for data in (b"[]", b'{"host": "a"}', b"nope"):
        with pytest.raises(ValueError, match=r"."):
            decode_figures("1-x", data, NOW)
    entry = decode_figures(
        "1-x", b'{"host": "a", "pid": 1, "roles": ["api"], "figures": {"messages": "many"}}', NOW
    )
    assert entry.figures["messages"] == 0
    assert entry.figures["mqtt_port"] is None


async def _overview(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    answer = await client.get("/api/device-hub", headers=headers)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def test_without_a_bus_the_overview_is_this_hubs_as_before(
    app: Any, hub: DeviceHub, client: httpx.AsyncClient, world: World
) -> None:
    assert getattr(app.state, FLEET_STATE) is None
    bureau = await world.bearer("bureau", Role.BUREAU)
    overview = await _overview(client, bureau)
    assert set(overview) == set(hub.overview())  # no processes, no partial: the same keys
    assert overview["mqtt_port"] == hub.overview()["mqtt_port"]
    await world.user("analyst", Role.BUREAU)
    await sign_in(client, "analyst")
    page = (await client.get("/devices")).text
    assert "每秒消息数" in page
    assert "集群进程" not in page


@pytest.fixture
def nats_url(tmp_path: Path) -> Iterator[str]:
    """A JetStream-enabled nats-server of this test's own."""
    if NO_NATS_SERVER:
        pytest.skip("no nats-server")
    with nats_server(tmp_path / "nats") as url:
        yield url


def _listening() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    return sock


@pytest.fixture
async def api_node(app: Any, hub: DeviceHub, nats_url: str) -> AsyncIterator[BusNode]:
    """The application's bus: consuming, reading the processes' figures (the api process)."""
    # A long lifetime: an entry leaves only when its process deletes it, or the test says so.
    settings = ClusterSettings(nats_urls=[nats_url], ack_wait=5.0, overview_seconds=300)
    node = BusNode(settings, hub, publish=True, consume=True, overview=True)
    await node.start()
    setattr(app.state, FLEET_STATE, node.fleet)  # as create_app wires it
    yield node
    await hub.stop()
    await node.stop()


@needs_nats
async def test_two_processes_figures_are_summed_and_one_stopping_leaves(
    app: Any, api_node: BusNode, db: Any, client: httpx.AsyncClient, world: World,
    make_device: Any, nats_url: str,
) -> None:  # fmt: skip
    bureau = await world.bearer("bureau", Role.BUREAU)
    # A transport: a hub of its own, publishing to the bus, in this process for the test.
    transport = DeviceHub(db, MqttSettings(port=0, connect_timeout=1.0))
    settings = ClusterSettings(nats_urls=[nats_url], roles=["transport"], overview_seconds=300)
    node = BusNode(settings, transport, publish=True, consume=False)
    await node.start()
    await transport.start(_listening())
    assert transport.listener is not None
    dev: Dev = await make_device()
    device = Paho(transport.listener.port, dev.token, V5)
    try:
        assert await device.connect() == 0
        for i in range(3):
            assert await device.publish(TOPIC, {"ts": T0 + i, "values": {"v": i}}) == 0

        async def stored() -> bool:
            return api_node.hub.ingest.stats.points_written >= 3

        await eventually(stored)  # the api process consumed what the transport published
        await node.fleet.round()  # the transport publishes its figures, the api reads them
        await api_node.fleet.round()
        overview = await _overview(client, bureau)
        assert overview["partial"] is False
        assert overview["connected_devices"] == 1
        assert overview["messages"] == 3
        assert overview["points_written"] >= 3
        assert overview["mqtt_port"] == api_node.hub.overview()["mqtt_port"]
        rows = {tuple(row["roles"]): row for row in overview["processes"]}
        assert set(rows) == {("transport",), ROLES}
        assert rows[("transport",)]["connected_devices"] == 1
        assert rows[("transport",)]["messages"] == 3
        assert rows[("transport",)]["mqtt_port"] == transport.listener.port
        assert rows[("transport",)]["pid"] == os.getpid()
        assert not rows[("transport",)]["this"]
        assert rows[ROLES]["this"]
        # The console's devices page shows the table (in the default language, Chinese).
        await world.user("analyst", Role.BUREAU)
        await sign_in(client, "analyst")
        page = (await client.get("/devices")).text
        assert "集群进程" in page
        assert f"{socket.gethostname()}/{os.getpid()}" in page
        assert ">transport</span></td>" in page  # not marked: not the process answering
        assert "api, transport, ingest, resolver, jobs</span> · 本进程" in page
    finally:
        device.close()
        await transport.stop()
        await node.stop()  # deletes its entry: gone at the next read, not after the lifetime
    await api_node.fleet.round()
    overview = await _overview(client, bureau)
    assert [row["this"] for row in overview["processes"]] == [True]
    assert overview["messages"] == 0
    assert overview["connected_devices"] == 0


@needs_nats
async def test_a_killed_transport_counts_until_its_entry_runs_out(
    app: Any, hub: DeviceHub, client: httpx.AsyncClient, world: World, make_device: Any,
    nats_url: str, database_url: str, tmp_path: Path,
) -> None:  # fmt: skip
    bureau = await world.bearer("bureau", Role.BUREAU)
    settings = ClusterSettings(nats_urls=[nats_url], ack_wait=5.0, overview_seconds=1)
    node = BusNode(settings, hub, publish=True, consume=True, overview=True)
    await node.start()
    setattr(app.state, FLEET_STATE, node.fleet)
    env = taihu_env(database_url, tmp_path / "var")
    env.update(TAIHU_CLUSTER_NATS_URLS=nats_url, TAIHU_CLUSTER_OVERVIEW_SECONDS="1")
    dev: Dev = await make_device()
    try:
        with running("serve", "--role", "transport", "--mqtt-port", "0", env=env,
                     cwd=tmp_path) as process:  # fmt: skip
            port = int((await asyncio.to_thread(process.wait_for, MQTT)).group(1))
            await asyncio.to_thread(process.wait_for, "ready: roles transport")
            device = Paho(port, dev.token, V5)
            try:
                assert await device.connect() == 0
                assert await device.publish(TOPIC, {"ts": T0, "values": {"v": 1}}) == 0

                async def counted() -> dict[str, Any] | None:
                    # Its first entries may predate its listener (no port yet): wait for one
                    # written since.
                    overview = await _overview(client, bureau)
                    ports = {row["pid"]: row["mqtt_port"] for row in overview["processes"]}
                    return overview if ports.get(process.process.pid) is not None else None

                overview = await eventually(counted)
                row = next(r for r in overview["processes"] if r["roles"] == ["transport"])
                assert row["pid"] == process.process.pid
                assert row["host"] == socket.gethostname()
                assert row["mqtt_port"] == port
                # Its figures as it last published them: connected, one message.
                seen = await eventually(
                    lambda: _with(client, bureau, lambda o: o["connected_devices"] == 1)
                )
                assert seen["messages"] >= 1
                os.killpg(process.process.pid, signal.SIGKILL)  # no goodbye: its entry stays
                await asyncio.to_thread(process.process.wait)
            finally:
                device.close()

            async def gone() -> dict[str, Any] | None:
                overview = await _overview(client, bureau)
                pids = [row["pid"] for row in overview["processes"]]
                # Read lately (not partial) and without it: JetStream dropped its entry.
                listed = overview["partial"] or process.process.pid in pids
                return None if listed else overview

            overview = await eventually(gone)
            assert [row["pid"] for row in overview["processes"]] == [os.getpid()]
            assert overview["connected_devices"] == 0
    finally:
        await hub.stop()
        await node.stop()


async def _with(client: httpx.AsyncClient, headers: dict[str, str], check: Any) -> Any:
    overview = await _overview(client, headers)
    return overview if check(overview) else None
