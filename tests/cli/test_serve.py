"""`taihu serve` and `taihu demo` as real processes: real sockets, signals and exit codes.

Each process runs in a session of its own, so the finally blocks can end it together with any
worker processes it spawned, whatever the test did.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import sqlite3
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path

import pytest
import sqlalchemy as sa

from taihu.accounts import Principal
from taihu.chains.templates import builtin_templates
from taihu.core import Database, head_revisions
from taihu.demo import demo_plan
from taihu.demo.identifiers import DEMO_NODE_PREFIX
from taihu.devices import DeviceService
from taihu.enterprises import EnterpriseService
from taihu.identifiers.handle import SECKEY_TYPE, Handle
from taihu.identifiers.records import load_record
from taihu.identifiers.registration.seckeys import is_sealed
from tests.conftest import CODE_A
from tests.processes import DEADLINE, SERVING, http, refused_port, run, running

MQTT = re.compile(r"MQTT device transport on mqtt://127\.0\.0\.1:(\d+)")

HEADS = ", ".join(sorted(head_revisions()))  # how commands print the schema revisions


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> dict[str, str]:
    """The environment of a `taihu` process on the test's database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAIHU_")}
    env.pop("FORCE_COLOR", None)
    env.update(
        TAIHU_ENV="test",
        TAIHU_DATABASE_URL=database_url,
        TAIHU_DATA_DIR=str(tmp_path / "var"),
        TAIHU_SECRET_KEY="k" * 40,
        TAIHU_HANDLE_PORT="0",  # never the machine's 2641
        PYTHONUNBUFFERED="1",
        NO_COLOR="1",
    )
    return env


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port on 127.0.0.1 that this test holds with a listening socket."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def enterprise_count(database_url: str) -> int:
    """How many enterprises a database holds."""

    async def _count() -> int:
        db = Database(database_url)
        try:
            async with db.session() as session:
                return await EnterpriseService(session).count()
        finally:
            await db.dispose()

    return asyncio.run(_count())


# -- taihu serve ---------------------------------------------------------------------------------


def test_serve_on_port_0_prints_the_bound_port_and_serves(
    env: dict[str, str], tmp_path: Path
) -> None:
    with running(
        "serve", "--host", "127.0.0.1", "--port", "0", "--mqtt-port", "0", env=env, cwd=tmp_path
    ) as server:
        mqtt_port = int(server.wait_for(MQTT).group(1))  # printed before the HTTP address
        url = server.url()
        with http() as client:
            assert client.get(f"{url}/healthz").status_code == 200
            ready = client.get(f"{url}/readyz")
        assert ready.status_code == 200
        assert ready.json()["schema"] == HEADS
        # The MQTT listener runs in the same process: a CONNECT with an unknown token is
        # answered (MQTT 3.1.1 CONNACK, return code 5).
        with socket.create_connection(("127.0.0.1", mqtt_port), timeout=DEADLINE) as mqtt:
            mqtt.sendall(bytes.fromhex("101200044d5154540482003c000000046e6f7065"))
            assert mqtt.recv(4) == bytes.fromhex("20020005")
        code = server.interrupt()
    # uvicorn re-raises SIGINT once it has shut down, so one process ends as Ctrl-C does.
    assert code in (0, 130), server.output
    assert "Application shutdown complete" in server.output
    assert "Traceback" not in server.output


def test_serve_with_two_workers_starts_both_and_stops_them(
    env: dict[str, str], tmp_path: Path
) -> None:
    args = ("serve", "--host", "127.0.0.1", "--port", "0", "--mqtt-port", "0", "--workers", "2")
    with running(*args, env=env, cwd=tmp_path) as server:
        url = server.url()
        for _ in "12":
            server.wait_for("Application startup complete")
        assert len(set(re.findall(r"Started server process \[(\d+)\]", server.output))) == 2
        with http() as client:
            for _ in range(10):
                assert client.get(f"{url}/healthz").status_code == 200
            assert client.get(f"{url}/readyz").status_code == 200
        code = server.interrupt()
    assert code == 0, server.output
    assert server.output.count("Application shutdown complete") == 2
    assert "Stopping parent process" in server.output
    assert "Traceback" not in server.output


def registered_device(database_url: str) -> tuple[int, str]:
    """A device registered in a new enterprise: its id and access token."""
    return registered_devices(database_url, 1)[0]


