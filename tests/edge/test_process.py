"""`taihu edge` as a real process: kill -9 mid-stream loses and doubles nothing; the CLI."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from tests.devices.conftest import Dev
from tests.edge.conftest import child, eventually, series
from tests.edge.test_forward import tick
from tests.processes import Taihu, http, run, running

from taihu.demo.simulators import ModbusSimulator
from taihu.devices import DeviceHub
from taihu.edge import Buffer, read_status

HEALTH = r"health (http://127\.0\.0\.1:\d+/health)"


@pytest.fixture
def env() -> dict[str, str]:
    """The environment of a `taihu edge` process (no server settings at all)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAIHU_")}
    env.pop("FORCE_COLOR", None)
    env.update(PYTHONUNBUFFERED="1", NO_COLOR="1", COLUMNS="200")
    return env


def write_config(tmp_path: Path, hub_port: int, token: str, meter_port: int) -> Path:
    """A YAML file as a user would write it (relative buffer path)."""
    path = tmp_path / "edge.yaml"
    path.write_text(
        f"""
uplink:
  host: 127.0.0.1
  port: {hub_port}
  token: "{token}"
  backoff: {{initial: 50ms, max: 500ms}}
buffer:
  path: data/buffer.db
health:
  port: 0
devices:
  - name: 电表-1
    connector: modbus
    host: 127.0.0.1
    port: {meter_port}
    timeout: 500ms
    backoff: {{initial: 50ms, max: 300ms}}
    groups:
      - interval: 50ms
        points:
          - {{key: count, address: 0, type: uint32}}
""",
        encoding="utf-8",
    )
    return path


async def health(process: Taihu) -> str:
    """The health URL the process announces."""
    match = await asyncio.to_thread(process.wait_for, HEALTH)
    return match.group(1)


def status(url: str) -> dict[str, Any]:
    """The health endpoint's document."""
    with http() as h:
        response = h.get(url)
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


async def test_kill_9_mid_stream_loses_and_doubles_nothing(
    tmp_path: Path, hub: DeviceHub, port: int, make_device: Any, client: httpx.AsyncClient,
    world: Any, meter: ModbusSimulator, env: dict[str, str],
) -> None:  # fmt: skip
    gw = await make_device("edge-1", gateway=True)
    path = write_config(tmp_path, port, gw.token, meter.port)
    ticking = asyncio.create_task(tick(meter))
    try:
        dev = None
        for _round in range(2):
            with running("edge", "run", "--config", str(path), env=env, cwd=tmp_path) as edge:
                url = await health(edge)
                dev = dev or await child(world, gw, "电表-1")
                before = len(await series(client, dev, "count"))

                async def streaming(before: int = before, url: str = url, dev: Dev = dev) -> bool:
                    sent = await asyncio.to_thread(lambda: status(url)["buffer"]["sent"])
                    return sent > 0 and len(await series(client, dev, "count")) >= before + 20

                await eventually(streaming)
                # `running` ends the process group with SIGKILL: no shutdown code runs.
        assert dev is not None
        # Restarted once more to drain what the last kill left in the buffer.
        ticking.cancel()
        await meter.stop()
        with running("edge", "run", "--config", str(path), env=env, cwd=tmp_path) as edge:
            url = await health(edge)

            async def drained() -> bool:
                document = await asyncio.to_thread(status, url)
                return document["buffer"]["depth"] == 0 and not document["devices"][0]["connected"]

            await eventually(drained)
            final = await asyncio.to_thread(status, url)
            # In a thread: the hub the edge still talks to while it stops runs on this loop.
            assert await asyncio.to_thread(edge.interrupt) == 0
    finally:
        ticking.cancel()
    stored = await series(client, dev, "count")
    counters = read_status(tmp_path / "data" / "buffer.db")["buffer"]
    # Every reading ever committed to the buffer is in the hub's store exactly once.
    assert len(stored) == counters["appended"] == counters["sent"] == final["buffer"]["sent"]
    assert len({ts for ts, _ in stored}) == len(stored)
    values = [v for _, v in stored]
    assert values == sorted(values)
    assert counters["depth"] == counters["dropped"] == 0


