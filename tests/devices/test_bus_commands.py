"""Acceptance: commands from an API process reach a device connected to a transport process.

One ``nats-server`` of the test's own, and ``taihu serve --role transport``, ``--role ingest``
and ``--role api`` as separate processes. A paho device connected to the transport, subscribed to
RPC and shared attributes, gets a two-way RPC (its answer comes back through the API), a one-way
RPC and a shared attribute update sent to the API process; an RPC to it once it is gone gets the
answer of one process (409, ``device_offline``).
"""

from __future__ import annotations

import json
import queue
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from taihu.devices.downlink import NOT_CONNECTED
from tests.cli.test_serve import MQTT, registered_device
from tests.processes import (
    DEADLINE,
    NO_NATS_SERVER,
    admin_bearer,
    http,
    nats_server,
    running,
    taihu_env,
)

pytestmark = pytest.mark.skipif(NO_NATS_SERVER, reason="no nats-server")
RPC_REQUEST = "v1/devices/me/rpc/request/"


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> dict[str, str]:
    """The environment of the `taihu` processes: the test's database, quiet output."""
    return taihu_env(database_url, tmp_path / "var")


class Device:
    """A paho device (MQTT 5) that answers every two-way RPC with its params, recording all."""

    def __init__(self, port: int, token: str) -> None:
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self.client.username_pw_set(token)
        self.connacks: queue.Queue[int] = queue.Queue()
        self.subacks: queue.Queue[object] = queue.Queue()
        self.messages: queue.Queue[tuple[str, object]] = queue.Queue()
        self.client.on_connect = lambda _c, _u, _f, rc, _p: self.connacks.put(rc.value)
        self.client.on_subscribe = lambda *args: self.subacks.put(args)
        self.client.on_message = self._message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert self.connacks.get(timeout=DEADLINE) == 0
        for topic in (RPC_REQUEST + "+", "v1/devices/me/attributes"):
            self.client.subscribe(topic, qos=1)
            self.subacks.get(timeout=DEADLINE)

    def _message(self, _c: object, _u: object, message: mqtt.MQTTMessage) -> None:
        body = json.loads(message.payload)
        self.messages.put((message.topic, body))
        if message.topic.startswith(RPC_REQUEST) and body["method"] == "echo":
            request_id = message.topic[len(RPC_REQUEST) :]
            answer = json.dumps({"echo": body["params"]})
            self.client.publish(f"v1/devices/me/rpc/response/{request_id}", answer, qos=1)

    def next(self) -> tuple[str, object]:
        """The next message the device got."""
        return self.messages.get(timeout=DEADLINE)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _until_ready(web: httpx.Client, url: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while True:
        try:
            if web.get(f"{url}/healthz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"{url} not serving within {DEADLINE:.0f} s")
        time.sleep(0.1)  # a polling interval, not a wait for something to have happened


def _until(call: Callable[[], httpx.Response], done: Callable[[int], bool]) -> httpx.Response:
    """Call until the answer's status is ``done``."""
    deadline = time.monotonic() + DEADLINE
    while not done((response := call()).status_code):
        assert time.monotonic() < deadline, response.text
        time.sleep(0.1)  # a polling interval, not a wait for something to have happened
    return response


def test_rpc_and_shared_attributes_cross_from_the_api_process_to_the_transport(
    env: dict[str, str], tmp_path: Path, database_url: str
) -> None:
    device_id, token = registered_device(database_url)
    headers = admin_bearer(database_url)
    with nats_server(tmp_path / "nats") as nats_url, http() as web:
        env.update(TAIHU_CLUSTER_NATS_URLS=nats_url)
        with (
            running("serve", "--role", "transport", "--mqtt-port", "0", env=env,
                    cwd=tmp_path) as transport,
            running("serve", "--role", "ingest", env=env, cwd=tmp_path) as ingest,
            running("serve", "--role", "api", "--port", "0", env=env, cwd=tmp_path) as api,
        ):  # fmt: skip
            port = int(transport.wait_for(MQTT).group(1))
            transport.wait_for("ready: roles transport")
            ingest.wait_for("ready: roles ingest")
            url = api.url()
            _until_ready(web, url)
            twoway = f"{url}/api/plugins/rpc/twoway/{device_id}"
            oneway = f"{url}/api/plugins/rpc/oneway/{device_id}"

            offline = web.post(twoway, json={"method": "echo"}, headers=headers)
            assert offline.status_code == 409, offline.text
            assert offline.json() == {"error": "device_offline", "message": NOT_CONNECTED}

            device = Device(port, token)
            try:
                # The transport offers the device on NATS once it connected and subscribed.
                ping = _until(lambda: web.post(oneway, json={"method": "ping"}, headers=headers),
                              lambda status: status != 409)  # fmt: skip
                assert ping.status_code == 200, ping.text
                topic, body = device.next()
                assert topic.startswith(RPC_REQUEST)
                assert body == {"method": "ping", "params": None}

                # The longest wait a call may ask (60 s, not the default 10 s): four processes
                # and a device in the test's own threads pass it on, on a loaded machine.
                echo = {"method": "echo", "params": {"rpm": 900}, "timeout": 60_000}
                answer = web.post(twoway, json=echo, headers=headers)
                assert answer.status_code == 200, answer.text
                assert answer.json() == {"echo": {"rpm": 900}}
                assert device.next()[1] == {"method": "echo", "params": {"rpm": 900}}

                shared = web.post(
                    f"{url}/api/devices/{device_id}/attributes/shared",
                    json={"values": {"speed": 1200}}, headers=headers,
                )  # fmt: skip
                assert shared.status_code == 204, shared.text
                assert device.next() == ("v1/devices/me/attributes", {"speed": 1200})
            finally:
                device.close()

            call = {"method": "echo", "timeout": 1000}
            gone = _until(lambda: web.post(twoway, json=call, headers=headers),
                          lambda status: status == 409)  # fmt: skip
            assert gone.json() == {"error": "device_offline", "message": NOT_CONNECTED}
            api.interrupt()
            transport.interrupt()
    for process in (api, transport, ingest):
        assert "Traceback" not in process.output, process.output
