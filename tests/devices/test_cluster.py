"""Acceptance (issue #19): a cluster on loopback loses nothing acknowledged when nodes die.

A three-node NATS JetStream cluster (the stream kept in 3 replicas), two ``--role transport``
processes, two ``--role ingest`` processes and one ``--role api`` process, on the test's
database. Devices publish numbered readings at QoS 1 with paho, split between the transports,
and one device posts over HTTP to the API process. Mid-stream, one after another and each once
the stream has moved on after the last: the NATS node leading the stream, an ingest process and
a transport are killed with SIGKILL. The transport's devices connect to the other one (as behind
a load balancer) and send again what was not acknowledged. Devices send until every reading of
theirs is acknowledged; then each is in the store exactly once and the rollups count each once.
"""

from __future__ import annotations

import collections
import contextlib
import json
import logging
import signal
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from taihu.devices.bus import JetStreamBus
from taihu.devices.rollups import PERIODS
from taihu.settings import ClusterSettings
from tests.cli.test_serve import MQTT, registered_devices
from tests.processes import (
    DEADLINE,
    NO_NATS_SERVER,
    SERVING,
    NatsCluster,
    Taihu,
    admin_bearer,
    http,
    nats_cluster,
    query,
    running,
    taihu_env,
    until,
)

MQTT_DEVICES = 12  # half on each transport
PERIOD = 0.05  # seconds between a device's readings: 20 a second each
WINDOW = 10  # readings a device has in flight (sent, not acknowledged) at most
RESEND_DELAY = 0.5  # seconds a device waits after a refusal before it sends again
TELEMETRY = "v1/devices/me/telemetry"
RPC_REQUEST = "v1/devices/me/rpc/request/"
RPC_RESPONSE = "v1/devices/me/rpc/response/"
_JSON = {"Content-Type": "application/json"}
STREAM = "TAIHU_INGEST"  # the default of TAIHU_CLUSTER_STREAM
# Each reading carries its time (ms): from the start of this minute, well inside retention.
T0 = int(time.time()) // 60 * 60_000

log = logging.getLogger(__name__)

pytestmark = pytest.mark.skipif(NO_NATS_SERVER, reason="no nats-server")


def _payload(reading: int) -> str:
    return json.dumps({"ts": T0 + reading, "values": {"v": reading}})


