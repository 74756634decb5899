"""The stream of device data: a work queue, its limits from the settings, a full one refuses.

A JetStream-enabled ``nats-server`` of the test's own; the application's hub publishing through
a ``BusNode``, and an ingest consuming when the test starts one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig

from taihu.devices import BusNode, DeviceHub
from taihu.devices.bus import BusIngest, JetStreamBus
from taihu.devices.mqtt.reasons import Reason
from taihu.settings import ClusterSettings
from tests.devices.conftest import DEADLINE, Dev, eventually
from tests.devices.test_mqtt_clients import V5, V311, Paho
from tests.processes import NO_NATS_SERVER, RECENT_NATS_SERVER, nats_server

pytestmark = pytest.mark.skipif(NO_NATS_SERVER, reason="no nats-server")
TOPIC = "v1/devices/me/telemetry"
STREAM = "TAIHU_INGEST"
T0 = int(time.time()) // 60 * 60_000  # ms: readings of this minute
FIXED = (2, 10, 5)  # the first nats-server that refuses rather than drops when full (#4771)


@pytest.fixture
def nats_url(tmp_path: Path) -> Iterator[str]:
    """A JetStream-enabled nats-server of this test's own."""
    with nats_server(tmp_path / "nats") as url:
        yield url


@pytest.fixture
def recent_nats_url(tmp_path: Path) -> Iterator[str]:
    """The recent nats-server of the dev dependencies (the system's may drop when full)."""
    with nats_server(tmp_path / "recent-nats", binary=RECENT_NATS_SERVER) as url:
        yield url


@pytest.fixture
async def js(nats_url: str) -> AsyncIterator[JetStreamContext]:
    """A connection of the test's own, to look at the stream as an operator would."""
    nc = await nats.connect(nats_url)
    yield nc.jetstream()
    await nc.close()


async def _version(nats_url: str) -> tuple[int, int, int]:
    nc = await nats.connect(nats_url)
    try:
        v = nc.connected_server_version
        return v.major, v.minor, v.patch
    finally:
        await nc.close()


async def _messages(js: JetStreamContext) -> int:
    return (await js.stream_info(STREAM)).state.messages


async def _stored(hub: DeviceHub, device_id: int) -> list[Any]:
    raw = await hub.store.raw(device_id, ["v"], 0, 2**62, limit=1000, descending=False)
    return [s.value for s in raw.get("v", [])]


async def _open(settings: ClusterSettings) -> None:
    bus = JetStreamBus(settings)
    await bus.open()
    await bus.close()


async def test_a_new_stream_is_a_work_queue_whose_limits_follow_the_settings(
    nats_url: str, js: JetStreamContext, caplog: pytest.LogCaptureFixture
) -> None:
    settings = ClusterSettings(nats_urls=[nats_url])
    await _open(settings)
    config = (await js.stream_info(STREAM)).config
    assert config.retention == RetentionPolicy.WORK_QUEUE
    assert config.discard == DiscardPolicy.NEW
    assert (config.max_age, config.max_bytes) == (0, -1)  # none unless set

    await _open(settings.model_copy(update={"stream_max_age": 30.0}))
    config = (await js.stream_info(STREAM)).config
    assert (config.max_age, config.duplicate_window) == (30.0, 30.0)  # the window fits in it
    assert config.retention == RetentionPolicy.WORK_QUEUE
    await _open(settings)  # the limit taken away again
    assert (await js.stream_info(STREAM)).config.max_age == 0
    assert "earlier version" not in caplog.text


async def test_a_stream_of_an_earlier_version_is_kept_with_its_retention_and_gets_the_limits(
    nats_url: str, js: JetStreamContext, caplog: pytest.LogCaptureFixture
) -> None:
    # As earlier versions made it: limits retention, discard old, no limit.
    await js.add_stream(StreamConfig(name=STREAM, subjects=["taihu.ingest.>"],
                                     storage=StorageType.FILE))  # fmt: skip
    await js.publish("taihu.ingest.0", b"[]")
    settings = ClusterSettings(nats_urls=[nats_url], stream_max_age=7 * 86400.0)
    with caplog.at_level(logging.INFO, logger="taihu.devices.bus"):
        await _open(settings)
    info = await js.stream_info(STREAM)
    assert info.config.retention == RetentionPolicy.LIMITS  # JetStream cannot change it
    assert info.config.discard == DiscardPolicy.NEW
    assert info.config.max_age == 7 * 86400.0
    assert info.state.messages == 1  # kept
    assert "max_age none -> 604800" in caplog.text
    assert "made by an earlier version" in caplog.text  # and how to migrate


