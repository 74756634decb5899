"""`taihu backup` and `taihu restore`: a live SQLite node under load, restored whole elsewhere.

These run on the embedded SQLite default whatever database the suite is given: the commands are
for that default, and on PostgreSQL they point to pg_dump and WAL archiving instead.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import sqlite3
import tarfile
import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from urllib.parse import quote

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from taihu.accounts import AccountService, Principal, Role
from taihu.core import Database, head_revisions, upgrade
from taihu.devices import DeviceService
from taihu.enterprises import EnterpriseService
from taihu.identifiers import IdentifierService
from taihu.settings import SecuritySettings
from tests.processes import DEADLINE, http, run, running

MQTT_LINE = r"MQTT device transport on mqtt://127\.0\.0\.1:(\d+)"
PREFIX = "88.118.9"
PASSWORD = "backup-password-1"
SECRET = "backup-test-secret-" + "k" * 30
HEADS = ", ".join(sorted(head_revisions()))


def node_env(data_dir: Path) -> dict[str, str]:
    """The environment of a `taihu` process on the embedded SQLite database in ``data_dir``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAIHU_")}
    env.pop("FORCE_COLOR", None)
    env.update(
        TAIHU_ENV="test",
        TAIHU_DATA_DIR=str(data_dir),
        TAIHU_SECRET_KEY=SECRET,
        TAIHU_HANDLE_PORT="0",
        TAIHU_LOG_ACCESS="false",
        PYTHONUNBUFFERED="1",
        NO_COLOR="1",
        COLUMNS="200",
    )
    return env


def sqlite_url(data_dir: Path) -> str:
    """The URL of the node's database in ``data_dir``."""
    return f"sqlite+aiosqlite:///{data_dir / 'taihu.sqlite3'}"


async def _seed(url: str, devices: int, revision: str) -> tuple[list[tuple[int, str]], str]:
    """A migrated database with devices, a prefix and an admin: ([(device id, token)], bearer)."""
    db = Database(url)
    try:
        await upgrade(db, revision)
        if revision != "heads":
            return [], ""
        system = Principal.system("test")
        async with db.session() as session:
            firm = await EnterpriseService(session).create(
                system, "备份测试厂", "91320509MA0TXT010F"
            )
            registry = DeviceService(session)
            issued = [await registry.create(system, firm.id, f"dev-{i}") for i in range(devices)]
            await IdentifierService(session).create_prefix(
                system, PREFIX, enterprise_id=firm.id, admin_password=PASSWORD
            )
            accounts = AccountService(session, SecuritySettings(secret_key=SECRET))
            admin = await accounts.create_user(system, "backup-admin", PASSWORD, Role.ADMIN)
            bearer = (await accounts.create_token(system, admin)).plain
        return [(d.device.id, d.token) for d in issued], bearer
    finally:
        await db.dispose()


def seed(
    data_dir: Path, devices: int = 3, revision: str = "heads"
) -> tuple[list[tuple[int, str]], str]:
    """Seed a new node's SQLite database in ``data_dir``."""
    data_dir.mkdir(parents=True, exist_ok=True)
    return asyncio.run(_seed(sqlite_url(data_dir), devices, revision))


