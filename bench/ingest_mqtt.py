"""MQTT ingest benchmark: a load process against `taihu serve`; persisted points are counted.

    python bench/ingest_mqtt.py --db sqlite --connections 5000 --messages 20
    python bench/ingest_mqtt.py --db postgres --connections 5000 --messages 20
    python bench/ingest_mqtt.py --db both --connections 5000 --messages 10 --window 1
    python bench/ingest_mqtt.py --db sqlite --connections 10000 --messages 0   # RSS at 10k
    python bench/ingest_mqtt.py --db sqlite --connections 1000 --messages 20 --rules 3

The server runs as its own process (`taihu serve`, one worker); this script is the load process.
It registers one device per connection, opens every connection (MQTT 5, access token as user
name), then has each publish ``--messages`` QoS 1 telemetry messages of 10 keys, keeping up to
``--window`` unacknowledged per connection. Throughput is the number of data points found in
``ts_points`` afterwards divided by the time from the first PUBLISH to the last PUBACK; PUBACK
latency is measured per message. The server's RSS is read from /proc when every connection is up
and again at the end, its CPU time (all threads) over the publishing, and the load average at
the end. Results go to bench/results/ingest_mqtt.json, one entry per database, size, window
and ``--label``. ``--rules N`` (at most 3) gives the devices' profile N alarm rules before the
server starts: a threshold with hysteresis on k0, a duration of 5 readings on k1 and a repetition
(3 times in a minute) on k2, each met by some of the devices (docs/alarms.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import resource
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson
import sqlalchemy as sa
import sqlalchemy.ext.asyncio

from taihu.accounts import Principal
from taihu.alarms import AlarmService
from taihu.core import Database, upgrade
from taihu.devices import DeviceService
from taihu.devices.mqtt import Connect, Publish, encode_packet
from taihu.enterprises import EnterpriseService

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "ingest_mqtt.json"
PG_ADMIN = os.environ.get("BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
KEYS = [f"k{i}" for i in range(10)]
TOPIC = "v1/devices/me/telemetry"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (and its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    text = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", text)[1]) / 1024  # type: ignore[index]


# The bench's rules: values are index + n/10 + j for device index, message n and key kj.
RULES = [
    {"name": "k0-high", "kind": "threshold", "key": "k0", "severity": "major",
     "spec": {"op": ">", "value": 500, "clear_op": "<", "clear_value": 400}},
    {"name": "k1-held", "kind": "duration", "key": "k1", "severity": "minor",
     "spec": {"op": ">", "value": 100, "hold_readings": 5}},
    {"name": "k2-often", "kind": "repeating", "key": "k2", "severity": "warning",
     "spec": {"op": ">", "value": 700, "repeat_count": 3, "repeat_window_seconds": 60}},
]  # fmt: skip


async def prepare(url: str, connections: int, rules: int = 0) -> list[str]:
    db = Database(url)
    try:
        await upgrade(db)
        system = Principal.system("bench")
        async with db.session() as session:
            enterprise = await EnterpriseService(session).create(
                system, "基准测试厂", "91320509MA0TXT010F"
            )
            registry = DeviceService(session)
            profile = await registry.create_profile(system, "bench", retention_days=30)
            for rule in RULES[:rules]:
                await AlarmService(session).create_rule(system, profile_id=profile.id, **rule)
            tokens = []
            for i in range(connections):
                issued = await registry.create(system, enterprise.id, f"dev-{i}", profile="bench")
                tokens.append(issued.token)
        return tokens
    finally:
        await db.dispose()


async def count_points(url: str) -> int:
    db = Database(url)
    try:
        async with db.engine.connect() as conn:
            return int((await conn.execute(sa.text("SELECT count(*) FROM ts_points"))).scalar_one())
    finally:
        await db.dispose()


async def count_alarms(url: str) -> int:
    db = Database(url)
    try:
        async with db.engine.connect() as conn:
            return int((await conn.execute(sa.text("SELECT count(*) FROM alarms"))).scalar_one())
    finally:
        await db.dispose()


async def admin(statement: str) -> None:
    engine = sa.ext.asyncio.create_async_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(sa.text(statement))
    finally:
        await engine.dispose()


def start_server(url: str, data_dir: Path) -> tuple[subprocess.Popen[str], int]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAIHU_")}
    env.update(
        TAIHU_ENV="dev", TAIHU_DATABASE_URL=url, TAIHU_DATA_DIR=str(data_dir),
        TAIHU_LOG_LEVEL="WARNING", TAIHU_LOG_ACCESS="false", PYTHONUNBUFFERED="1", NO_COLOR="1",
        TAIHU_MQTT_MAX_CONNECTIONS_PER_TOKEN="2",  # noqa: S106 - a number, not a password
        TAIHU_DATABASE_POOL_SIZE="5",
    )  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-m", "taihu", "serve", "--port", "0", "--mqtt-port", "0"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    for line in process.stdout:
        found = re.search(r"MQTT device transport on mqtt://127\.0\.0\.1:(\d+)", line)
        if found:
            return process, int(found[1])
    raise RuntimeError("the server did not start")


class LoadConnection(asyncio.Protocol):
    """One device connection of the load process: pre-encoded PUBLISHes, a window of them open.

    Lean on purpose (a protocol, no task or future per message): the load process shares the
    machine's cores with the server, so what it spends is taken from the figure measured.
    """

    def __init__(self, token: str, client_id: str, window: int, latencies: list[float]) -> None:
        self.connect_packet = encode_packet(Connect(5, client_id, 600, username=token), 5)
        self.window = window
        self.latencies = latencies
        self.messages: list[bytes] = []
        self.next = 0
        self.acked = 0
        self.sent_at: dict[int, float] = {}
        self.buffer = b""
        self.transport: asyncio.Transport | None = None
        self.connected = asyncio.get_running_loop().create_future()
        self.finished = asyncio.get_running_loop().create_future()
        self.failures = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(self.connect_packet)

    def connection_lost(self, exc: Exception | None) -> None:
        for waiter in (self.connected, self.finished):
            if not waiter.done():
                waiter.set_exception(ConnectionError(f"connection lost: {exc}"))

    def start(self) -> None:
        if not self.messages:
            self.finished.set_result(None)
            return
        self._send(min(self.window, len(self.messages)))

    def _send(self, n: int) -> None:
        assert self.transport is not None
        now = time.perf_counter()
        chunk = self.messages[self.next : self.next + n]
        for i in range(self.next, self.next + len(chunk)):
            self.sent_at[i % 65_535 + 1] = now
        self.next += len(chunk)
        self.transport.write(b"".join(chunk))

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer + data
        pos, end, more = 0, len(buffer), 0
        now = time.perf_counter()
        while end - pos >= 2:
            length = buffer[pos + 1]  # CONNACK and PUBACK bodies are under 128 bytes
            if end - pos < 2 + length:
                break
            kind = buffer[pos] >> 4
            if kind == 4:  # PUBACK: packet id, then the reason code when it is not 0
                packet_id = int.from_bytes(buffer[pos + 2 : pos + 4], "big")
                if length > 2 and buffer[pos + 4]:
                    self.failures += 1
                self.latencies.append(now - self.sent_at.pop(packet_id))
                self.acked += 1
                more += 1
            elif kind == 2 and not self.connected.done():  # CONNACK
                if buffer[pos + 3]:
                    self.connected.set_exception(ConnectionError(f"CONNACK {buffer[pos + 3]:#x}"))
                else:
                    self.connected.set_result(None)
            pos += 2 + length
        self.buffer = buffer[pos:]
        if more and self.next < len(self.messages):
            self._send(min(more, len(self.messages) - self.next))
        if self.messages and self.acked == len(self.messages) and not self.finished.done():
            self.finished.set_result(None)


def publish_packet(packet_id: int, payload: bytes) -> bytes:
    """A QoS 1 MQTT 5 PUBLISH on the telemetry topic."""
    return encode_packet(Publish(TOPIC, payload, 1, packet_id=packet_id), 5)


async def load(
    port: int, tokens: list[str], messages: int, window: int, pid: int
) -> dict[str, object]:
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    clients: list[LoadConnection] = []
    opened = time.perf_counter()
    for batch in range(0, len(tokens), 500):
        chunk = [LoadConnection(t, f"b{batch + i}", window, latencies)
                 for i, t in enumerate(tokens[batch : batch + 500])]  # fmt: skip
        await asyncio.gather(
            *(loop.create_connection(lambda c=c: c, "127.0.0.1", port) for c in chunk)  # type: ignore[misc]
        )
        await asyncio.gather(*(c.connected for c in chunk))
        clients.extend(chunk)
    connect_seconds = time.perf_counter() - opened
    rss_connected = rss_mb(pid)
    base_ts = 1_764_057_600_000
    for index, client in enumerate(clients):  # every payload is built before the clock starts
        for n in range(messages):
            values = {k: round(index + n * 0.1 + j, 3) for j, k in enumerate(KEYS)}
            payload = orjson.dumps({"ts": base_ts + n, "values": values})
            client.messages.append(publish_packet(n % 65_535 + 1, payload))
    started, server_cpu, load_cpu = time.perf_counter(), cpu_seconds(pid), time.process_time()
    for client in clients:
        client.start()
    await asyncio.gather(*(c.finished for c in clients))
    elapsed = time.perf_counter() - started
    server_cpu = cpu_seconds(pid) - server_cpu
    load_cpu = time.process_time() - load_cpu
    rss_end = rss_mb(pid)
    failures = sum(c.failures for c in clients)
    for client in clients:
        assert client.transport is not None
        client.transport.close()
    return {
        "connect_seconds": round(connect_seconds, 2), "rss_mb_connected": round(rss_connected, 1),
        "rss_mb_end": round(rss_end, 1), "elapsed": elapsed, "latencies": latencies,
        "puback_failures": failures, "server_cpu_seconds": round(server_cpu, 2),
        "load_cpu_seconds": round(load_cpu, 2),
    }  # fmt: skip


async def run(
    db_kind: str, connections: int, messages: int, window: int, rules: int = 0
) -> dict[str, object]:
    tmp = Path(tempfile.mkdtemp(prefix="taihu-bench-"))
    if db_kind == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp / 'bench.sqlite3'}"
    else:
        name = f"taihu_bench_{secrets.token_hex(4)}"
        await admin(f'CREATE DATABASE "{name}"')
        url = str(
            sa.engine.make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)
        )
    print(f"[{db_kind}] registering {connections} devices …", flush=True)
    tokens = await prepare(url, connections, rules)
    server, port = start_server(url, tmp)
    try:
        print(f"[{db_kind}] server pid {server.pid}, MQTT port {port}; loading …", flush=True)
        result = await load(port, tokens, messages, window, server.pid)
        await asyncio.sleep(0.5)
        points = await count_points(url)
        alarms = await count_alarms(url) if rules else 0
    finally:
        server.terminate()
        server.wait(timeout=60)
        if db_kind == "postgres":
            await admin(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
    latencies = sorted(result.pop("latencies"))  # type: ignore[call-overload]
    elapsed = float(result.pop("elapsed"))  # type: ignore[arg-type]
    expected = connections * messages * len(KEYS)
    figures: dict[str, object] = {"alarms_raised": alarms}
    figures |= {
        "database": db_kind, "connections": connections, "messages_per_connection": messages,
        "keys_per_message": len(KEYS), "points_expected": expected, "points_persisted": points,
        "seconds": round(elapsed, 2),
        "points_per_second": round(points / elapsed) if messages else None,
        "server_cpu_us_per_point": round(float(result["server_cpu_seconds"]) * 1e6 / points, 1)  # type: ignore[arg-type]
        if points else None,
        "puback_p50_ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
        "puback_p99_ms": round(latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000, 1)
        if latencies else None,
        **result,
        "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
        "machine": f"{platform.node()}, {os.cpu_count()} cores, {platform.python_version()}",
    }  # fmt: skip
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--connections", type=int, default=5000)
    parser.add_argument("--messages", type=int, default=20, help="QoS 1 messages per connection")
    parser.add_argument("--window", type=int, default=10, help="unacknowledged per connection")
    parser.add_argument("--label", default="", help="suffix of the result's key (e.g. before)")
    parser.add_argument("--rules", type=int, default=0, choices=range(4),
                        help="alarm rules on the devices' profile (0-3)")  # fmt: skip
    args = parser.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    for kind in ["sqlite", "postgres"] if args.db == "both" else [args.db]:
        figures = asyncio.run(run(kind, args.connections, args.messages, args.window, args.rules))
        figures["rules"] = args.rules
        print(json.dumps(figures, indent=2), flush=True)
        figures["window"] = args.window
        key = f"{kind}-{args.connections}x{args.messages}-w{args.window}"
        results[f"{key}-{args.label}" if args.label else key] = figures
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