def registered_devices(database_url: str, count: int) -> list[tuple[int, str]]:
    """``count`` devices registered in one new enterprise: their ids and access tokens."""

    async def _register() -> list[tuple[int, str]]:
        db = Database(database_url)
        try:
            async with db.session() as session:
                enterprise = await EnterpriseService(session).create(
                    Principal.system("test"), "甲厂", CODE_A
                )
            devices = []
            for i in range(count):
                async with db.session() as session:
                    issued = await DeviceService(session).create(
                        Principal.system("test"), enterprise.id, f"meter {i + 1}" if i else "meter"
                    )
                devices.append((issued.device.id, issued.token))
            return devices
        finally:
            await db.dispose()

    return asyncio.run(_register())


def stored_points(database_url: str, device_id: int) -> int:
    """How many raw points a device has."""

    async def _count() -> int:
        db = Database(database_url)
        try:
            async with db.session() as session:
                query = sa.text("SELECT count(*) FROM ts_points WHERE device_id = :d")
                return int((await session.execute(query, {"d": device_id})).scalar_one())
        finally:
            await db.dispose()

    return asyncio.run(_count())


def test_two_workers_never_stamp_two_readings_of_a_device_alike(
    env: dict[str, str], tmp_path: Path, database_url: str
) -> None:
    # Each worker stamps the posts it serves in a lane of its own (devices/stamps.py): posts
    # without ts that reach both workers in the same millisecond must still be separate points.
    device_id, token = registered_device(database_url)
    args = ("serve", "--host", "127.0.0.1", "--port", "0", "--mqtt-port", "0", "--workers", "2")
    with running(*args, env=env, cwd=tmp_path) as server:
        url = server.url()
        for _ in "12":
            server.wait_for("Application startup complete")

        def post(i: int) -> int:
            with http() as client:  # a connection of its own: the workers share them out
                return client.post(f"{url}/api/v1/{token}/telemetry", json={"v": i}).status_code

        with ThreadPoolExecutor(max_workers=20) as pool:
            codes = list(pool.map(post, range(80)))
        assert codes == [200] * 80
        server.interrupt()
    assert stored_points(database_url, device_id) == 80


def test_serve_on_a_busy_port_exits_naming_the_port_and_how_to_change_it(
    env: dict[str, str], tmp_path: Path, busy_port: int
) -> None:
    args = ("serve", "--host", "127.0.0.1", "--port", str(busy_port), "--mqtt-port", "0")
    result = run(*args, env=env, cwd=tmp_path)
    assert result.returncode != 0
    assert f"port {busy_port} on 127.0.0.1 is already in use" in result.stdout
    assert "--port" in result.stdout
    assert "TAIHU_HTTP_PORT" in result.stdout
    assert "Traceback" not in result.stdout


def test_serve_role_ingest_without_a_bus_or_with_a_bad_role_exits_saying_why(
    env: dict[str, str], tmp_path: Path
) -> None:
    result = run("serve", "--role", "ingest", env=env, cwd=tmp_path)
    assert result.returncode != 0
    assert "TAIHU_CLUSTER_NATS_URLS" in result.stdout
    result = run("serve", "--role", "api", "--role", "broker", env=env, cwd=tmp_path)
    assert result.returncode != 0
    assert "invalid option" in result.stdout
    # A bus nobody answers on: the setting is named, no traceback.
    with refused_port() as port:
        env["TAIHU_CLUSTER_NATS_URLS"] = f"nats://127.0.0.1:{port}"
        env["TAIHU_CLUSTER_CONNECT_TIMEOUT"] = "1"
        result = run("serve", "--role", "ingest", env=env, cwd=tmp_path)
    assert result.returncode != 0
    assert "no NATS server answers" in result.stdout
    assert "Traceback" not in result.stdout


def test_serve_on_a_busy_mqtt_port_exits_naming_the_port_and_the_setting(
    env: dict[str, str], tmp_path: Path, busy_port: int
) -> None:
    args = ("serve", "--host", "127.0.0.1", "--port", "0", "--mqtt-port", str(busy_port))
    result = run(*args, env=env, cwd=tmp_path)
    assert result.returncode != 0
    assert f"port {busy_port} on 127.0.0.1 is already in use" in result.stdout
    assert "--mqtt-port" in result.stdout
    assert "TAIHU_MQTT_PORT" in result.stdout
    assert not SERVING.search(result.stdout)