@pytest.fixture
async def publishing(hub: DeviceHub, nats_url: str) -> AsyncIterator[BusNode]:
    """The hub publishing to JetStream, no ingest: what is published stays in the stream."""
    settings = ClusterSettings(nats_urls=[nats_url], publish_timeout=5.0)
    node = BusNode(settings, hub, publish=True, consume=False)
    await node.start()
    yield node
    await hub.stop()  # as the assembly stops them: the hub, then the bus
    await node.stop()


@pytest.mark.parametrize("version", [V311, V5], ids=["3.1.1", "5"])
async def test_a_full_stream_refuses_and_the_device_is_not_acknowledged(
    version: int, publishing: BusNode, js: JetStreamContext, hub: DeviceHub, port: int,
    client: httpx.AsyncClient, make_device: Any,
) -> None:  # fmt: skip
    config = (await js.stream_info(STREAM)).config
    config.max_bytes = 1  # full for any message, on every server version
    await js.update_stream(config)
    dev: Dev = await make_device()
    c = Paho(port, dev.token, version)
    try:
        assert await c.connect() == 0
        if version == V5:
            assert await c.publish(TOPIC, {"v": 1}) == Reason.IMPLEMENTATION_SPECIFIC_ERROR
        else:  # 3.1.1 has no refusal in a PUBACK: none, and the connection is closed
            c.client.publish(TOPIC, b'{"v": 1}', qos=1)
            await c.disconnected()
            assert c.acks.empty()
    finally:
        c.close()
    answer = await client.post(f"/api/v1/{dev.token}/telemetry", json={"v": 2})
    assert answer.status_code == 503, answer.text
    assert answer.headers["retry-after"] == "1"
    assert "stream TAIHU_INGEST refused it: maximum bytes exceeded" in answer.text
    answer = await client.post(f"/api/v1/{dev.token}/attributes", json={"mode": "eco"})
    assert answer.status_code == 503, answer.text
    assert "maximum bytes exceeded" in answer.text
    assert await _messages(js) == 0
    assert await _stored(hub, dev.id) == []


async def test_a_stream_at_its_size_refuses_loses_nothing_acknowledged_and_takes_again_once_stored(
    hub: DeviceHub, recent_nats_url: str, port: int, client: httpx.AsyncClient,
    make_device: Any,
) -> None:  # fmt: skip
    assert await _version(recent_nats_url) >= FIXED, RECENT_NATS_SERVER
    settings = ClusterSettings(nats_urls=[recent_nats_url], stream_max_bytes=2_000)
    node = BusNode(settings, hub, publish=True, consume=False)
    await node.start()
    nc = await nats.connect(recent_nats_url)
    js = nc.jetstream()
    ingest = None
    dev: Dev = await make_device()
    c = Paho(port, dev.token, V5)
    try:
        assert await c.connect() == 0
        acknowledged: list[int] = []
        for i in range(1_000):  # until the stream is full (about 20 fit)
            reason = await c.publish(TOPIC, {"ts": T0 + i, "values": {"v": i}})
            if reason != 0:
                assert reason == Reason.IMPLEMENTATION_SPECIFIC_ERROR
                break
            acknowledged.append(i)
        else:
            pytest.fail("the stream never refused")
        assert acknowledged, "the stream refused the first message"
        answer = await client.post(f"/api/v1/{dev.token}/telemetry", json={"v": -1})
        assert answer.status_code == 503, answer.text
        assert await _messages(js) == len(acknowledged)  # none made room for another

        # An ingest stores every one of them, and they leave the stream.
        ingest = BusIngest(node.bus, hub.ingest, hub.put_client_attributes)
        await ingest.start()

        async def all_stored() -> bool:
            return await _stored(hub, dev.id) == acknowledged

        await eventually(all_stored)

        async def drained() -> bool:
            return await _messages(js) == 0

        await eventually(drained)
        # With room again, the device's resend is taken.
        assert await c.publish(TOPIC, {"ts": T0 + 5_000, "values": {"v": 5_000}}) == 0

        async def resend_stored() -> bool:
            return await _stored(hub, dev.id) == [*acknowledged, 5_000]

        await eventually(resend_stored, within=DEADLINE)
    finally:
        c.close()
        await hub.stop()
        if ingest is not None:
            await ingest.stop()
        await node.stop()
        await nc.close()


async def test_a_size_limit_on_a_server_that_would_drop_to_make_room_is_refused_at_start(
    nats_url: str,
) -> None:
    if await _version(nats_url) >= FIXED:  # only where the system's nats-server is recent
        pytest.skip("this nats-server refuses when full: max bytes is allowed")
    bus = JetStreamBus(ClusterSettings(nats_urls=[nats_url], stream_max_bytes=1_000_000))
    try:
        with pytest.raises(ConnectionError, match="TAIHU_CLUSTER_STREAM_MAX_BYTES needs"):
            await bus.open()
    finally:
        await bus.close()
