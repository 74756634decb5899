"""MQTT over TLS: the listener with TAIHU_MQTT_TLS_CERT/KEY, a paho client verifying its cert."""

from __future__ import annotations

import asyncio
import shutil
import socket
import ssl
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from taihu.devices import DeviceHub
from taihu.settings import MqttSettings
from tests.devices.conftest import DEADLINE, latest
from tests.devices.test_mqtt_clients import V5, Paho


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl makes the test certificate")
async def test_mqtt_over_tls(
    app: Any, tmp_path: Path, make_device: Any, client: httpx.AsyncClient
) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    await asyncio.to_thread(
        subprocess.run,
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    hub: DeviceHub = app.state.device_hub
    hub.settings = MqttSettings(port=0, tls_cert=cert, tls_key=key)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    await hub.start(sock)
    try:
        dev = await make_device()
        c = Paho(hub.listener.port, dev.token, V5)  # type: ignore[union-attr]
        c.client.tls_set(ca_certs=str(cert), cert_reqs=ssl.CERT_REQUIRED)
        try:
            # The TLS handshake happens inside paho's blocking connect(): off the event loop.
            await asyncio.to_thread(c.client.connect, "127.0.0.1", hub.listener.port)  # type: ignore[union-attr]
            c.client.loop_start()
            assert await asyncio.to_thread(c.connacks.get, timeout=DEADLINE) == 0
            assert await c.publish("v1/devices/me/telemetry", {"secure": True}) == 0
        finally:
            c.close()
        assert await latest(client, dev) == {"secure": True}
    finally:
        await hub.stop()
