"""Fixtures of the edge gateway: simulated devices on real sockets, the hub as the cloud."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.devices.conftest import DEADLINE, Dev, eventually, hub, make_device, port

from taihu.accounts import Principal
from taihu.demo.simulators import ModbusSimulator
from taihu.devices import DeviceHub, DeviceService
from taihu.edge import EdgeConfig, EdgeGateway

__all__ = ["DEADLINE", "eventually", "hub", "make_device", "port"]


@pytest.fixture
async def meter() -> AsyncIterator[ModbusSimulator]:
    """A Modbus TCP device (unit 1) on a free port."""
    device = ModbusSimulator(unit=1)
    await device.start()
    yield device
    await device.stop()


def config(
    tmp_path: Path, hub_port: int, token: str, devices: list[dict[str, Any]], **sections: Any
) -> EdgeConfig:
    """A gateway configuration against the test hub, its buffer in ``tmp_path``."""
    uplink = {"host": "127.0.0.1", "port": hub_port, "token": token,
              "backoff": {"initial": 0.05, "max": 0.5}, **sections.pop("uplink", {})}  # fmt: skip
    document = {
        "uplink": uplink,
        "buffer": {"path": str(tmp_path / "buffer.db"), **sections.pop("buffer", {})},
        "health": {"port": 0, **sections.pop("health", {})},
        "devices": devices,
    }
    return EdgeConfig.model_validate(document)


def modbus_device(name: str, port: int, *, interval: float = 0.05, **extra: Any) -> dict[str, Any]:
    """A Modbus device reading a counter (holding 0) every ``interval``."""
    points = extra.pop("points", [{"key": "count", "address": 0, "type": "uint32"}])
    return {"name": name, "connector": "modbus", "host": "127.0.0.1", "port": port,
            "timeout": 0.5, "backoff": {"initial": 0.05, "max": 0.3},
            "groups": [{"interval": interval, "points": points}], **extra}  # fmt: skip


@contextlib.asynccontextmanager
async def running(gateway: EdgeGateway) -> AsyncIterator[EdgeGateway]:
    """The gateway running in this event loop, stopped at the end of the block."""
    started = asyncio.Event()
    task = asyncio.create_task(gateway.run(lambda _g: started.set()))
    try:
        async with asyncio.timeout(DEADLINE):
            await started.wait()
        yield gateway
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def child(world: Any, gateway: Dev, name: str) -> Dev:
    """The child device the hub created for a gateway's device (waits until it exists)."""

    async def find() -> Any:
        async with world.db.session() as session:
            rows, _ = await DeviceService(session).list_devices(Principal.system(), search=name)
        return next((r for r in rows if r.name == name and r.gateway_id == gateway.id), None)

    row = await eventually(find)
    return Dev(row.id, "", row.enterprise_id, gateway.headers)


async def series(client: httpx.AsyncClient, dev: Dev, key: str) -> list[tuple[int, Any]]:
    """Every stored (ts, value) of a key, oldest first, through the query API."""
    response = await client.get(
        f"/api/plugins/telemetry/DEVICE/{dev.id}/values/timeseries",
        params={"keys": key, "startTs": 0, "endTs": 4_102_444_800_000, "limit": 50_000,
                "orderBy": "ASC", "useStrictDataTypes": "true"},
        headers=dev.headers,
    )  # fmt: skip
    assert response.status_code == 200, response.text
    return [(p["ts"], p["value"]) for p in response.json().get(key, [])]


async def outage(hub: DeviceHub, during: Callable[[], Any]) -> None:
    """Stop the hub's MQTT listener (every connection dropped), await ``during``, restart it."""
    listener = hub.listener
    assert listener is not None
    port = listener.port
    await listener.stop()
    # The port stays bound, not listening (connections are refused): a client's ephemeral port
    # can then never be this one, which would connect the client to itself.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    async with asyncio.timeout(DEADLINE):
        # Until the closed connections have left the port; TIME_WAIT is fine as the hub's
        # socket has SO_REUSEADDR, so its connections have it too.
        while True:
            try:
                sock.bind(("127.0.0.1", port))
                break
            except OSError:
                await asyncio.sleep(0.01)
    try:
        await during()
    except BaseException:
        sock.close()
        raise
    sock.listen(128)
    await listener.start(sock)