class Load:
    """Devices publishing QoS 1 telemetry and a client registering identifiers, in threads.

    Every point and identifier the server acknowledged is recorded, in order, as it is.
    """

    def __init__(self, url: str, mqtt_port: int, devices: list[tuple[int, str]], bearer: str):
        self.url, self.mqtt_port, self.devices, self.bearer = url, mqtt_port, devices, bearer
        self.lock = threading.Lock()
        self.points: list[tuple[int, int]] = []  # (device id, ts) acknowledged by PUBACK
        self.handles: list[str] = []  # created, answered 201
        self.failures: list[str] = []
        self.stop = threading.Event()
        self.threads = [
            threading.Thread(target=self._device, args=(n, *d), daemon=True)
            for n, d in enumerate(devices)
        ] + [threading.Thread(target=self._registrar, daemon=True)]

    def _device(self, n: int, device_id: int, token: str) -> None:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"backup-{n}")
        client.username_pw_set(token)
        client.connect("127.0.0.1", self.mqtt_port)
        client.loop_start()
        # A minute ago and on, one ms apart: within any retention (older points get deleted).
        base = int(time.time() * 1000) - 60_000
        i = 0
        try:
            while not self.stop.is_set():
                ts = base + i
                info = client.publish(
                    "v1/devices/me/telemetry", json.dumps({"ts": ts, "values": {"seq": i}}), qos=1
                )
                # One message in flight: recorded once its PUBACK is in, never before.
                info.wait_for_publish(timeout=DEADLINE)
                if not info.is_published():
                    self.failures.append(f"device {n}: no PUBACK for {ts}")
                    return
                with self.lock:
                    self.points.append((device_id, ts))
                i += 1
        except (RuntimeError, ValueError) as exc:
            self.failures.append(f"device {n}: {exc!r}")
        finally:
            client.disconnect()
            client.loop_stop()

    def _registrar(self) -> None:
        with http() as client:
            client.headers["Authorization"] = f"Bearer {self.bearer}"
            i = 0
            while not self.stop.is_set():
                handle = f"{PREFIX}/B-{i:06d}"
                body = {"values": [{"index": 1, "type": "URL", "data": f"https://b.example/{i}"}]}
                answer = client.put(f"{self.url}/api/handles/{quote(handle, safe='')}", json=body)
                if answer.status_code == 201:
                    with self.lock:
                        self.handles.append(handle)
                else:
                    self.failures.append(f"{handle}: {answer.status_code} {answer.text}")
                    return
                i += 1

    def acknowledged(self) -> tuple[set[tuple[int, int]], set[str]]:
        """What the server has acknowledged so far."""
        with self.lock:
            return set(self.points), set(self.handles)

    def wait_for(self, points: int, handles: int) -> None:
        """Until at least so many points and identifiers are acknowledged."""
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline and not self.failures:
            got_points, got_handles = self.acknowledged()
            if len(got_points) >= points and len(got_handles) >= handles:
                return
            time.sleep(0.05)
        pytest.fail(f"the load did not get going: {self.failures or self.acknowledged()}")

    @contextmanager
    def running(self) -> Iterator[Load]:
        """The load in the background for the block."""
        for thread in self.threads:
            thread.start()
        try:
            yield self
        finally:
            self.stop.set()
            for thread in self.threads:
                thread.join(timeout=DEADLINE)


def stored(data_dir: Path) -> tuple[set[tuple[int, int]], set[str]]:
    """The points and identifiers a node's database holds."""
    with closing(sqlite3.connect(data_dir / "taihu.sqlite3")) as conn:
        points = set(conn.execute("SELECT device_id, ts FROM ts_points WHERE key = 'seq'"))
        handles = {h for (h,) in conn.execute("SELECT handle FROM id_handles")}
    return points, handles


def integrity(path: Path) -> list[tuple[str]]:
    """PRAGMA integrity_check of a database file."""
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute("PRAGMA integrity_check").fetchall()


def test_a_backup_taken_under_load_restores_everything_acknowledged_before_it(
    tmp_path: Path,
) -> None:
    live, restored = tmp_path / "live", tmp_path / "restored"
    devices, bearer = seed(live)
    archive = tmp_path / "backups" / "node.tar.gz"
    args = ("serve", "--host", "127.0.0.1", "--port", "0", "--mqtt-port", "0")
    with running(*args, env=node_env(live), cwd=tmp_path) as server:
        mqtt_port = int(server.wait_for(MQTT_LINE).group(1))
        url = server.url()
        with Load(url, mqtt_port, devices, bearer).running() as load:
            load.wait_for(points=60, handles=10)
            points_before, handles_before = load.acknowledged()
            made = run("backup", str(archive), env=node_env(live), cwd=tmp_path)
            # The load kept going while the backup was made: the server was not stopped.
            load.wait_for(points=len(points_before) + 30, handles=len(handles_before) + 5)
        assert made.returncode == 0, made.stdout
        assert load.failures == []
        server.interrupt()
    assert "backup written to" in made.stdout
    assert "Traceback" not in server.output

    done = run("restore", str(archive), env=node_env(restored), cwd=tmp_path)
    assert done.returncode == 0, done.stdout
    assert integrity(restored / "taihu.sqlite3") == [("ok",)]
    points, handles = stored(restored)
    assert points_before <= points
    assert handles_before <= handles
    assert (restored / "dev-secret-key").exists() is (live / "dev-secret-key").exists()

    # The restored node serves: its schema is current and a restored identifier resolves.
    with running(*args, env=node_env(restored), cwd=tmp_path) as server, http() as client:
        url = server.url()
        assert client.get(f"{url}/readyz").json()["schema"] == HEADS
        some = sorted(handles_before)[0]
        assert client.get(f"{url}/api/handles/{some}").status_code == 200


