"""Demo devices, simulated over real MQTT: a power meter per enterprise, a few machines.

Seeding registers the devices and back-fills 24 hours of history so charts have something to
show; ``simulate`` then connects every device with its access token and publishes telemetry
every few seconds, reconnecting with jittered exponential backoff when the listener is not up
yet or goes away.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import orjson

from taihu.accounts import Principal
from taihu.core import Database
from taihu.demo.alarms import seed_alarms
from taihu.devices import DeviceService, MqttClient, MqttRefused, Point, store_for

__all__ = ["SimulatedDevice", "seed_devices", "simulate"]

log = logging.getLogger("taihu.demo")
_MACHINE_EVERY = 4  # one enterprise in four runs a production machine on the hub
_HISTORY_STEP_MS = 600_000  # back-filled history: one point every ten minutes
_DAY_MS = 86_400_000
TELEMETRY = "v1/devices/me/telemetry"
# Every 25 minutes 4 minutes hot, shifted per machine; the history's 10-minute steps meet it
# one step in five.
_OVERHEAT_CYCLE, _OVERHEAT_MS, _OVERHEAT_SHIFT = 1_500_000, 240_000, 300_000


@dataclass(frozen=True, slots=True)
class SimulatedDevice:
    """A demo device and how it behaves."""

    name: str
    token: str
    kind: str  # "meter" or "machine"
    base: float  # typical load in kW (meters) or speed in rpm (machines)
    seed: int


def _meter(device: SimulatedDevice, ts: int, energy: float) -> dict[str, float]:
    hour = (ts / 3_600_000 + 8) % 24  # China Standard Time
    working = 0.25
    if 6 <= hour <= 20:
        working += 0.75 * max(0.0, math.sin(math.pi * (hour - 6) / 14))
    rng = random.Random(device.seed * 1_000_003 + ts // 60_000)  # noqa: S311 - demo data
    power = round(device.base * working * rng.uniform(0.9, 1.1), 2)
    return {"active_power": power, "voltage": round(rng.uniform(376, 392), 1),
            "energy": round(energy, 1)}  # fmt: skip


def _machine(device: SimulatedDevice, ts: int) -> dict[str, float]:
    rng = random.Random(device.seed * 7919 + ts // 60_000)  # noqa: S311 - demo data
    running = rng.random() > 0.1
    speed = round(device.base * rng.uniform(0.95, 1.05)) if running else 0
    heat = 22 if running else 0
    temperature = 38 + heat * rng.random()
    # A few minutes of overheating in every cycle (the demo's "过热" rule raises, then clears).
    if running and (ts + device.seed * _OVERHEAT_SHIFT) % _OVERHEAT_CYCLE < _OVERHEAT_MS:
        temperature = 78 + 6 * rng.random()
    # bool is an int: running is stored as a boolean, as the profile says.
    return {"running": running, "speed": speed, "temperature": round(temperature, 1)}


async def seed_devices(
    db: Database, enterprise_ids: list[int], now: datetime
) -> list[SimulatedDevice]:
    """Register the demo's devices and back-fill a day of history."""
    system = Principal.system("demo")
    devices: list[tuple[int, SimulatedDevice]] = []
    async with db.session() as session:
        registry = DeviceService(session)
        await registry.create_profile(
            system, "power-meter", retention_days=400, rate_limits="20:1,600:60",
            telemetry_keys=[{"key": "active_power", "unit": "kW", "type": "double"},
                            {"key": "energy", "unit": "kWh", "type": "double"},
                            {"key": "voltage", "unit": "V", "type": "double"}],
        )  # fmt: skip
        await registry.create_profile(
            system, "production-machine", retention_days=90, rate_limits="20:1,600:60",
            telemetry_keys=[{"key": "running", "unit": "", "type": "boolean"},
                            {"key": "speed", "unit": "rpm", "type": "long"},
                            {"key": "temperature", "unit": "°C", "type": "double"}],
        )  # fmt: skip
        for index, enterprise_id in enumerate(enterprise_ids):
            issued = await registry.create(
                system, enterprise_id, "电表-总进线", profile="power-meter"
            )
            base = 80.0 + 40 * (index % 7)
            sim = SimulatedDevice("电表-总进线", issued.token, "meter", base, index)
            devices.append((issued.device.id, sim))
            if index % _MACHINE_EVERY == 0:
                issued = await registry.create(
                    system, enterprise_id, "织机-01", profile="production-machine"
                )
                sim = SimulatedDevice("织机-01", issued.token, "machine", 1200.0, index)
                devices.append((issued.device.id, sim))
        # One edge gateway, reading a Modbus meter and an OPC UA machine (demo/edge.py).
        await registry.create_profile(system, "edge-gateway", rate_limits="200:1,6000:60")
        gateway = await registry.create(
            system, enterprise_ids[0], "边缘网关-1", profile="edge-gateway", gateway=True
        )
    store = store_for(db)
    end = int(now.timestamp() * 1000)
    start = end - end % _HISTORY_STEP_MS - _DAY_MS
    batch: list[tuple[int, Point]] = []
    machines = {device_id for device_id, sim in devices if sim.kind == "machine"}
    for device_id, sim in devices:
        energy = 1000.0 * (sim.seed + 1)
        for ts in range(start, end, _HISTORY_STEP_MS):
            values: dict[str, float | bool]
            if sim.kind == "meter":
                values = dict(_meter(sim, ts, energy))
                energy += float(values["active_power"]) * _HISTORY_STEP_MS / 3_600_000
            else:
                values = dict(_machine(sim, ts))
            batch.extend((device_id, Point(k, ts, v)) for k, v in values.items())
    await store.write(batch)
    await seed_alarms(db, [(d, p) for d, p in batch if d in machines])
    edge = SimulatedDevice("边缘网关-1", gateway.token, "edge", 0.0, 0)
    return [sim for _, sim in devices] + [edge]


async def _run_device(host: str, port: int, device: SimulatedDevice, period: float) -> None:
    energy = 1000.0 * (device.seed + 1) + 24 * device.base
    delay = 0.5
    rng = random.Random(device.seed)  # noqa: S311 - jitter, not security
    await asyncio.sleep(rng.uniform(0, period))  # spread the devices over the period
    while True:
        try:
            client_id = f"demo-{device.seed}-{device.kind}"
            async with MqttClient(host, port, device.token, client_id=client_id) as mqtt:
                delay = 0.5
                while True:
                    now = int(time.time() * 1000)
                    if device.kind == "meter":
                        values = _meter(device, now, energy)
                        energy += values["active_power"] * period / 3600
                    else:
                        values = _machine(device, now)
                    await (await mqtt.publish(TELEMETRY, orjson.dumps(values)))
                    await asyncio.sleep(period)
        except (OSError, MqttRefused, asyncio.IncompleteReadError) as exc:
            log.debug("demo device %s: %s; reconnecting in %.1fs", device.name, exc, delay)
            await asyncio.sleep(delay * rng.uniform(0.5, 1.5))
            delay = min(delay * 2, 30.0)


async def simulate(
    host: str,
    port: int,
    devices: list[SimulatedDevice],
    *,
    period: float = 5.0,
    data_dir: Path = Path("var/demo"),
) -> None:
    """Run every simulated device (and the edge gateway with its devices) until cancelled."""
    async with asyncio.TaskGroup() as group:
        for device in devices:
            if device.kind == "edge":
                from taihu.demo.edge import run_edge_gateway  # noqa: PLC0415 - the edge extra

                work = run_edge_gateway(host, port, device.token, data_dir)
            else:
                work = _run_device(host, port, device, period)
            group.create_task(work, name=f"demo {device.name}")
