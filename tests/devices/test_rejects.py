"""A refused message never blocks what a device sends after it; every refusal is on record.

Real clients over real sockets: paho-mqtt 3.1.1 (which resends an unacknowledged QoS 1 message
on every reconnect) and 5, and mosquitto_pub.
"""

from __future__ import annotations

import asyncio
import json
import queue
import shutil
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from taihu.accounts import Principal, Role
from taihu.devices import DeviceHub, DeviceService
from tests.devices.conftest import DEADLINE, Dev, eventually

V311, V5 = mqtt.MQTTv311, mqtt.MQTTv5
T = 1_764_057_600_000
TELEMETRY = "v1/devices/me/telemetry"


class Device:
    """A paho client as a device runs it: loop thread, automatic reconnects, events queued."""

    def __init__(self, port: int, token: str, version: int) -> None:
        self.port = port
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="", protocol=version)
        self.client.username_pw_set(token)
        self.client.reconnect_delay_set(min_delay=1, max_delay=2)
        self.connects: queue.Queue[int] = queue.Queue()
        self.acks: queue.Queue[tuple[int, int]] = queue.Queue()
        self.client.on_connect = lambda _c, _u, _f, rc, _p: self.connects.put(rc.value)
        self.client.on_publish = lambda _c, _u, mid, rc, _p: self.acks.put((mid, rc.value))

    async def connect(self) -> None:
        self.client.connect("127.0.0.1", self.port, keepalive=30)
        self.client.loop_start()
        assert await asyncio.to_thread(self.connects.get, timeout=DEADLINE) == 0

    async def ack(self) -> tuple[int, int]:
        """The next PUBACK: (message id, reason code)."""
        return await asyncio.to_thread(self.acks.get, timeout=DEADLINE)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def devices() -> Any:
    made: list[Device] = []

    def _make(*args: Any) -> Device:
        made.append(Device(*args))
        return made[-1]

    yield _make
    for d in made:
        d.close()


async def _history(client: httpx.AsyncClient, dev: Dev, key: str) -> list[Any]:
    response = await client.get(
        f"/api/plugins/telemetry/DEVICE/{dev.id}/values/timeseries",
        params={"keys": key, "startTs": T - 1, "endTs": T + 1000, "useStrictDataTypes": "true"},
        headers=dev.headers,
    )  # fmt: skip
    assert response.status_code == 200, response.text
    return sorted(p["value"] for p in response.json().get(key, []))


async def _stored(client: httpx.AsyncClient, dev: Dev, key: str, expected: list[Any]) -> None:
    """Wait until the device's series ``key`` holds exactly ``expected``."""

    async def check() -> bool:
        return await _history(client, dev, key) == expected

    await eventually(check)


