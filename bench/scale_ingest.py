"""Scale-out ingest: persisted points/s with 1 and 2 ingest processes behind NATS JetStream.

    python bench/scale_ingest.py    # PostgreSQL, 1000 devices x 20 messages, window 10
    python bench/scale_ingest.py --db sqlite --connections 1000 --messages 20 --label loaded

Three shapes, each on a fresh database with the same MQTT load (bench/ingest_mqtt.py's load
process, imported, not copied: one device per connection, QoS 1, 10 keys per message):

    inprocess   one `taihu serve` without a bus: MQTT, ingest queue and store in one process
    bus-1       nats-server -js, `taihu serve --role transport`, one `--role ingest`
    bus-2       the same with two `--role ingest` processes sharing the durable consumer

PUBACK comes from the transport once JetStream has the message (bus) or once it is stored
(inprocess), so the clock stops when the last point is in ``ts_points`` (polled), not at the
last PUBACK. "CPU per point" adds the user + system time of every process of the shape (taihu
processes and nats-server; PostgreSQL's backends are not in it) over that interval. Results go
to bench/results/scale_ingest.json, keyed by database, size, window and ``--label``, with the
machine and its load average.
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
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import sqlalchemy as sa
import sqlalchemy.ext.asyncio

from ingest_mqtt import (  # the same devices, load process and counting as the single-server bench
    KEYS,
    PG_ADMIN,
    admin,
    count_points,
    cpu_seconds,
    load,
    prepare,
)

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "scale_ingest.json"
SHAPES = ("inprocess", "bus-1", "bus-2")
START_WAIT = 240.0  # seconds a process may take to come up on a loaded machine
POLL = 0.2  # seconds between counts of the stored points


class Process:
    """A child process whose output is read line by line in a thread; waited on by pattern."""

    def __init__(self, name: str, args: list[str], env: dict[str, str]) -> None:
        self.name = name
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self.popen = subprocess.Popen(
            args, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, start_new_session=True,
        )  # fmt: skip
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            with self._changed:
                self.lines.append(line)
                self._changed.notify_all()

    def wait_for(self, pattern: str) -> re.Match[str]:
        """The first output line matching ``pattern``; an error at exit or after START_WAIT."""
        deadline = time.monotonic() + START_WAIT
        seen = 0
        with self._changed:
            while True:
                for line in self.lines[seen:]:
                    if found := re.search(pattern, line):
                        return found
                seen = len(self.lines)
                left = deadline - time.monotonic()
                if left <= 0 or self.popen.poll() is not None:
                    output = "".join(self.lines[-30:])
                    raise RuntimeError(f"{self.name}: no line matching {pattern!r}:\n{output}")
                self._changed.wait(min(left, 1.0))

    def cpu(self) -> float:
        """CPU seconds so far (0 once it has ended)."""
        try:
            return cpu_seconds(self.popen.pid)
        except (FileNotFoundError, ProcessLookupError):
            return 0.0

    def stop(self) -> None:
        """SIGTERM, then SIGKILL for the whole session after 30 s."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=30)


