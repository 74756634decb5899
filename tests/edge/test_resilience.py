"""A hung, a refusing and an erring device never stall a healthy one; nor does a dead uplink."""

from __future__ import annotations

import asyncio
import itertools
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tests.edge.conftest import config, eventually, modbus_device, running
from tests.edge.test_forward import tick

from taihu.demo.simulators import ModbusSimulator
from taihu.edge import EdgeGateway

HUNG_TIMEOUT = 2.0


@pytest.fixture
async def hung_port() -> AsyncIterator[int]:
    """A TCP server that accepts connections and never answers a byte."""
    held: list[asyncio.StreamWriter] = []

    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        while await reader.read(1024):
            pass

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    for writer in held:
        writer.close()
    server.close()


@pytest.fixture
def closed_port() -> int:
    """A port nothing listens on (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_broken_devices_never_stall_a_healthy_one(
    tmp_path: Path, meter: ModbusSimulator, hung_port: int, closed_port: int
) -> None:
    devices = [
        # Its own reads get a bound far past any stall of a loaded machine: errors == 0 below
        # says it was never held up by the others, not that the machine was never slow.
        modbus_device("good", meter.port, timeout=60),
        modbus_device("hung", hung_port, timeout=HUNG_TIMEOUT),
        modbus_device("refusing", closed_port),
        modbus_device("erring", meter.port, unit=9),  # no such unit: exception responses
    ]
    # The uplink is down for the whole test: polling goes on regardless.
    gateway = EdgeGateway(config(tmp_path, closed_port, "token", devices))
    ticking = asyncio.create_task(tick(meter))
    try:
        async with running(gateway):
            health = gateway.status.devices

            async def failing_repeatedly() -> bool:
                return all(health[n].errors >= 3 for n in ("hung", "refusing", "erring"))

            await eventually(failing_repeatedly)
            rows = gateway.buffer.head(0, 1_000_000)
    finally:
        ticking.cancel()
    assert health["hung"].last_error == f"TimeoutError: no answer within {HUNG_TIMEOUT:g} s"
    assert "cannot connect to" in (health["refusing"].last_error or "")
    assert "unit 9 refused to read holding 0..1" in (health["erring"].last_error or "")
    assert health["good"].errors == 0
    assert not gateway.status.uplink.connected
    assert gateway.status.uplink.last_error is not None

    assert {r.device for r in rows} == {"good"}
    stamps = [r.ts for r in rows]
    # Three hung-device timeouts passed; the healthy meter never waited for one of them.
    assert stamps[-1] - stamps[0] >= 3 * HUNG_TIMEOUT * 1000
    assert max(b - a for a, b in itertools.pairwise(stamps)) < HUNG_TIMEOUT * 1000
