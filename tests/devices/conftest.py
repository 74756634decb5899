"""Fixtures of the device hub: a real MQTT listener on a free port, devices and their tokens."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from taihu.accounts import Principal, Role
from taihu.devices import DeviceHub, DeviceService
from taihu.settings import MqttSettings
from tests.conftest import CODE_A, World

# An upper bound on every wait in these tests, never an expectation of how fast things are:
# minutes, since the machines running them are shared (tests/processes.py).
DEADLINE = 300.0


@dataclass
class Dev:
    """A registered device: its id, token, enterprise and a header of a user of that enterprise."""

    id: int
    token: str
    enterprise_id: int
    headers: dict[str, str]


@pytest.fixture
async def hub(app: Any) -> AsyncIterator[DeviceHub]:
    """The application's hub, listening for MQTT on a free port of 127.0.0.1."""
    device_hub: DeviceHub = app.state.device_hub
    device_hub.settings = MqttSettings(
        port=0, connect_timeout=1.0, max_packet_size=8192, max_connections_per_token=3
    )
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # As `taihu serve` does; lets a test restart the listener on the same port.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    await device_hub.start(sock)
    yield device_hub
    await device_hub.stop()


@pytest.fixture
def port(hub: DeviceHub) -> int:
    """The MQTT port the hub listens on."""
    assert hub.listener is not None
    return hub.listener.port


@pytest.fixture
def make_device(world: World) -> Callable[..., Any]:
    """Registers a device (in enterprise A unless told) and a user of its enterprise."""
    state: dict[str, Any] = {}

    async def _make(
        name: str = "meter", *, profile: str | None = None, gateway: bool = False
    ) -> Dev:
        if "enterprise" not in state:
            state["enterprise"] = await world.enterprise("甲厂", CODE_A)
            state["headers"] = await world.bearer(
                "alice", Role.ENTERPRISE, enterprises=(state["enterprise"].id,)
            )
        enterprise = state["enterprise"]
        async with world.db.session() as session:
            issued = await DeviceService(session, world.clock).create(
                Principal.system("test"),
                enterprise.id, name, profile=profile, gateway=gateway,
            )  # fmt: skip
        return Dev(issued.device.id, issued.token, enterprise.id, state["headers"])

    return _make


async def latest(client: httpx.AsyncClient, dev: Dev, keys: str | None = None) -> dict[str, Any]:
    """Latest values of a device through the ThingsBoard query API, strict types."""
    params: dict[str, Any] = {"useStrictDataTypes": "true"}
    if keys:
        params["keys"] = keys
    response = await client.get(
        f"/api/plugins/telemetry/DEVICE/{dev.id}/values/timeseries", params=params,
        headers=dev.headers,
    )  # fmt: skip
    assert response.status_code == 200, response.text
    return {k: v[0]["value"] for k, v in response.json().items()}


async def eventually(check: Callable[[], Any], within: float = DEADLINE) -> Any:
    """Poll an async check until it returns something truthy (bounded by ``within``)."""
    async with asyncio.timeout(within):
        while True:
            result = await check()
            if result:
                return result
            await asyncio.sleep(0.02)
