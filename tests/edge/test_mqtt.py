"""Devices on a local MQTT broker (a real mosquitto started by the test): JSON fields to keys."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from tests.edge.conftest import DEADLINE, config, eventually, running

from taihu.edge import EdgeGateway

T = 1_764_057_600_000
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[int]:
    """A mosquitto broker on a free port of 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\n", encoding="utf-8")
    process = subprocess.Popen(
        [MOSQUITTO, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + DEADLINE
        while not _answers(port):  # ready when it accepts a connection, however long that takes
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"mosquitto did not listen on {port} (exit code {process.poll()})")
            time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=DEADLINE)


def _answers(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(DEADLINE)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def publish(port: int, topic: str, payloads: list[bytes]) -> None:
    """Publish at QoS 1 and wait for each acknowledgement."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2)
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        for payload in payloads:
            client.publish(topic, payload, qos=1).wait_for_publish(timeout=DEADLINE)
    finally:
        client.disconnect()
        client.loop_stop()


async def test_json_fields_become_readings(tmp_path: Path, broker: int) -> None:
    device = {
        "name": "温湿度-仓库", "connector": "mqtt", "port": broker,
        "topic": "sensors/warehouse/+", "ts_path": "time",
        "backoff": {"initial": 0.05, "max": 0.5},
        "fields": [{"key": "temperature", "path": "data.temp"},
                   {"key": "humidity", "path": "data.rh"},
                   {"key": "first", "path": "list.0"}],
    }  # fmt: skip
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        nowhere = int(sock.getsockname()[1])
    gateway = EdgeGateway(config(tmp_path, nowhere, "token", [device]))
    async with running(gateway):
        health = gateway.status.devices["温湿度-仓库"]

        async def subscribed() -> bool:
            return health.connected

        await eventually(subscribed)  # connected counts from the SUBACK on
        await asyncio.to_thread(publish, broker, "sensors/warehouse/a", [
            b'{"time": 1764057600000, "data": {"temp": 21.5, "rh": 40}, "list": [7]}',
            b'{"data": {"temp": 21.75}}',
            b"not json",
            b'{"other": 1}',
        ])  # fmt: skip

        async def received() -> bool:
            return health.readings >= 4 and health.errors >= 2

        await eventually(received)
        rows = gateway.buffer.head(0, 100)
    assert [(r.key, r.value) for r in rows] == [
        ("temperature", "21.5"), ("humidity", "40"), ("first", "7"), ("temperature", "21.75"),
    ]  # fmt: skip
    assert rows[0].ts == T
    assert rows[3].ts > T
    assert health.last_error == "a message without any of the configured fields"