def test_check_names_file_field_and_line(tmp_path: Path, env: dict[str, str]) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        """uplink:
  port: 70000
devices:
  - name: meter
    connector: modbus
    host: 10.0.0.5
    groups:
      - interval: soon
        points:
          - {key: power, address: 0, type: float16}
  - name: meter
    connector: opcua
    url: http://nope
    nodes: [{key: speed, node: "ns=2;s=Speed"}]
""",
        encoding="utf-8",
    )
    result = run("edge", "check", "--config", str(path), env=env, cwd=tmp_path)
    assert result.returncode == 2
    out = result.stdout
    assert f"{path}: " in out
    assert f"{path}:2: uplink.port: Input should be less than or equal to 65535" in out
    assert f"{path}:1: uplink.token: Field required" in out
    assert f"{path}:8: devices[0].groups[0].interval: a duration is seconds" in out
    assert f"{path}:10: devices[0].groups[0].points[0].type: Input should be 'int16'" in out
    assert f"{path}:13: devices[1].url: String should match pattern" in out

    path.write_text("uplink: {token: t}\ndevices:\n  - {name: a, connector: bacnet}\n")
    out = run("edge", "check", "--config", str(path), env=env, cwd=tmp_path).stdout
    assert f"{path}:3: devices[0]: Input tag 'bacnet' found using 'connector' does not match" in out

    path.write_text("uplink: [unclosed\n")
    out = run("edge", "check", "--config", str(path), env=env, cwd=tmp_path).stdout
    assert f"{path}:2: (top level): not valid YAML" in out

    missing = run("edge", "check", "--config", str(tmp_path / "none.yaml"), env=env, cwd=tmp_path)
    assert missing.returncode == 2
    assert "none.yaml: (top level): cannot read: No such file or directory" in missing.stdout


def test_check_accepts_the_examples(env: dict[str, str], tmp_path: Path) -> None:
    examples = sorted((Path(__file__).parents[2] / "examples" / "edge").glob("*.yaml"))
    assert examples
    for example in examples:
        result = run("edge", "check", "--config", str(example), env=env, cwd=tmp_path)
        assert result.returncode == 0, result.stdout
        assert ": OK — " in result.stdout


def test_status_reads_the_buffer_when_the_gateway_is_not_running(
    tmp_path: Path, env: dict[str, str]
) -> None:
    path = write_config(tmp_path, 1, "t", 1)
    assert run("edge", "status", "--config", str(path), env=env, cwd=tmp_path).returncode == 1
    (tmp_path / "data").mkdir()
    buffer = Buffer(tmp_path / "data" / "buffer.db")
    buffer.append([("电表-1", 1_764_057_600_000, "count", 1)])
    buffer.save_status({"devices": [{"name": "电表-1", "connector": "modbus", "connected": False,
                                     "last_ok": None, "readings": 1, "errors": 2,
                                     "last_error": "ConnectionError: refused"}]})  # fmt: skip
    buffer.close()
    result = run("edge", "status", "--config", str(path), "--url", "http://127.0.0.1:1/health",
                 env=env, cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stdout
    assert "buffer: 1 readings" in result.stdout
    assert "ConnectionError: refused" in result.stdout
    as_json = run("edge", "status", "--config", str(path), "--json", "--url",
                  "http://127.0.0.1:1/health", env=env, cwd=tmp_path)  # fmt: skip
    assert orjson.loads(as_json.stdout)["buffer"]["depth"] == 1


def test_the_edge_imports_nothing_of_the_server(env: dict[str, str]) -> None:
    code = (
        "import sys, taihu.edge.cli, taihu.edge.uplink, taihu.edge.connectors.modbus, "
        "taihu.edge.connectors.opcua, taihu.edge.connectors.mqtt\n"
        "bad = {'fastapi', 'sqlalchemy', 'starlette', 'uvicorn', 'jinja2', 'alembic'}\n"
        "found = sorted(m for m in sys.modules if m.split('.')[0] in bad "
        "or m.startswith(('taihu.web', 'taihu.devices', 'taihu.core', 'taihu.settings')))\n"
        "print(found)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
