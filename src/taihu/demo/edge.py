"""The demo's edge gateway: a simulated Modbus power meter and OPC UA machine, forwarded to the hub.

Both devices are real servers in this process (pymodbus, asyncua) whose values change every
second; the gateway reads them as it would on a shop floor, so device → edge → hub → console
is live.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time
from pathlib import Path

from taihu.edge import EdgeConfig, EdgeGateway

__all__ = ["EDGE_DEVICES", "run_edge_gateway"]

log = logging.getLogger("taihu.demo")
EDGE_DEVICES = ("电表-2号车间", "注塑机-07")


def edge_config(
    host: str, port: int, token: str, buffer: Path, meter_port: int, opcua_url: str, ns: int
) -> EdgeConfig:
    """The gateway's configuration for the two simulated devices."""
    return EdgeConfig.model_validate({
        "uplink": {"host": host, "port": port, "token": token, "health_period": 10},
        "buffer": {"path": str(buffer)},
        "health": {"port": 0},
        "devices": [
            {"name": EDGE_DEVICES[0], "type": "power-meter", "connector": "modbus",
             "host": "127.0.0.1", "port": meter_port,
             "groups": [{"interval": 2, "points": [
                 {"key": "active_power", "address": 0, "type": "float32"},
                 {"key": "energy", "address": 2, "type": "uint32", "scale": 0.1},
                 {"key": "voltage", "table": "input", "address": 10, "scale": 0.1},
             ]}]},
            {"name": EDGE_DEVICES[1], "type": "production-machine", "connector": "opcua",
             "url": opcua_url, "interval": 2,
             "nodes": [{"key": k.lower(), "node": f"ns={ns};s=Machine.{k}"}
                       for k in ("Running", "Speed", "Temperature")]},
        ],
    })  # fmt: skip


async def run_edge_gateway(host: str, port: int, token: str, data_dir: Path) -> None:
    """Simulated devices and the gateway reading them, until cancelled."""
    from taihu.demo.simulators import ModbusSimulator, OpcUaSimulator  # noqa: PLC0415

    meter = ModbusSimulator()
    machine = OpcUaSimulator({"Running": True, "Speed": 1450.0, "Temperature": 41.0})
    meter_port = await meter.start()
    url = await machine.start()
    gateway = EdgeGateway(
        edge_config(host, port, token, data_dir / "edge-buffer.db", meter_port, url,
                    machine.namespace)
    )  # fmt: skip
    rng = random.Random(7)  # noqa: S311 - demo data
    energy = 52_000.0
    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(gateway.run())
            while True:
                minute = time.time() / 60
                power = 60 + 25 * math.sin(minute / 30) + rng.uniform(-3, 3)
                energy += power / 3600
                meter.set("holding", 0, power, "float32")
                meter.set("holding", 2, int(energy * 10), "uint32")
                meter.set("input", 10, int(rng.uniform(3780, 3860)))
                running = rng.random() > 0.05
                await machine.write("Running", running)
                await machine.write(
                    "Speed", round(1450 * rng.uniform(0.97, 1.03), 1) if running else 0.0
                )
                await machine.write("Temperature", round(41 + 6 * rng.random(), 1))
                await asyncio.sleep(1.0)
    finally:
        await meter.stop()
        await machine.stop()