class Device(threading.Thread):
    """An MQTT 5 device sending numbered readings at QoS 1 until told to stop, then until every
    one of them is acknowledged.

    A refused reading (PUBACK 0x80: JetStream did not take it in time) is sent again; when the
    connection drops, what was in flight is sent again through the next transport, as a load
    balancer would route the reconnection.
    """

    def __init__(self, device_id: int, token: str, ports: list[int], stop: threading.Event):
        super().__init__(name=f"device-{device_id}", daemon=True)
        self.device_id, self.token, self.ports, self.stop = device_id, token, ports, stop
        self.port = ports[0]
        self.sent = 0  # readings 0 … sent-1 have been made
        self.acked: set[int] = set()  # readings PUBACKed with success
        self.again: collections.deque[int] = collections.deque()  # to send again
        self.connections: list[int] = []  # the port of each connection made
        self.rpc_requests: list[tuple[str, Any]] = []  # (request id, request), answered
        self.refused = 0  # PUBACKs with a failure reason (each reading sent again)
        self.error: BaseException | None = None
        self._lock = threading.Lock()

    def acks(self) -> int:
        """How many readings are acknowledged so far."""
        with self._lock:
            return len(self.acked)

    def done(self) -> bool:
        """Whether it stopped making readings and every one is acknowledged."""
        with self._lock:
            return self.stop.is_set() and len(self.acked) == self.sent and not self.again

    def run(self) -> None:
        try:
            while not self.done():
                self._connection()
        except BaseException as exc:  # told to the test, which checks every device at the end
            self.error = exc

    def _next_port(self) -> None:
        self.port = self.ports[(self.ports.index(self.port) + 1) % len(self.ports)]

    def _connection(self) -> None:
        """One connection, until it drops or everything is acknowledged."""
        client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        client.username_pw_set(self.token)
        client.max_inflight_messages_set(WINDOW + 2)  # our window, and the RPC answers
        state: dict[str, bool | None] = {"connected": None}
        in_flight: dict[int, int] = {}  # message id -> reading
        hold_until = 0.0

        def on_connect(_c: Any, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
            state["connected"] = not rc.is_failure

        def on_disconnect(_c: Any, _u: Any, _f: Any, _rc: Any, _p: Any) -> None:
            state["connected"] = False

        def on_publish(_c: Any, _u: Any, mid: int, rc: Any, _p: Any) -> None:
            nonlocal hold_until
            reading = in_flight.pop(mid, None)
            if reading is None:  # an RPC answer
                return
            with self._lock:
                if rc.is_failure:
                    self.refused += 1
                    self.again.append(reading)
                    hold_until = time.monotonic() + RESEND_DELAY
                else:
                    self.acked.add(reading)

        def on_message(_c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
            request_id = message.topic.removeprefix(RPC_REQUEST)
            request = json.loads(message.payload)
            self.rpc_requests.append((request_id, request))
            answer = {"device": self.device_id, "port": self.port, "params": request.get("params")}
            client.publish(RPC_RESPONSE + request_id, json.dumps(answer), qos=1)

        client.on_connect, client.on_disconnect = on_connect, on_disconnect
        client.on_publish, client.on_message = on_publish, on_message
        try:
            client.connect("127.0.0.1", self.port, keepalive=60)
        except OSError:  # nothing listens there (any more): the balancer tries the next one
            self._next_port()
            time.sleep(0.1)  # a pause between attempts, not a wait for something
            return
        deadline = time.monotonic() + DEADLINE
        while state["connected"] is None and time.monotonic() < deadline:
            client.loop(timeout=0.05)
        if not state["connected"]:
            self._next_port()
            return
        self.connections.append(self.port)
        client.subscribe(RPC_REQUEST + "+", qos=1)
        due = time.monotonic()
        while state["connected"] and not self.done():
            now = time.monotonic()
            while len(in_flight) < WINDOW and now >= hold_until:
                with self._lock:
                    if self.again:
                        reading = self.again.popleft()
                    elif not self.stop.is_set() and now >= due:
                        reading, self.sent = self.sent, self.sent + 1
                        due = now + PERIOD
                    else:
                        break
                info = client.publish(TELEMETRY, _payload(reading), qos=1)
                if info.rc != mqtt.MQTT_ERR_SUCCESS:  # the connection is gone: sent again later
                    with self._lock:
                        self.again.appendleft(reading)
                    break
                in_flight[info.mid] = reading
            if client.loop(timeout=0.05) != mqtt.MQTT_ERR_SUCCESS:
                state["connected"] = False
        if state["connected"]:
            client.disconnect()
            return
        # The transport went away with these unacknowledged: whether JetStream has them or not,
        # only an acknowledgement counts.
        with self._lock:
            self.again.extend(sorted(in_flight.values()))
        self._next_port()


class HttpDevice(threading.Thread):
    """A device posting readings one by one to the API process, again until answered 200."""

    def __init__(self, device_id: int, token: str, url: str, stop: threading.Event):
        super().__init__(name=f"http-device-{device_id}", daemon=True)
        self.device_id, self.url, self.stop = device_id, f"{url}/api/v1/{token}/telemetry", stop
        self.sent = 0
        self.refused = 0  # 503s and lost connections, each followed by the same reading again
        self.error: BaseException | None = None

    def acks(self) -> int:
        """How many readings are acknowledged so far."""
        return self.sent

    def run(self) -> None:
        try:
            with http() as client:
                tried = False  # the reading under way was posted: it may be stored already
                while tried or not self.stop.is_set():
                    try:
                        answer = client.post(self.url, content=_payload(self.sent), headers=_JSON)
                    except httpx.TransportError:
                        answer = None
                    if answer is not None and answer.status_code == 200:
                        self.sent, tried = self.sent + 1, False
                        time.sleep(PERIOD)  # the device's pace
                        continue
                    if answer is not None and answer.status_code != 503:
                        raise AssertionError(f"{answer.status_code}: {answer.text}")
                    self.refused, tried = self.refused + 1, True
                    time.sleep(RESEND_DELAY)  # as Retry-After asks
        except BaseException as exc:  # told to the test, which checks every device at the end
            self.error = exc


def rpc_reaches_its_device(api_url: str, headers: dict[str, str], device: Device) -> None:
    """RPC during the run: a call through the API process reaches the device, wherever it is.

    The API process holds no MQTT connection: the call goes over NATS to the transport holding
    the device (the surviving one, after the kills), and the device's answer comes back.
    """
    url = f"{api_url}/api/plugins/rpc/twoway/{device.device_id}"
    # The longest wait a call may ask: the answer crosses three processes on a loaded machine.
    body = {"method": "where", "params": {"asked": "cluster"}, "timeout": 60_000}
    answers: list[httpx.Response] = []
    with http() as client:
        # The device may be between connections (the balancer moved it): offline for a moment.
        until(
            lambda: (
                answers.append(client.post(url, json=body, headers=headers))
                or answers[-1].status_code != 409
            ),
            f"an RPC to device {device.device_id} through the API process",
        )
    answer = answers[-1]
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "device": device.device_id, "port": device.port, "params": {"asked": "cluster"}
    }  # fmt: skip
    assert any(r.get("method") == "where" for _, r in device.rpc_requests)


def _stored(database_url: str) -> int:
    return int(query(database_url, "SELECT count(*) FROM ts_points")[0][0])


def _interrupt(processes: list[Taihu]) -> None:
    """Ctrl-C to each at once, then wait for each: their shutdowns overlap."""
    for process in processes:
        process.process.send_signal(signal.SIGINT)
    for process in processes:
        process.process.wait(timeout=DEADLINE)
        process.finish()


def _overview_counts(
    api_url: str, headers: dict[str, str], processes: list[Taihu], devices: int
) -> bool:
    """Whether the API's hub overview lists exactly these processes and counts these devices."""
    with http() as client:
        answer = client.get(f"{api_url}/api/device-hub", headers=headers)
    assert answer.status_code == 200, answer.text
    overview = answer.json()
    listed = {row["pid"] for row in overview["processes"]}
    return listed == {p.process.pid for p in processes} and overview["connected_devices"] == devices


def test_nothing_acknowledged_is_lost_when_a_nats_node_an_ingest_and_a_transport_die(
    tmp_path: Path, database_url: str
) -> None:
    started = time.monotonic()
    env = taihu_env(database_url, tmp_path / "var")
    devices_and_tokens = registered_devices(database_url, MQTT_DEVICES + 1)
    headers = admin_bearer(database_url)
    with contextlib.ExitStack() as stack:
        cluster: NatsCluster = stack.enter_context(nats_cluster(tmp_path / "nats"))
        formed = time.monotonic()
        env.update(
            TAIHU_CLUSTER_NATS_URLS=cluster.urls,
            TAIHU_CLUSTER_REPLICAS="3",
            TAIHU_CLUSTER_ACK_WAIT="2",  # the killed ingest's messages come back soon
            TAIHU_CLUSTER_FETCH_BATCH="50",  # small batches: the kill falls among them
            TAIHU_CLUSTER_PUBLISH_TIMEOUT="10",  # a loaded machine is slow, not failing
            TAIHU_HANDLE_PORT="0",
        )

        def start(*args: str) -> Taihu:
            return stack.enter_context(running("serve", *args, env=env, cwd=tmp_path))

        # Started together, waited for together: their imports and connections overlap.
        transports = [start("--role", "transport", "--mqtt-port", "0") for _ in range(2)]
        ingests = [start("--role", "ingest") for _ in range(2)]
        api = start("--role", "api", "--port", "0")
        ports = [int(t.wait_for(MQTT).group(1)) for t in transports]
        for process, role in [*((t, "transport") for t in transports),
                              *((i, "ingest") for i in ingests)]:  # fmt: skip
            process.wait_for(f"ready: roles {role}")
        api_url = api.wait_for(SERVING).group(1)
        with http() as client:
            until(lambda: client.get(f"{api_url}/readyz").status_code == 200, "the API ready")
        ready = time.monotonic()

        stop = threading.Event()
        mqtt_devices = [
            Device(device_id, token, ports if i % 2 == 0 else ports[::-1], stop)
            for i, (device_id, token) in enumerate(devices_and_tokens[:MQTT_DEVICES])
        ]
        http_device = HttpDevice(*devices_and_tokens[MQTT_DEVICES], api_url, stop)
        devices: list[Device | HttpDevice] = [*mqtt_devices, http_device]
        for device in devices:
            device.start()

        def moved_on(what: str, since: dict[int, int] | None = None) -> dict[int, int]:
            """Every device has new readings acknowledged since ``since`` (or any, without)."""
            before = since or {d.device_id: 0 for d in devices}
            until(
                lambda: (
                    all(d.acks() > before[d.device_id] for d in devices)
                    and all(d.error is None for d in devices)
                ),
                f"every device's readings acknowledged {what}",
            )
            return {d.device_id: d.acks() for d in devices}

        until(lambda: _stored(database_url) > 0, "the first points stored")
        acked = moved_on("from the start")
        # The API process holds no device: its overview is the cluster's (devices/fleet.py).
        every = [*transports, *ingests, api]
        until(lambda: _overview_counts(api_url, headers, every, MQTT_DEVICES),
              "the hub overview listing every process and counting every device")  # fmt: skip

        # The node leading the stream: its replicas elect another leader, its clients reconnect.
        nats_victim = cluster.stream_leader(STREAM)
        assert nats_victim is not None, "no node reports leading the stream"
        nats_victim.kill()
        acked = moved_on(f"after NATS node {nats_victim.name} was killed", acked)

        stored_at_kill = _stored(database_url)
        ingests[0].process.kill()  # what it fetched and did not acknowledge comes back
        ingests[0].process.wait(timeout=DEADLINE)
        until(lambda: _stored(database_url) > stored_at_kill, "points stored after the kill")
        acked = moved_on("after an ingest was killed", acked)

        transports[0].process.kill()  # its devices reconnect to the other transport
        transports[0].process.wait(timeout=DEADLINE)
        # PUBACKs the killed transport sent before it died still arrive afterwards: counted
        # from before the devices reconnected, they could pass for progress on the new link.
        until(
            lambda: all(d.connections[-1:] == [ports[1]] for d in mqtt_devices),
            "every MQTT device connected to the surviving transport",
        )
        acked = moved_on("after a transport was killed", {d.device_id: d.acks() for d in devices})
        # The killed processes drop out once their entries run out; the devices moved.
        alive = [transports[1], ingests[1], api]
        until(lambda: _overview_counts(api_url, headers, alive, MQTT_DEVICES),
              "the hub overview without the killed processes")  # fmt: skip
        assert all(d.port == ports[1] for d in mqtt_devices), [d.port for d in mqtt_devices]
        assert all(ports[0] in d.connections for d in mqtt_devices[::2])
        rpc_reaches_its_device(api_url, headers, mqtt_devices[0])  # first on the killed one

        stop.set()
        for device in devices:
            device.join(timeout=DEADLINE)
        assert [d.error for d in devices if d.error is not None] == []
        assert not any(d.is_alive() for d in devices)
        streamed = time.monotonic()
        total = sum(d.sent for d in devices)
        until(
            lambda: _stored(database_url) >= total,
            f"{total} points stored ({_stored(database_url)} so far)",
        )
        caught_up = time.monotonic()
        survivors = [transports[1], ingests[1], api]
        _interrupt(survivors)
        for process in survivors:
            assert "Traceback" not in process.output, process.output

    for device in devices:
        points = query(
            database_url,
            "SELECT ts, num FROM ts_points WHERE device_id = :d AND key = 'v' ORDER BY ts",
            d=device.device_id,
        )
        # Every reading the device made was acknowledged in the end: each is stored, once.
        assert points == [(T0 + i, float(i)) for i in range(device.sent)], device.device_id
    rollups = query(
        database_url,
        "SELECT period, sum(count) FROM ts_rollups WHERE key = 'v' GROUP BY period ORDER BY period",
    )
    # Counted once each, however often JetStream delivered them.
    assert rollups == [(period, total) for period in sorted(PERIODS)]
    log.info(  # where the time goes (pytest shows it with --log-cli-level=INFO)
        f"cluster test: NATS formed in {formed - started:.1f} s, taihu ready in "
        f"{ready - formed:.1f} s, {nats_victim.name} killed, streamed {streamed - ready:.1f} s, "
        f"stored in {caught_up - streamed:.1f} s more; {total} readings, "
        f"{sum(d.refused for d in mqtt_devices)} PUBACKs and {http_device.refused} HTTP answers "
        "refusing (sent again), "
        f"{sum(len(d.connections) for d in mqtt_devices)} MQTT connections"
    )


async def test_a_bus_started_along_with_its_nats_cluster_waits_until_it_can_make_the_stream(
    tmp_path: Path,
) -> None:
    # Connected as soon as the nodes listen: before a meta leader, or before it knows 3 peers.
    with nats_cluster(tmp_path / "nats", formed=False) as cluster:
        settings = ClusterSettings(nats_urls=cluster.urls.split(","), replicas=3, publish_timeout=1)
        bus = JetStreamBus(settings)
        await bus.open()
        try:
            assert bus.js is not None
            info = await bus.js.stream_info(settings.stream)
            assert info.config.num_replicas == 3
        finally:
            await bus.close()
