"""Real MQTT clients against the hub's listener: paho-mqtt (3.1.1 and 5) and mosquitto_pub/sub.

paho runs its network loop in its own thread; the hub runs in the test's event loop, so every
blocking wait on the client side goes through ``asyncio.to_thread``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import queue
import shutil
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from taihu.accounts import Role
from taihu.devices import DeviceHub
from tests.devices.conftest import DEADLINE, Dev, eventually, latest

V311, V5 = mqtt.MQTTv311, mqtt.MQTTv5


class Paho:
    """A paho client whose events land in thread-safe queues."""

    def __init__(self, port: int, token: str | None, version: int, client_id: str = "") -> None:
        self.port = port
        self.version = version
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=version
        )
        if token is not None:
            self.client.username_pw_set(token)
        self.connacks: queue.Queue[int] = queue.Queue()
        self.acks: queue.Queue[tuple[int, int]] = queue.Queue()
        self.messages: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.disconnects: queue.Queue[int] = queue.Queue()
        self.client.on_connect = lambda _c, _u, _f, rc, _p: self.connacks.put(rc.value)
        self.client.on_publish = lambda _c, _u, mid, rc, _p: self.acks.put((mid, rc.value))
        self.client.on_message = lambda _c, _u, m: self.messages.put((m.topic, m.payload))
        self.client.on_disconnect = lambda _c, _u, _f, rc, _p: self.disconnects.put(rc.value)

    async def connect(self, keepalive: int = 30) -> int:
        """Connect and return the CONNACK code (MQTT 5 reason or 3.1.1 return code)."""
        self.client.connect("127.0.0.1", self.port, keepalive=keepalive)
        self.client.loop_start()
        return await asyncio.to_thread(self.connacks.get, timeout=DEADLINE)

    async def publish(self, topic: str, payload: Any, qos: int = 1) -> int:
        """Publish and wait for the PUBACK; returns its reason code."""
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        info = self.client.publish(topic, data, qos=qos)
        mid, rc = await asyncio.to_thread(self.acks.get, timeout=DEADLINE)
        assert mid == info.mid
        return rc

    async def subscribe(self, topic: str) -> None:
        """Subscribe (and give the SUBACK time to arrive)."""
        done: queue.Queue[object] = queue.Queue()
        self.client.on_subscribe = lambda *args: done.put(args)
        self.client.subscribe(topic, qos=1)
        await asyncio.to_thread(done.get, timeout=DEADLINE)

    async def message(self) -> tuple[str, bytes]:
        """The next message delivered to the client."""
        return await asyncio.to_thread(self.messages.get, timeout=DEADLINE)

    async def disconnected(self) -> int:
        """Wait until the server closes the connection; its reason code."""
        return await asyncio.to_thread(self.disconnects.get, timeout=DEADLINE)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def clients() -> Any:
    made: list[Paho] = []

    def _make(*args: Any, **kwargs: Any) -> Paho:
        made.append(Paho(*args, **kwargs))
        return made[-1]

    yield _make
    for c in made:
        c.close()


# -- telemetry through every payload shape -----------------------------------------------------


@pytest.mark.parametrize("version", [V311, V5], ids=["3.1.1", "5"])
async def test_telemetry_shapes_are_stored_and_queried(
    version: int, port: int, make_device: Any, client: httpx.AsyncClient, clients: Any
) -> None:
    dev: Dev = await make_device()
    c = clients(port, dev.token, version)
    assert await c.connect() == 0
    t = 1_764_057_600_000
    assert await c.publish("v1/devices/me/telemetry", {"a": 1, "on": True}) == 0
    assert await c.publish("v1/devices/me/telemetry", [{"b": 2.5}, {"name": "x"}]) == 0
    assert await c.publish("v1/devices/me/telemetry", {"ts": t, "values": {"c": 3}}) == 0
    shapes = [{"ts": t + 1, "values": {"d": 4}}, {"ts": t + 2, "values": {"d": 5}}]
    assert await c.publish("v1/devices/me/telemetry", shapes) == 0
    # PUBACK came after the store: the data is there now, no waiting.
    assert await latest(client, dev) == {
        "a": 1, "on": True, "b": 2.5, "name": "x", "c": 3, "d": 5,
    }  # fmt: skip
    history = await client.get(
        f"/api/plugins/telemetry/DEVICE/{dev.id}/values/timeseries",
        params={"keys": "d", "startTs": t, "endTs": t + 10},
        headers=dev.headers,
    )
    assert history.json() == {"d": [{"ts": t + 2, "value": "5"}, {"ts": t + 1, "value": "4"}]}


# -- authentication ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "token", "code"),
    # paho reports a 3.1.1 return code as its MQTT 5 equivalent: 5 as 0x87, 4 as 0x86; the raw
    # bytes are checked in test_mqtt_wire.py.
    [(V311, "dev_nope", 0x87), (V311, None, 0x86), (V5, "dev_nope", 0x86), (V5, None, 0x87)],
    ids=["3.1.1-bad", "3.1.1-empty", "5-bad", "5-empty"],
)
async def test_bad_and_missing_tokens_are_refused(
    version: int, token: str | None, code: int, port: int, clients: Any
) -> None:
    assert await clients(port, token, version).connect() == code


async def test_a_rotated_token_is_refused_and_its_sessions_dropped(
    port: int, make_device: Any, client: httpx.AsyncClient, clients: Any
) -> None:
    dev = await make_device()
    c = clients(port, dev.token, V5)
    assert await c.connect() == 0
    rotated = await client.post(f"/api/devices/{dev.id}/token", headers=dev.headers)
    assert rotated.status_code == 200
    assert await c.disconnected() == 0x87
    assert await clients(port, dev.token, V5).connect() == 0x86
    assert await clients(port, rotated.json()["access_token"], V5).connect() == 0


# -- rejections are told -------------------------------------------------------------------------


async def test_malformed_payloads_get_0x99_and_store_nothing(
    port: int, make_device: Any, client: httpx.AsyncClient, clients: Any, hub: DeviceHub
) -> None:
    dev = await make_device()
    c = clients(port, dev.token, V5)
    assert await c.connect() == 0
    for bad in [b"{not json", b"[1, 2]", b'{"ts": "soon", "values": {"x": 1}}', b'{"x": null}',
                b'{"": 1}', b"{}"]:  # fmt: skip
        assert await c.publish("v1/devices/me/telemetry", bad) == 0x99, bad
    assert await c.publish("v1/devices/me/attributes", b"[1]") == 0x99
    assert await latest(client, dev) == {}
    assert hub.overview()["malformed_by_device"] == {dev.id: 7}
    assert await c.publish("v1/devices/me/telemetry", {"ok": 1}) == 0  # still connected


async def test_311_client_gets_a_malformed_payload_acknowledged_and_dropped(
    port: int, make_device: Any, client: httpx.AsyncClient, clients: Any
) -> None:
    dev = await make_device()
    c = clients(port, dev.token, V311)
    assert await c.connect() == 0
    # 3.1.1 has no negative PUBACK; unacknowledged, the message would come back on every
    # reconnect. A permanent refusal is acknowledged and dropped (and recorded on the device).
    assert await c.publish("v1/devices/me/telemetry", b"{oops") == 0
    assert await latest(client, dev) == {}
    assert c.disconnects.empty()
    assert await c.publish("v1/devices/me/telemetry", {"ok": 1}) == 0


async def test_rate_limits_are_told_not_dropped(
    port: int, make_device: Any, client: httpx.AsyncClient, clients: Any, world: Any
) -> None:
    bureau = await world.bearer("bu", Role.BUREAU)
    spec = {"name": "slow", "rate_limits": "3:60"}
    assert (await client.post("/api/device-profiles", json=spec, headers=bureau)).status_code == 201
    dev = await make_device(profile="slow")
    c = clients(port, dev.token, V5)
    assert await c.connect() == 0
    t = 1_764_057_600_000
    codes = [
        await c.publish("v1/devices/me/telemetry", {"ts": t + i, "values": {"n": i}})
        for i in range(5)
    ]
    assert codes == [0, 0, 0, 0x97, 0x97]  # quota exceeded: PUBACK may not carry 0x96
    assert await latest(client, dev) == {"n": 2}
    # At QoS 0 there is no PUBACK to say it: the server disconnects with 0x96.
    c.client.publish("v1/devices/me/telemetry", b'{"n": 9}', qos=0)
    assert await c.disconnected() == 0x96


async def test_data_point_limits_are_told_and_answered_in_session_limits(
    port: int, make_device: Any, client: httpx.AsyncClient, clients: Any, world: Any
) -> None:
    bureau = await world.bearer("bu", Role.BUREAU)
    spec = {"name": "few-points", "rate_limits": "100:60", "data_point_limits": "5:60"}
    made = await client.post("/api/device-profiles", json=spec, headers=bureau)
    assert made.status_code == 201
    assert made.json()["data_point_limits"] == "5:60"
    dev = await make_device(profile="few-points")
    c = clients(port, dev.token, V5)
    assert await c.connect() == 0
    await c.subscribe("v1/devices/me/rpc/response/+")
    await c.publish("v1/devices/me/rpc/request/1", {"method": "getSessionLimits", "params": {}})
    limits = json.loads((await c.message())[1])
    assert limits["rateLimits"] == {
        "messages": "100:60", "telemetryMessages": "100:60", "telemetryDataPoints": "5:60",
    }  # fmt: skip
    t = 1_764_057_600_000
    three = {"ts": t, "values": {"a": 1, "b": 2, "c": 3}}
    assert await c.publish("v1/devices/me/telemetry", three) == 0
    # Three more would make six points in the minute: refused whole, nothing of it stored.
    assert (
        await c.publish(
            "v1/devices/me/telemetry", {"ts": t + 1, "values": {"a": 9, "b": 9, "c": 9}}
        )
        == 0x97
    )
    assert (
        await c.publish("v1/devices/me/telemetry", {"ts": t + 2, "values": {"d": 4, "e": 5}}) == 0
    )
    assert await latest(client, dev) == {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5}
    # Over HTTP: 429. At QoS 0 over MQTT: DISCONNECT 0x96.
    over = await client.post(f"/api/v1/{dev.token}/telemetry", json={"f": 6})
    assert over.status_code == 429
    assert "data point limit" in over.text
    c.client.publish("v1/devices/me/telemetry", b'{"g": 7}', qos=0)
    assert await c.disconnected() == 0x96
    assert await latest(client, dev, "f,g") == {}


# -- attributes, requests, RPC -------------------------------------------------------------------


@pytest.mark.parametrize("version", [V311, V5], ids=["3.1.1", "5"])
async def test_attributes_requests_and_shared_updates(
    version: int, port: int, make_device: Any, client: httpx.AsyncClient, clients: Any
) -> None:
    dev = await make_device()
    c = clients(port, dev.token, version)
    assert await c.connect() == 0
    assert await c.publish("v1/devices/me/attributes", {"fw": "1.4", "model": "X"}) == 0
    await c.subscribe("v1/devices/me/attributes")
    await c.subscribe("v1/devices/me/attributes/response/+")
    url = f"/api/devices/{dev.id}/attributes/shared"
    assert (
        await client.post(url, json={"values": {"speed": 1200}}, headers=dev.headers)
    ).status_code == 204
    assert await c.message() == ("v1/devices/me/attributes", b'{"speed":1200}')
    await c.publish(
        "v1/devices/me/attributes/request/7", {"clientKeys": "fw", "sharedKeys": "speed"}
    )
    topic, payload = await c.message()
    assert topic == "v1/devices/me/attributes/response/7"
    assert json.loads(payload) == {"client": {"fw": "1.4"}, "shared": {"speed": 1200}}


async def test_server_and_client_side_rpc(
    port: int, make_device: Any, client: httpx.AsyncClient, clients: Any, hub: DeviceHub
) -> None:
    dev = await make_device()
    c = clients(port, dev.token, V5)
    assert await c.connect() == 0
    url = f"/api/plugins/rpc/twoway/{dev.id}"
    offline = await client.post(url, json={"method": "m"}, headers=dev.headers)
    assert offline.status_code == 409
    await c.subscribe("v1/devices/me/rpc/request/+")
    await c.subscribe("v1/devices/me/rpc/response/+")

    async def device_answers() -> None:
        topic, payload = await c.message()
        request_id = topic.rsplit("/", 1)[1]
        assert json.loads(payload) == {"method": "setSpeed", "params": {"rpm": 900}}
        await c.publish(f"v1/devices/me/rpc/response/{request_id}", b'{"done": true}')

    answering = asyncio.create_task(device_answers())
    answer = await client.post(
        url, json={"method": "setSpeed", "params": {"rpm": 900}}, headers=dev.headers
    )
    await answering
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"done": True}
    await c.publish("v1/devices/me/rpc/request/1", {"method": "getSessionLimits", "params": {}})
    topic, payload = await c.message()
    assert topic == "v1/devices/me/rpc/response/1"
    limits = json.loads(payload)
    assert limits["maxPayloadSize"] == hub.settings.max_packet_size
    assert "rateLimits" in limits
    # The device keeps quiet: the call's own timeout ends it, told in the reader's language.
    silent = await client.post(
        url, json={"method": "slow", "timeout": 300},
        headers={**dev.headers, "Accept-Language": "zh-CN"},
    )  # fmt: skip
    assert silent.status_code == 504, silent.text
    assert silent.json() == {"error": "device_timeout", "message": "设备未在规定时间内应答"}
    topic, _ = await c.message()  # the unanswered request reached it
    assert topic.startswith("v1/devices/me/rpc/request/")


# -- sessions ------------------------------------------------------------------------------------


async def test_session_takeover_and_connection_limit(
    port: int, make_device: Any, clients: Any
) -> None:
    dev = await make_device()
    first = clients(port, dev.token, V5, client_id="press-1")
    assert await first.connect() == 0
    second = clients(port, dev.token, V5, client_id="press-1")
    assert await second.connect() == 0
    assert await first.disconnected() == 0x8E
    first.client.loop_stop()  # no reconnecting
    others = [clients(port, dev.token, V5, client_id=f"c{i}") for i in range(3)]
    codes = [await o.connect() for o in others]
    assert codes == [0, 0, 0x97]  # limit 3 per token in these tests


# -- mosquitto_pub / mosquitto_sub ---------------------------------------------------------------

needs_mosquitto = pytest.mark.skipif(
    shutil.which("mosquitto_pub") is None, reason="Debian's mosquitto-clients is not installed"
)


async def _run(*args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await asyncio.wait_for(process.communicate(), DEADLINE)
    return process.returncode or 0, out.decode()


@needs_mosquitto
@pytest.mark.parametrize("version", ["mqttv311", "mqttv5"])
async def test_mosquitto_pub_and_sub(
    version: int, port: int, make_device: Any, client: httpx.AsyncClient
) -> None:
    dev = await make_device()
    common = ("-h", "127.0.0.1", "-p", str(port), "-u", dev.token, "-V", version)
    code, out = await _run(
        "mosquitto_pub", *common, "-q", "1", "-t", "v1/devices/me/telemetry",
        "-m", '{"temperature": 21.5}',
    )  # fmt: skip
    assert code == 0, out
    assert await latest(client, dev) == {"temperature": 21.5}
    code, out = await _run(
        "mosquitto_pub", "-h", "127.0.0.1", "-p", str(port), "-u", "dev_wrong", "-V", version,
        "-t", "v1/devices/me/telemetry", "-m", "{}",
    )  # fmt: skip
    assert code != 0
    sub = await asyncio.create_subprocess_exec(
        "mosquitto_sub", *common, "-t", "v1/devices/me/attributes", "-C", "1",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    url = f"/api/devices/{dev.id}/attributes/shared"
    # One read to the end for the whole test: a read cancelled after the update arrived and
    # before mosquitto_sub exited would drop what it had read, and the next would find only EOF.
    printed = asyncio.ensure_future(sub.stdout.read())  # type: ignore[union-attr]

    async def pushed() -> bool:
        await client.post(url, json={"values": {"mode": "eco"}}, headers=dev.headers)
        await asyncio.wait({printed}, timeout=0.5)  # a pause between pushes, not a deadline
        return printed.done()

    # mosquitto_sub says nothing when it is subscribed; push until it prints the update.
    assert await eventually(pushed)
    assert printed.result().strip() == b'{"mode":"eco"}'
    await sub.wait()


# -- shutdown ------------------------------------------------------------------------------------


async def test_stopping_the_hub_acknowledges_what_it_stores_and_tells_the_client_why(
    port: int,
    make_device: Any,
    client: httpx.AsyncClient,
    clients: Any,
    hub: DeviceHub,
    caplog: pytest.LogCaptureFixture,
) -> None:
    dev: Dev = await make_device()
    c = clients(port, dev.token, V5)
    assert await c.connect() == 0
    sent = 200
    for n in range(sent):  # a burst still on its way while the hub stops
        point = {"ts": 1_764_057_600_000 + n, "values": {"n": n}}
        c.client.publish("v1/devices/me/telemetry", json.dumps(point).encode(), qos=1)
    await asyncio.to_thread(c.acks.get, timeout=DEADLINE)  # the first is stored
    await hub.stop()
    assert await c.disconnected() == 0x8B  # server shutting down
    acked = 1
    while not c.acks.empty():
        assert c.acks.get()[1] == 0
        acked += 1
    stored = await client.get(
        f"/api/plugins/telemetry/DEVICE/{dev.id}/values/timeseries",
        params={"keys": "n", "startTs": 0, "endTs": 1_764_057_600_000 + sent, "limit": 1000},
        headers=dev.headers,
    )
    # Every acknowledged message is stored; what was never acknowledged the client resends.
    assert len(stored.json()["n"]) >= acked
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