def taihu_env(url: str, data_dir: Path, nats_url: str | None) -> dict[str, str]:
    """The environment of the shape's taihu processes (as bench/ingest_mqtt.py's server's)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAIHU_")}
    env.update(
        TAIHU_ENV="dev", TAIHU_DATABASE_URL=url, TAIHU_DATA_DIR=str(data_dir),
        TAIHU_LOG_LEVEL="WARNING", TAIHU_LOG_ACCESS="false", PYTHONUNBUFFERED="1", NO_COLOR="1",
        TAIHU_MQTT_MAX_CONNECTIONS_PER_TOKEN="2",  # noqa: S106 - a number, not a password
        TAIHU_DATABASE_POOL_SIZE="5", TAIHU_HANDLE_PORT="0",
    )  # fmt: skip
    if nats_url:
        env["TAIHU_CLUSTER_NATS_URLS"] = nats_url
    return env


def healthy(url: str) -> None:
    """Wait until the server answers /healthz (its hub is up: the lifespan has run)."""
    deadline = time.monotonic() + START_WAIT
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # no proxy on loopback
    while True:
        try:
            with direct.open(f"{url}/healthz", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.2)


def start_shape(shape: str, url: str, tmp: Path) -> tuple[list[Process], int, str | None]:
    """The processes of a shape, each up; the MQTT port devices connect to; the NATS URL."""
    taihu = [sys.executable, "-m", "taihu", "serve"]
    mqtt = r"MQTT device transport on mqtt://127\.0\.0\.1:(\d+)"
    processes: list[Process] = []
    try:
        if shape == "inprocess":
            env = taihu_env(url, tmp / "var", None)
            server = Process("serve", [*taihu, "--port", "0", "--mqtt-port", "0"], env)
            processes.append(server)
            port = int(server.wait_for(mqtt)[1])
            healthy(server.wait_for(r"HTTP console and APIs on (http://\S+)")[1])
            return processes, port, None
        nats = Process(
            "nats-server",
            ["nats-server", "-js", "-a", "127.0.0.1", "-p", "-1", "-sd", str(tmp / "js")],
            dict(os.environ),
        )
        processes.append(nats)
        nats_port = nats.wait_for(r"Listening for client connections on 127\.0\.0\.1:(\d+)")[1]
        nats.wait_for("Server is ready")
        nats_url = f"nats://127.0.0.1:{nats_port}"
        env = taihu_env(url, tmp / "var", nats_url)
        transport = Process("transport", [*taihu, "--role", "transport", "--mqtt-port", "0"], env)
        processes.append(transport)
        port = int(transport.wait_for(mqtt)[1])
        transport.wait_for("ready: roles transport")  # the stream exists from here
        for i in range(int(shape.split("-")[1])):
            ingest = Process(f"ingest-{i + 1}", [*taihu, "--role", "ingest"], env)
            processes.append(ingest)
            ingest.wait_for("ready: roles ingest")
        return processes, port, nats_url
    except BaseException:
        for process in reversed(processes):
            process.stop()
        raise


async def stream_state(nats_url: str) -> dict[str, int]:
    """Messages and bytes left in the device-data stream (its default name) after the run.

    A work queue holds none once everything is stored; a stream of earlier versions held all.
    """
    import nats  # noqa: PLC0415 - the server extra's client, needed by the bus shapes only

    client = await nats.connect(nats_url)
    try:
        info = await client.jetstream().stream_info("TAIHU_INGEST")
        return {"messages": info.state.messages, "bytes": info.state.bytes}
    finally:
        await client.close()


async def stored_bytes(url: str) -> int | None:
    """PostgreSQL: bytes of ts_points (its partitions, indexes included); None on SQLite."""
    if not url.startswith("postgresql"):
        return None
    engine = sa.ext.asyncio.create_async_engine(url)
    try:
        async with engine.connect() as conn:
            size = await conn.execute(
                sa.text(
                    "SELECT coalesce(sum(pg_total_relation_size(inhrelid)), 0) FROM pg_inherits "
                    "WHERE inhparent = 'ts_points'::regclass"
                )
            )
            return int(size.scalar_one())
    finally:
        await engine.dispose()


async def persisted_by(url: str, expected: int, deadline: float) -> tuple[int, float]:
    """Poll the stored points until ``expected`` are there (or the deadline): count and time."""
    while True:
        points = await count_points(url)
        now = time.perf_counter()
        if points >= expected or now > deadline:
            return points, now
        await asyncio.sleep(POLL)


async def run_shape(
    shape: str, db_kind: str, connections: int, messages: int, window: int
) -> dict[str, object]:
    """One shape on a fresh database: the figures."""
    tmp = Path(tempfile.mkdtemp(prefix="taihu-scale-"))
    if db_kind == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp / 'bench.sqlite3'}"
    else:
        name = f"taihu_scale_{secrets.token_hex(4)}"
        await admin(f'CREATE DATABASE "{name}"')
        url = str(
            sa.engine.make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)
        )
    try:
        print(f"[{shape}] registering {connections} devices on {db_kind} …", flush=True)
        tokens = await prepare(url, connections)
        processes, port, nats_url = start_shape(shape, url, tmp)
        try:
            pids = ", ".join(f"{p.name} {p.popen.pid}" for p in processes)
            print(f"[{shape}] up ({pids}), MQTT port {port}; loading …", flush=True)
            load_average_start = [round(x, 2) for x in os.getloadavg()]
            cpu_before = {p.name: p.cpu() for p in processes}
            transport = processes[0] if shape == "inprocess" else processes[1]
            result = await load(port, tokens, messages, window, transport.popen.pid)
            acked_at = time.perf_counter()
            started = acked_at - float(result["elapsed"])  # type: ignore[arg-type]
            expected = connections * messages * len(KEYS)
            points, stored_at = await persisted_by(url, expected, acked_at + 600)
            cpu = {p.name: round(p.cpu() - cpu_before[p.name], 2) for p in processes}
            stream = await stream_state(nats_url) if nats_url else None
            table_bytes = await stored_bytes(url)
        finally:
            for process in reversed(processes):
                process.stop()
    finally:
        if db_kind == "postgres":
            await admin(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
        shutil.rmtree(tmp, ignore_errors=True)
    latencies = sorted(result.pop("latencies"))  # type: ignore[call-overload]
    result.pop("elapsed")
    seconds = stored_at - started
    total_cpu = sum(cpu.values())
    return {
        "shape": shape, "database": db_kind, "connections": connections,
        "messages_per_connection": messages, "window": window, "points_expected": expected,
        "points_persisted": points, "seconds_to_last_puback": round(acked_at - started, 2),
        "seconds_to_last_stored": round(seconds, 2),
        "points_per_second": round(points / seconds) if seconds > 0 else None,
        "cpu_seconds_by_process": cpu, "cpu_us_per_point": round(total_cpu * 1e6 / points, 1)
        if points else None,
        "puback_p50_ms": round(latencies[len(latencies) // 2] * 1000, 1) if latencies else None,
        "puback_p99_ms": round(latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000, 1)
        if latencies else None,
        "puback_failures": result["puback_failures"],
        "ts_points_bytes_per_point": round(table_bytes / points, 1)
        if table_bytes and points else None,
        "stream": stream, "stream_bytes_per_point": round(stream["bytes"] / points, 1)
        if stream and stream["messages"] and points else None,  # none left: not measured
        "load_average_1_5_15_start": load_average_start,
        "load_average_1_5_15_end": [round(x, 2) for x in os.getloadavg()],
    }  # fmt: skip


def machine() -> dict[str, object]:
    """What the figures were measured on."""
    nats = subprocess.run(["nats-server", "--version"], capture_output=True, text=True, check=False)
    model = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")), platform.machine(),
    )  # fmt: skip
    return {
        "host": platform.node(), "cpu": model, "cores": os.cpu_count(),
        "python": platform.python_version(), "nats_server": nats.stdout.strip(),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=20, help="QoS 1 messages per connection")
    parser.add_argument("--window", type=int, default=10, help="unacknowledged per connection")
    parser.add_argument(
        "--shapes", default=",".join(SHAPES), help="comma-separated, of " + ", ".join(SHAPES)
    )
    parser.add_argument("--label", default="", help="suffix of the result's key (e.g. loaded)")
    args = parser.parse_args()
    shapes = [s for s in args.shapes.split(",") if s]
    if unknown := set(shapes) - set(SHAPES):
        parser.error(f"unknown shapes: {', '.join(sorted(unknown))}")
    if shutil.which("nats-server") is None and any(s != "inprocess" for s in shapes):
        print("nats-server is not installed: skipped (apt-get install nats-server)")
        return
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    figures = {
        shape: asyncio.run(run_shape(shape, args.db, args.connections, args.messages, args.window))
        for shape in shapes
    }
    for shape, row in figures.items():
        print(f"{shape:10} {row['points_per_second']!s:>8} points/s  "
              f"{row['cpu_us_per_point']!s:>6} µs CPU/point  {row['cpu_seconds_by_process']}  "
              f"persisted {row['points_persisted']}/{row['points_expected']}")  # fmt: skip
    entry = {"machine": machine(), "shapes": figures}
    key = f"{args.db}-{args.connections}x{args.messages}-w{args.window}"
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results[f"{key}-{args.label}" if args.label else key] = entry
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(f"written to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