def test_the_archive_holds_a_manifest_with_schema_time_and_checksums(tmp_path: Path) -> None:
    live = tmp_path / "live"
    seed(live, devices=1)
    (live / "tls").mkdir()
    (live / "tls" / "node.pem").write_text("-----BEGIN CERTIFICATE-----\n", encoding="ascii")
    with closing(sqlite3.connect(live / "edge-buffer.db")) as conn:  # not the server's
        conn.execute("CREATE TABLE q (x)")
    archive = tmp_path / "node.tar.gz"
    made = run("backup", str(archive), env=node_env(live), cwd=tmp_path)
    assert made.returncode == 0, made.stdout
    assert "left out edge-buffer.db" in made.stdout
    with tarfile.open(archive) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
        names = set(tar.getnames())
    assert names == {"manifest.json", "data/taihu.sqlite3", "data/tls/node.pem"}
    assert manifest["format"] == 1
    assert ", ".join(manifest["schema"]) == HEADS
    assert manifest["created_at"].endswith("+00:00")
    assert set(manifest["files"]) == {"taihu.sqlite3", "tls/node.pem"}
    assert all(len(f["sha256"]) == 64 for f in manifest["files"].values())
    assert "edge-buffer.db" in manifest["skipped"]


def test_restore_refuses_a_data_directory_in_use_or_not_empty_unless_forced(
    tmp_path: Path,
) -> None:
    live, other = tmp_path / "live", tmp_path / "other"
    seed(live, devices=1)
    seed(other, devices=2)
    archive = tmp_path / "node.tar.gz"
    assert run("backup", str(archive), env=node_env(live), cwd=tmp_path).returncode == 0
    before = (other / "taihu.sqlite3").read_bytes()

    refused = run("restore", str(archive), env=node_env(other), cwd=tmp_path)
    assert refused.returncode == 1
    assert "not empty" in refused.stdout
    assert "--force" in refused.stdout
    assert (other / "taihu.sqlite3").read_bytes() == before

    args = ("serve", "--host", "127.0.0.1", "--port", "0", "--mqtt-port", "0")
    with running(*args, env=node_env(other), cwd=tmp_path) as server:
        # The address is printed before the application starts; its pool holds the database
        # open from the startup on.
        server.wait_for("Application startup complete")
        busy = run("restore", "--force", str(archive), env=node_env(other), cwd=tmp_path)
        server.interrupt()
    assert busy.returncode == 1
    assert "in use" in busy.stdout

    forced = run("restore", "--force", str(archive), env=node_env(other), cwd=tmp_path)
    assert forced.returncode == 0, forced.stdout
    with closing(sqlite3.connect(other / "taihu.sqlite3")) as conn:
        assert conn.execute("SELECT count(*) FROM devices").fetchone() == (1,)


def test_restore_refuses_a_tampered_archive_and_writes_nothing(tmp_path: Path) -> None:
    live, target = tmp_path / "live", tmp_path / "target"
    seed(live, devices=1)
    archive = tmp_path / "node.tar.gz"
    assert run("backup", str(archive), env=node_env(live), cwd=tmp_path).returncode == 0
    tampered = tmp_path / "tampered.tar.gz"
    with tarfile.open(archive) as src, tarfile.open(tampered, "w:gz") as dst:
        for member in src:
            data = src.extractfile(member).read()  # type: ignore[union-attr]
            if member.name == "data/taihu.sqlite3":
                data = data[:-1] + bytes([data[-1] ^ 1])
            member.size = len(data)
            dst.addfile(member, io.BytesIO(data))
    refused = run("restore", str(tampered), env=node_env(target), cwd=tmp_path)
    assert refused.returncode == 1
    assert "does not match its checksum" in refused.stdout
    assert not (target / "taihu.sqlite3").exists()
    assert [p for p in target.rglob("*") if p.is_file()] == []

    garbage = tmp_path / "garbage.tar.gz"
    garbage.write_bytes(b"not an archive")
    refused = run("restore", str(garbage), env=node_env(target), cwd=tmp_path)
    assert refused.returncode == 1
    assert "not a readable backup archive" in refused.stdout


def test_restore_migrates_a_backup_of_an_older_schema(tmp_path: Path) -> None:
    old, target = tmp_path / "old", tmp_path / "target"
    seed(old, revision="0001")
    archive = tmp_path / "old.tar.gz"
    made = run("backup", str(archive), env=node_env(old), cwd=tmp_path)
    assert made.returncode == 0, made.stdout
    done = run("restore", str(archive), env=node_env(target), cwd=tmp_path)
    assert done.returncode == 0, done.stdout
    current = run("db", "current", env=node_env(target), cwd=tmp_path)
    assert f"{HEADS} (current)" in current.stdout


def test_backup_on_postgresql_points_to_the_documented_procedure(tmp_path: Path) -> None:
    env = node_env(tmp_path / "var")
    env["TAIHU_DATABASE_URL"] = "postgresql+asyncpg://postgres@127.0.0.1:5432/taihu"
    for command in (("backup",), ("restore", str(tmp_path / "x.tar.gz"))):
        (tmp_path / "x.tar.gz").write_bytes(b"")
        result = run(*command, env=env, cwd=tmp_path)
        assert result.returncode == 1
        assert "pg_dump" in result.stdout
        assert "docs/operations.md" in result.stdout
