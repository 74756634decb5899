"""OPC UA machines (asyncua servers in the test) through the gateway to the hub."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from asyncua.crypto.cert_gen import setup_self_signed_certificate
from cryptography.x509.oid import ExtendedKeyUsageOID
from tests.edge.conftest import child, config, eventually, running, series
from tests.processes import run

from taihu.demo.simulators import OpcUaSimulator
from taihu.devices import DeviceHub
from taihu.edge import EdgeGateway


async def certificate(folder: Path, uri: str, usage: Any) -> tuple[Path, Path]:
    """A self-signed application certificate (DER) and its key (PEM)."""
    key, cert = folder / f"{usage._name}-key.pem", folder / f"{usage._name}-cert.der"
    await setup_self_signed_certificate(
        key, cert, uri, socket.gethostname(), [usage], {"organizationName": "Taihu test"}
    )
    return cert, key


@pytest.fixture
async def machine(tmp_path: Path) -> AsyncIterator[OpcUaSimulator]:
    """An OPC UA server offering None and Basic256Sha256 (sign and encrypt)."""
    cert, key = await certificate(
        tmp_path, "urn:taihu:demo:machine", ExtendedKeyUsageOID.SERVER_AUTH
    )
    server = OpcUaSimulator({"Speed": 0.0, "Running": False, "Count": 0})
    await server.start(certificate=str(cert), private_key=str(key))
    yield server
    await server.stop()


def opcua_device(name: str, machine: OpcUaSimulator, **extra: Any) -> dict[str, Any]:
    nodes = [{"key": k.lower(), "node": machine.node_id(k)} for k in ("Speed", "Running", "Count")]
    return {"name": name, "connector": "opcua", "url": machine.url, "interval": 0.05, "timeout": 5,
            "backoff": {"initial": 0.05, "max": 0.5}, "nodes": nodes, **extra}  # fmt: skip


@pytest.mark.parametrize("mode", ["subscription", "polling"])
async def test_opcua_values_reach_the_hub(
    mode: str, tmp_path: Path, hub: DeviceHub, port: int, make_device: Any,
    client: httpx.AsyncClient, world: Any, machine: OpcUaSimulator,
) -> None:  # fmt: skip
    gw = await make_device("edge-ua", gateway=True)
    device = opcua_device("注塑机-07", machine, mode=mode, report={"strategy": "on_change"})
    gateway = EdgeGateway(config(tmp_path, port, gw.token, [device]))
    async with running(gateway):
        dev = await child(world, gw, "注塑机-07")
        for i in range(1, 6):
            await machine.write("Speed", 1000.0 + i)
            await machine.write("Count", i)

            async def seen(i: int = i) -> bool:
                return any(v == i for _, v in await series(client, dev, "count"))

            await eventually(seen)
        await machine.write("Running", value=True)

        async def running_seen() -> bool:
            return any(v is True for _, v in await series(client, dev, "running"))

        await eventually(running_seen)
    speeds = [v for _, v in await series(client, dev, "speed")]
    counts = [v for _, v in await series(client, dev, "count")]
    # On change: each value once, in order (0 first, as read on connecting).
    assert counts == [0, 1, 2, 3, 4, 5]
    assert speeds == [0.0, 1001.0, 1002.0, 1003.0, 1004.0, 1005.0]
    assert gateway.status.devices["注塑机-07"].errors == 0


async def test_basic256sha256_with_certificates(
    tmp_path: Path, hub: DeviceHub, port: int, make_device: Any,
    client: httpx.AsyncClient, world: Any, machine: OpcUaSimulator,
) -> None:  # fmt: skip
    cert, key = await certificate(tmp_path, "urn:taihu:edge", ExtendedKeyUsageOID.CLIENT_AUTH)
    gw = await make_device("edge-ua", gateway=True)
    security = {"policy": "Basic256Sha256", "mode": "SignAndEncrypt",
                "certificate": str(cert), "private_key": str(key)}  # fmt: skip
    device = opcua_device("secure", machine, security=security, mode="polling")
    gateway = EdgeGateway(config(tmp_path, port, gw.token, [device]))
    await machine.write("Speed", 42.5)
    async with running(gateway):
        dev = await child(world, gw, "secure")

        async def seen() -> bool:
            return any(v == 42.5 for _, v in await series(client, dev, "speed"))

        await eventually(seen)
    assert gateway.status.devices["secure"].errors == 0


async def test_browse_lists_the_nodes(machine: OpcUaSimulator, tmp_path: Path) -> None:
    result = await asyncio.to_thread(
        run, "edge", "browse", machine.url, "--depth", "2",
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout
    assert f"ns={machine.namespace};s=Machine.Speed" in result.stdout
    assert "Variable" in result.stdout