async def _rejects(client: httpx.AsyncClient, dev: Dev) -> dict[str, Any]:
    response = await client.get(f"/api/devices/{dev.id}/rejects", headers=dev.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _recorded(client: httpx.AsyncClient, dev: Dev, total: int) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        body = await _rejects(client, dev)
        return body if body["total"] >= total else None

    found: dict[str, Any] = await eventually(check)
    return found


def _good(i: int) -> bytes:
    return json.dumps({"ts": T + i, "values": {"n": i}}).encode()


async def test_311_malformed_message_is_acknowledged_and_the_next_five_are_stored(
    port: int, make_device: Any, client: httpx.AsyncClient, devices: Any, hub: DeviceHub
) -> None:
    dev = await make_device()
    d = devices(port, dev.token, V311)
    await d.connect()
    bad = d.client.publish(TELEMETRY, b'{"n": oops', qos=1)
    for i in range(5):
        d.client.publish(TELEMETRY, _good(i), qos=1)
    # Were the malformed message left unacknowledged, the client would send it again on every
    # reconnect and none of the five would ever be stored.
    await _stored(client, dev, "n", [0, 1, 2, 3, 4])
    acked = {(await d.ack())[0] for _ in range(6)}
    assert bad.mid in acked
    assert d.connects.empty()  # never disconnected, so never reconnected
    record = await _recorded(client, dev, 1)
    assert record["total"] == 1
    assert record["by_reason"]["malformed"]["count"] == 1
    [reject] = record["recent"]
    assert reject["reason"] == "malformed"
    assert reject["code"] == 0x99
    assert reject["transport"] == "mqtt"
    assert reject["topic"] == TELEMETRY
    assert "JSON" in reject["detail"]
    metrics = (await client.get("/metrics")).text
    assert 'taihu_device_rejects_total{reason="malformed",transport="mqtt"}' in metrics


@pytest.mark.parametrize("version", [V311, V5], ids=["3.1.1", "5"])
async def test_refusals_answer_with_their_reason_and_the_connection_stays(
    version: int, port: int, make_device: Any, client: httpx.AsyncClient, devices: Any
) -> None:
    dev = await make_device()
    d = devices(port, dev.token, version)
    await d.connect()
    sent = [
        (TELEMETRY, b"[1, 2]", 0x99),  # JSON, but not a shape of the device API
        ("v1/devices/me/nowhere", b"{}", 0x90),
        ("v1/devices/me/attributes", b'"just text"', 0x99),
        ("v1/devices/me/attributes/request/1", b"[]", 0x99),  # refused by a background handler
        (TELEMETRY, _good(7), 0),
    ]
    for topic, payload, code in sent:
        info = d.client.publish(topic, payload, qos=1)
        mid, rc = await d.ack()
        assert mid == info.mid
        # paho reports a 3.1.1 PUBACK as success: the message was taken (and dropped).
        assert rc == (code if version == V5 else 0), topic
    assert await _history(client, dev, "n") == [7]
    assert d.connects.empty()
    record = await _recorded(client, dev, 4)
    assert record["by_reason"]["malformed"]["count"] == 3
    assert record["by_reason"]["topic"]["count"] == 1
    newest = record["recent"][0]
    assert (newest["reason"], newest["code"]) == ("malformed", 0x99)
    assert newest["topic"] == "v1/devices/me/attributes/request/1"
    assert [r["code"] for r in record["recent"]] == [0x99, 0x99, 0x90, 0x99]


async def test_311_transient_refusal_is_not_acknowledged_and_the_resend_is_stored(
    port: int, make_device: Any, client: httpx.AsyncClient, devices: Any, world: Any
) -> None:
    bureau = await world.bearer("bu", Role.BUREAU)
    spec = {"name": "one-a-second", "rate_limits": "1:1"}
    assert (await client.post("/api/device-profiles", json=spec, headers=bureau)).status_code == 201
    dev = await make_device(profile="one-a-second")
    d = devices(port, dev.token, V311)
    await d.connect()
    d.client.publish(TELEMETRY, _good(0), qos=1)
    d.client.publish(TELEMETRY, _good(1), qos=1)
    # The second is over the limit: not acknowledged, the client reconnects and sends it again,
    # and by then the limit lets it pass. Nothing is lost.
    await _stored(client, dev, "n", [0, 1])
    assert await asyncio.to_thread(d.connects.get, timeout=DEADLINE) == 0  # it reconnected
    record = await _recorded(client, dev, 1)
    assert record["by_reason"]["rate_limited"]["count"] >= 1
    assert record["recent"][-1]["code"] == 0x97


async def test_a_message_with_more_points_than_the_limit_allows_is_dropped_not_retried(
    port: int, make_device: Any, client: httpx.AsyncClient, devices: Any, world: Any
) -> None:
    bureau = await world.bearer("bu", Role.BUREAU)
    spec = {"name": "two-points", "data_point_limits": "2:60"}
    assert (await client.post("/api/device-profiles", json=spec, headers=bureau)).status_code == 201
    dev = await make_device(profile="two-points")
    d = devices(port, dev.token, V311)
    await d.connect()
    three = json.dumps({"ts": T, "values": {"a": 1, "b": 2, "c": 3}}).encode()
    d.client.publish(TELEMETRY, three, qos=1)
    d.client.publish(TELEMETRY, _good(1), qos=1)
    await _stored(client, dev, "n", [1])
    record = await _recorded(client, dev, 1)
    assert list(record["by_reason"]) == ["too_many_points"]
    assert d.connects.empty()


async def test_the_record_keeps_the_last_twenty_and_counts_all(
    port: int, make_device: Any, client: httpx.AsyncClient, devices: Any, hub: DeviceHub
) -> None:
    dev = await make_device()
    d = devices(port, dev.token, V5)
    await d.connect()
    for i in range(25):
        d.client.publish(TELEMETRY, f"bad {i}".encode(), qos=1)
        assert (await d.ack())[1] == 0x99
        if i == 9:
            await hub.rejects.flush()  # two writes: the trim spans them
    record = await _recorded(client, dev, 25)
    assert record["total"] == 25
    assert len(record["recent"]) == 20


async def test_rejects_are_not_shown_to_another_enterprise(
    make_device: Any, client: httpx.AsyncClient, world: Any
) -> None:
    dev = await make_device()
    own = await client.get(f"/api/devices/{dev.id}/rejects", headers=dev.headers)
    assert own.json() == {"total": 0, "by_reason": {}, "recent": []}
    other = await world.bearer("bob", Role.ENTERPRISE, enterprises=())
    response = await client.get(f"/api/devices/{dev.id}/rejects", headers=other)
    assert response.status_code == 404


needs_mosquitto = pytest.mark.skipif(
    shutil.which("mosquitto_pub") is None, reason="Debian's mosquitto-clients is not installed"
)


@needs_mosquitto
async def test_mosquitto_pub_311_malformed_message_is_acknowledged(
    port: int, make_device: Any, client: httpx.AsyncClient
) -> None:
    dev = await make_device()
    process = await asyncio.create_subprocess_exec(
        "mosquitto_pub", "-h", "127.0.0.1", "-p", str(port), "-u", dev.token, "-V", "mqttv311",
        "-q", "1", "-t", TELEMETRY, "-m", "{not json",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(process.communicate(), DEADLINE)
    # Before: the hub closed the connection and mosquitto_pub failed ("Connection lost").
    assert process.returncode == 0, out.decode()
    record = await _recorded(client, dev, 1)
    assert record["recent"][0]["reason"] == "malformed"


@pytest.mark.parametrize("version", [V311, V5], ids=["3.1.1", "5"])
async def test_a_message_over_the_packet_size_is_read_past_and_answered(
    version: int, port: int, make_device: Any, client: httpx.AsyncClient, devices: Any,
    hub: DeviceHub,
) -> None:  # fmt: skip
    dev = await make_device()
    d = devices(port, dev.token, version)
    await d.connect()
    limit = hub.settings.max_packet_size
    # paho sends it whatever the CONNACK announced, and would send it again on every reconnect.
    big = d.client.publish(TELEMETRY, b'{"s": "' + b"x" * (limit * 3) + b'"}', qos=1)
    small = d.client.publish(TELEMETRY, b"x" * (limit + 10), qos=0)  # no answer at QoS 0
    good = d.client.publish(TELEMETRY, _good(3), qos=1)
    acks = dict([await d.ack() for _ in range(3)])  # paho "acknowledges" QoS 0 once sent
    assert acks == {big.mid: 0x97 if version == V5 else 0, small.mid: 0, good.mid: 0}
    await _stored(client, dev, "n", [3])
    assert d.connects.empty()
    record = await _recorded(client, dev, 2)
    assert record["by_reason"]["too_large"]["count"] == 2
    assert [r["code"] for r in record["recent"]] == [0x95, 0x97]
    assert "exceeds the maximum" in record["recent"][1]["detail"]


@pytest.mark.parametrize("version", [V311, V5], ids=["3.1.1", "5"])
async def test_a_gateway_message_the_registry_refuses_does_not_stall_the_gateway(
    version: int, port: int, make_device: Any, client: httpx.AsyncClient, devices: Any,
    world: Any,
) -> None:  # fmt: skip
    gw = await make_device("edge-gw", gateway=True)
    d = devices(port, gw.token, version)
    await d.connect()
    # A child name over 200 characters: refused by the registry, not by the payload parser.
    long_name = json.dumps({"M" * 201: [{"ts": T, "values": {"n": 1}}]}).encode()
    refused = d.client.publish("v1/gateway/telemetry", long_name, qos=1)
    fine = d.client.publish("v1/gateway/telemetry", json.dumps({"Meter": [
        {"ts": T + 2, "values": {"n": 2}}]}).encode(), qos=1)  # fmt: skip
    acks = dict([await d.ack() for _ in range(2)])
    assert acks == {refused.mid: 0x99 if version == V5 else 0, fine.mid: 0}
    async with world.db.session() as session:
        rows, _ = await DeviceService(session).list_devices(Principal.system(), search="Meter")
    assert [r.name for r in rows] == ["Meter"]
    await _stored(client, Dev(rows[0].id, "", gw.enterprise_id, gw.headers), "n", [2])
    assert d.connects.empty()
    record = await _recorded(client, gw, 1)
    assert record["recent"][0]["reason"] == "malformed"
    assert "200 characters" in record["recent"][0]["detail"]
