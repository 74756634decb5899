"""The JetStream bus in one process: the hub publishes, the consumer stores, failures are told.

A JetStream-enabled ``nats-server`` of the test's own; the application's hub with a ``BusNode``
that publishes and consumes, as a process playing every role with a bus configured does.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from nats.js.api import RetentionPolicy, StorageType
from pydantic import ValidationError

from taihu.devices import BusNode, DeviceHub
from taihu.devices.bus import decode_attributes, decode_rows, encode_rows
from taihu.devices.mqtt.reasons import Reason
from taihu.settings import ROLES, ClusterSettings
from tests.devices.conftest import Dev, eventually
from tests.devices.test_mqtt_clients import V5, Paho
from tests.processes import NO_NATS_SERVER, nats_server

needs_nats = pytest.mark.skipif(NO_NATS_SERVER, reason="no nats-server")
TOPIC = "v1/devices/me/telemetry"
T0 = int(time.time()) // 60 * 60_000  # ms: readings of this minute


def test_rows_travel_as_they_are() -> None:
    rows = [(7, "kw", 1_000, 2, 1.5, None), (7, "state", 1_001, 0, None, "on")]
    assert decode_rows(encode_rows(rows)) == rows
    assert decode_rows(b'[[7, "n", 5, 1, 3, null]]') == [(7, "n", 5, 1, 3.0, None)]


@pytest.mark.parametrize(
    "body",
    [b"{}", b"[[1, 2]]", b'[["7", "k", 1, 1, 1.0, null]]', b'[[7, "k", 1, 1, "x", null]]', b"nope"],
)
def test_a_body_that_is_not_rows_is_refused(body: bytes) -> None:
    with pytest.raises(ValueError, match=r"."):
        decode_rows(body)


def test_attributes_bodies_are_checked() -> None:
    assert decode_attributes(b'{"device": 3, "values": {"fw": "1.2"}}') == (3, {"fw": "1.2"})
    for body in (b"[]", b'{"device": "3", "values": {}}', b'{"device": 3, "values": []}'):
        with pytest.raises(ValueError, match=r"."):
            decode_attributes(body)


def test_roles_are_read_as_a_list_in_order_and_empty_means_all() -> None:
    assert ClusterSettings().plays == ROLES
    assert ClusterSettings().all_roles
    picked = ClusterSettings.model_validate({"roles": " ingest,transport , ingest"})
    assert picked.plays == ("transport", "ingest")
    assert not picked.all_roles
    assert not ClusterSettings().bus


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("roles", "api,broker"),
        ("nats_urls", "http://127.0.0.1:4222"),
        ("stream", "taihu ingest"),
        ("subject_prefix", "taihu.>"),
        ("replicas", 0),
        ("partitions", 0),
        ("stream_max_age", -1),
        ("stream_max_bytes", -1),
    ],
)
def test_bad_cluster_settings_are_refused(field: str, value: object) -> None:
    with pytest.raises(ValidationError):
        ClusterSettings.model_validate({field: value})


@pytest.fixture
def nats_url(tmp_path: Path) -> Iterator[str]:
    """A JetStream-enabled nats-server of this test's own."""
    if NO_NATS_SERVER:
        pytest.skip("no nats-server")
    with nats_server(tmp_path / "nats") as url:
        yield url


@pytest.fixture
async def bus(hub: DeviceHub, nats_url: str) -> AsyncIterator[BusNode]:
    """The hub publishing to JetStream and consuming from it, as one process with every role."""
    # A bound on JetStream's acknowledgement on a loaded machine (a refused publish is refused
    # at once: nothing answers the subject once the stream is gone).
    settings = ClusterSettings(nats_urls=[nats_url], publish_timeout=30.0, ack_wait=5.0)
    node = BusNode(settings, hub, publish=True, consume=True)
    await node.start()
    yield node
    await hub.stop()  # as the assembly stops them: the hub, then the bus
    await node.stop()


async def _stored(hub: DeviceHub, device_id: int, key: str) -> list[Any]:
    raw = await hub.store.raw(device_id, [key], 0, 2**62, limit=100, descending=False)
    return [s.value for s in raw.get(key, [])]


@needs_nats
async def test_mqtt_and_http_readings_and_attributes_go_through_jetstream(
    bus: BusNode, hub: DeviceHub, port: int, client: httpx.AsyncClient, make_device: Any
) -> None:
    dev: Dev = await make_device()
    c = Paho(port, dev.token, V5)
    try:
        assert await c.connect() == 0
        for i in range(5):
            assert await c.publish(TOPIC, {"ts": T0 + i, "values": {"v": i}}) == 0
        assert await c.publish("v1/devices/me/attributes", {"fw": "1.2"}) == 0
    finally:
        c.close()
    answer = await client.post(
        f"/api/v1/{dev.token}/telemetry", json={"ts": T0 + 10, "values": {"v": 9}}
    )
    assert answer.status_code == 200, answer.text
    answer = await client.post(f"/api/v1/{dev.token}/attributes", json={"mode": "eco"})
    assert answer.status_code == 200, answer.text

    async def everything_stored() -> bool:
        attributes = await hub.read_attributes(dev.id, None, None)
        return await _stored(hub, dev.id, "v") == [0, 1, 2, 3, 4, 9] and attributes.get(
            "client"
        ) == {"fw": "1.2", "mode": "eco"}

    await eventually(everything_stored)
    assert bus.bus.stats.published == 8
    assert hub.ingest.stats.points_written >= 6  # the consumer wrote them through the hub's queue
    js = bus.bus.js
    assert js is not None
    info = await js.stream_info("TAIHU_INGEST")
    assert info.config.storage == StorageType.FILE
    assert info.config.num_replicas == 1
    assert info.config.retention == RetentionPolicy.WORK_QUEUE

    async def drained() -> bool:  # every message acknowledged after its commit, then removed
        return (await js.stream_info("TAIHU_INGEST")).state.messages == 0

    await eventually(drained)


@needs_nats
async def test_a_publish_jetstream_does_not_take_is_refused_and_not_acknowledged(
    bus: BusNode, hub: DeviceHub, port: int, client: httpx.AsyncClient, make_device: Any
) -> None:
    dev: Dev = await make_device()
    js = bus.bus.js
    assert js is not None
    await js.delete_stream("TAIHU_INGEST")  # nothing takes the device's subject any more
    c = Paho(port, dev.token, V5)
    try:
        assert await c.connect() == 0
        assert await c.publish(TOPIC, {"ts": T0, "values": {"v": 1}}) == (
            Reason.IMPLEMENTATION_SPECIFIC_ERROR
        )
    finally:
        c.close()
    answer = await client.post(f"/api/v1/{dev.token}/telemetry", json={"v": 2})
    assert answer.status_code == 503, answer.text
    assert answer.headers["retry-after"] == "1"
    answer = await client.post(f"/api/v1/{dev.token}/attributes", json={"mode": "eco"})
    assert answer.status_code == 503, answer.text
    assert bus.bus.stats.publish_failures == 3
    assert await _stored(hub, dev.id, "v") == []