def test_serve_on_a_busy_handle_port_exits_naming_the_port_and_the_setting(
    env: dict[str, str], tmp_path: Path, busy_port: int
) -> None:
    args = ("serve", "--port", "0", "--mqtt-port", "0", "--handle-port", str(busy_port))
    result = run(*args, env=env, cwd=tmp_path)
    assert result.returncode != 0
    assert f"Handle port {busy_port} on 127.0.0.1 is already in use" in result.stdout
    assert "--handle-port" in result.stdout
    assert "TAIHU_HANDLE_PORT" in result.stdout
    assert not SERVING.search(result.stdout)
    assert "Traceback" not in result.stdout


def test_serve_refuses_a_database_with_an_outdated_schema(
    env: dict[str, str], tmp_path: Path
) -> None:
    env["TAIHU_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'empty.sqlite3'}"
    result = run(
        "serve", "--host", "127.0.0.1", "--port", "0", "--mqtt-port", "0", env=env, cwd=tmp_path
    )
    assert result.returncode == 1
    assert "run `taihu db upgrade`" in result.stdout
    assert not SERVING.search(result.stdout)


@pytest.mark.parametrize("key", [None, "", "changeme"], ids=["unset", "empty", "known default"])
def test_serve_in_production_refuses_to_start_without_a_real_secret_key(
    env: dict[str, str], tmp_path: Path, key: str | None
) -> None:
    env["TAIHU_ENV"] = "production"
    del env["TAIHU_SECRET_KEY"]
    if key is not None:
        env["TAIHU_SECRET_KEY"] = key
    result = run(
        "serve", "--host", "127.0.0.1", "--port", "0", "--mqtt-port", "0", env=env, cwd=tmp_path
    )
    assert result.returncode == 1
    assert "TAIHU_SECRET_KEY must be a random value" in result.stdout
    assert not SERVING.search(result.stdout)


# -- taihu demo ----------------------------------------------------------------------------------


def test_demo_moves_to_the_next_free_port_and_shows_the_sign_in(
    env: dict[str, str], tmp_path: Path, busy_port: int
) -> None:
    args = ("demo", "--data-dir", str(tmp_path / "demo"), "--port", str(busy_port))
    args += ("--mqtt-port", str(busy_port))
    with running(*args, env=env, cwd=tmp_path) as demo:
        serving = demo.wait_for(SERVING)
        assert int(serving.group(2)) > busy_port
        with http() as client:
            assert client.get(f"{serving.group(1)}/healthz").status_code == 200
            # The demo loom's identifier links to the port taken, not to the one asked for.
            record = client.get(f"{serving.group(1)}/api/handles/{DEMO_NODE_PREFIX}.1/LOOM-01")
        urls = [v["data"]["value"] for v in record.json()["values"] if v["type"] == "URL"]
        assert [u.rsplit("/", 1)[0] for u in urls] == [f"{serving.group(1)}/public/devices"]
        assert f"port {busy_port} is busy" in demo.output
        # The MQTT port moved on too (it was given the same busy port).
        assert int(MQTT.search(demo.output).group(1)) > busy_port  # type: ignore[union-attr]
        assert re.search(r"\badmin\b.*\btaihu-admin\b", demo.output)
        demo.interrupt()
    assert "Traceback" not in demo.output


def test_demo_no_serve_seeds_a_fresh_sqlite_database_and_exits(
    env: dict[str, str], tmp_path: Path, database_url: str
) -> None:
    data_dir = tmp_path / "demo"
    for _ in "12":  # a second run starts again from nothing rather than adding to the first
        result = run("demo", "--no-serve", "--data-dir", str(data_dir), env=env, cwd=tmp_path)
        assert result.returncode == 0, result.stdout
    assert "taihu-admin" in result.stdout
    assert not SERVING.search(result.stdout)
    seeded = enterprise_count(f"sqlite+aiosqlite:///{data_dir / 'taihu.sqlite3'}")
    assert seeded == len(demo_plan(builtin_templates()).firms)  # not twice as many
    # The demo keeps to its own SQLite file whatever TAIHU_DATABASE_URL says.
    assert enterprise_count(database_url) == 0
    # The node admin's key is sealed, not hashed: it can answer a Handle wire challenge.
    admin = Handle(f"{DEMO_NODE_PREFIX}/ADMIN").key
    with closing(sqlite3.connect(data_dir / "taihu.sqlite3")) as conn:
        (record,) = conn.execute("SELECT record FROM id_handles WHERE key = ?", (admin,)).fetchone()
    assert is_sealed(next(v.data for v in load_record(record) if v.type == SECKEY_TYPE))
