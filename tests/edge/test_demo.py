"""`taihu demo`: its edge gateway forwards a simulated Modbus meter and OPC UA machine."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.cli.test_serve import MQTT, env  # noqa: F401 - env is a fixture
from tests.devices.conftest import eventually
from tests.processes import SERVING, running

from taihu.accounts import Principal
from taihu.core import Database
from taihu.demo.edge import EDGE_DEVICES
from taihu.devices import DeviceService, store_for


async def test_demo_runs_an_edge_gateway_with_live_devices(
    env: dict[str, str],  # noqa: F811 - the fixture imported above
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "demo"
    args = ("demo", "--data-dir", str(data_dir), "--port", "0", "--mqtt-port", "0")
    with running(*args, env=env, cwd=tmp_path) as demo:
        await asyncio.to_thread(demo.wait_for, SERVING)
        assert "edge gateway 边缘网关-1" in demo.output
        db = Database(f"sqlite+aiosqlite:///{data_dir / 'taihu.sqlite3'}")
        try:

            async def forwarded() -> dict[str, set[str]]:
                found: dict[str, set[str]] = {}
                async with db.session() as session:
                    rows, _ = await DeviceService(session).list_devices(Principal.system())
                by_name = {r.name: r for r in rows}
                gateway = by_name.get("边缘网关-1")
                children = [by_name.get(name) for name in EDGE_DEVICES]
                if gateway is None or any(
                    c is None or c.gateway_id != gateway.id for c in children
                ):
                    return {}  # the gateway's devices are its children on the hub
                for name in (*EDGE_DEVICES, "边缘网关-1"):
                    found[name] = set(await store_for(db).latest(by_name[name].id))
                return found if all(found.values()) else {}

            found = await eventually(forwarded)
        finally:
            await db.dispose()
        demo.interrupt()
    assert {"active_power", "energy", "voltage"} <= found["电表-2号车间"]
    assert {"running", "speed", "temperature"} <= found["注塑机-07"]
    assert "edge_buffer_depth" in found["边缘网关-1"]
    assert MQTT.search(demo.output)
    assert "Traceback" not in demo.output
