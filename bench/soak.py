"""Soak: a long run of mixed load against one `taihu serve`, watching memory, files and losses.

    python bench/soak.py [--minutes 30] [--sample 10] [--devices 20] [--rate 2]

Seeds a fresh SQLite data directory (one enterprise, DEVICES devices, an identifier prefix, an
admin), starts `taihu serve` on free loopback ports with its log in that directory, then runs,
from threads of this process, for MINUTES:

- DEVICES paho-mqtt clients publishing QoS 1 telemetry, RATE messages/s each (explicit `ts`);
- identifier registrations over the Handle REST API (`PUT /api/handles/…`);
- resolution of the registered identifiers over HTTP (`GET /api/handles/…`) and over UDP
  (Handle protocol RESOLUTION on the node's Handle port);
- console pages as a signed-in user (the session from the real sign-in form).

Every request has a timeout and every worker a pace, so the load is bounded in rate and time.
Every SAMPLE seconds the server's RSS and open file descriptors are read (psutil when installed,
else /proc). At the end every acknowledged point (PUBACK) and identifier (201) is looked up in
the database, and the server log is searched for ERROR lines and tracebacks. Prints the figures
and writes bench/results/soak.json (soak-MINUTESm.json for another length).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from rich.console import Console
from rich.table import Table

from taihu.accounts import AccountService, Principal, Role
from taihu.core import Database, upgrade
from taihu.devices import DeviceService
from taihu.enterprises import EnterpriseService
from taihu.identifiers import IdentifierService
from taihu.identifiers.wire import (
    Envelope,
    Header,
    Message,
    OpCode,
    ResolutionRequest,
    encode_message,
)
from taihu.settings import SecuritySettings

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "soak.json"
PREFIX = "88.118.7"
SECRET = "soak-secret-key-" + "q7Wz3kP9xL2mN8vR4tY6" * 2
PASSWORD = "soak-password-1"  # noqa: S105 - a throw-away database made by the bench
TIMEOUT = 10.0  # every request's bound
LOADS = ["mqtt", "register", "resolve_http", "resolve_udp", "console"]
PAGES = ("/", "/enterprises", "/devices", "/identifiers", "/monitor", "/industry-map", "/audit")
console = Console()


async def _seed(url: str, devices: int) -> tuple[list[tuple[int, str]], str]:
    """Migrate and seed: ([(device id, token)], bearer token of the admin)."""
    db = Database(url)
    try:
        await upgrade(db)
        system = Principal.system("soak")
        async with db.session() as session:
            firm = await EnterpriseService(session).create(
                system, "长稳测试厂", "91320509MA0TXT010F"
            )
            registry = DeviceService(session)
            issued = [await registry.create(system, firm.id, f"soak-{i}") for i in range(devices)]
            await IdentifierService(session).create_prefix(
                system, PREFIX, enterprise_id=firm.id, admin_password=PASSWORD
            )
            accounts = AccountService(session, SecuritySettings(secret_key=SECRET))
            admin = await accounts.create_user(system, "soak-admin", PASSWORD, Role.ADMIN)
            bearer = (await accounts.create_token(system, admin)).plain
        return [(d.device.id, d.token) for d in issued], bearer
    finally:
        await db.dispose()


@dataclass
class Server:
    """`taihu serve` with its log in a file, and the ports it says it bound."""

    process: subprocess.Popen[bytes]
    log: Path
    http: int
    mqtt: int
    handle: int


def _start(data_dir: Path) -> Server:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAIHU_")}
    env.update(
        TAIHU_ENV="production", TAIHU_DATA_DIR=str(data_dir), TAIHU_SECRET_KEY=SECRET,
        TAIHU_LOG_ACCESS="false", PYTHONUNBUFFERED="1", NO_COLOR="1", COLUMNS="200",
    )  # fmt: skip
    log = data_dir / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "taihu", "serve", "--host", "127.0.0.1", "--port", "0",
             "--mqtt-port", "0", "--handle-port", "0"],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        text = log.read_text(errors="replace")
        found = [
            re.search(pattern, text)
            for pattern in (
                r"HTTP console and APIs on http://127\.0\.0\.1:(\d+)",
                r"MQTT device transport on mqtt://127\.0\.0\.1:(\d+)",
                r"Handle protocol on 127\.0\.0\.1:(\d+)",
            )
        ]
        if all(found) and "Application startup complete" in text:
            http, mqtt_port, handle = (int(m[1]) for m in found if m)
            return Server(process, log, http, mqtt_port, handle)
        time.sleep(0.2)
    process.kill()
    raise SystemExit(f"taihu serve did not come up:\n{log.read_text(errors='replace')}")


@dataclass
class Tally:
    """What the load did: acknowledged writes, answers, failures, latencies."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    points: set[tuple[int, int]] = field(default_factory=set)
    handles: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)
    latency: dict[str, list[float]] = field(default_factory=dict)

    def ok(self, kind: str, seconds: float) -> None:
        """One successful request of ``kind``."""
        with self.lock:
            self.counts[kind] = self.counts.get(kind, 0) + 1
            self.latency.setdefault(kind, []).append(seconds)

    def failed(self, kind: str, why: str) -> None:
        """One failed request of ``kind``."""
        with self.lock:
            self.failures[kind] = self.failures.get(kind, 0) + 1
            if len(self.examples) < 20:
                self.examples.append(f"{kind}: {why}"[:300])

    def some_handle(self, n: int) -> str | None:
        """A registered identifier, picked by ``n``."""
        with self.lock:
            return self.handles[n % len(self.handles)] if self.handles else None


def _paced(stop: threading.Event, per_second: float, work: Callable[[int], None]) -> None:
    """Call ``work(i)`` about ``per_second`` times a second until ``stop``."""
    period = 1.0 / per_second
    started = time.monotonic()
    i = 0
    while not stop.is_set():
        work(i)
        i += 1
        stop.wait(max(0.0, started + i * period - time.monotonic()))


def _device(stop: threading.Event, server: Server, tally: Tally, n: int, device: tuple[int, str],
            rate: float) -> None:  # fmt: skip
    device_id, token = device
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"soak-{n}")
    client.username_pw_set(token)
    client.connect("127.0.0.1", server.mqtt, keepalive=30)
    client.loop_start()
    base = int(time.time() * 1000)  # ms; explicit timestamps, one per message

    def publish(i: int) -> None:
        # One message in flight per device: what is recorded as acknowledged is exactly what
        # got its PUBACK.
        ts = base + i
        payload = json.dumps({"ts": ts, "values": {"seq": i, "temp": 20 + i % 10}})
        started = time.monotonic()
        info = client.publish("v1/devices/me/telemetry", payload, qos=1)
        try:
            info.wait_for_publish(timeout=TIMEOUT)
        except (RuntimeError, ValueError) as exc:
            tally.failed("mqtt", repr(exc))
            return
        if info.is_published():
            tally.ok("mqtt", time.monotonic() - started)
            with tally.lock:
                tally.points.add((device_id, ts))
        else:
            tally.failed("mqtt", f"no PUBACK within {TIMEOUT} s (rc {info.rc})")

    try:
        _paced(stop, rate, publish)
    finally:
        client.disconnect()
        client.loop_stop()


def _registrar(stop: threading.Event, server: Server, tally: Tally, bearer: str) -> None:
    base = f"http://127.0.0.1:{server.http}"
    with httpx.Client(trust_env=False, timeout=TIMEOUT) as client:
        client.headers["Authorization"] = f"Bearer {bearer}"

        def register(i: int) -> None:
            handle = f"{PREFIX}/S-{i:07d}"
            body = {"values": [{"index": 1, "type": "URL", "data": f"https://soak.example/{i}"}]}
            started = time.monotonic()
            try:
                answer = client.put(f"{base}/api/handles/{quote(handle, safe='')}", json=body)
            except httpx.HTTPError as exc:
                tally.failed("register", repr(exc))
                return
            if answer.status_code == 201:
                tally.ok("register", time.monotonic() - started)
                with tally.lock:
                    tally.handles.append(handle)
            else:
                tally.failed("register", f"{answer.status_code} {answer.text}")

        _paced(stop, 5, register)


def _resolver_http(stop: threading.Event, server: Server, tally: Tally) -> None:
    base = f"http://127.0.0.1:{server.http}"
    with httpx.Client(trust_env=False, timeout=TIMEOUT) as client:

        def resolve(i: int) -> None:
            handle = tally.some_handle(i * 7919)
            if handle is None:
                return
            started = time.monotonic()
            try:
                answer = client.get(f"{base}/api/handles/{handle}")
            except httpx.HTTPError as exc:
                tally.failed("resolve_http", repr(exc))
                return
            if answer.status_code == 200 and answer.json().get("handle") == handle:
                tally.ok("resolve_http", time.monotonic() - started)
            else:
                tally.failed("resolve_http", f"{answer.status_code} {answer.text}")

        _paced(stop, 20, resolve)


def _resolver_udp(stop: threading.Event, server: Server, tally: Tally) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.connect(("127.0.0.1", server.handle))
        sock.settimeout(2.0)

        def resolve(i: int) -> None:
            handle = tally.some_handle(i * 104_729)
            if handle is None:
                return
            request_id = i + 1
            request = Message(
                Envelope(request_id), Header(OpCode.RESOLUTION), ResolutionRequest(handle)
            )
            started = time.monotonic()
            sock.send(encode_message(request))
            try:
                while True:  # skip a late answer to an earlier request
                    reply = sock.recv(65_536)
                    if int.from_bytes(reply[8:12], "big") == request_id:
                        break
            except TimeoutError:
                tally.failed("resolve_udp", "no answer within 2 s")
                return
            if reply[24:28] == b"\x00\x00\x00\x01":
                tally.ok("resolve_udp", time.monotonic() - started)
            else:
                tally.failed("resolve_udp", f"response code {reply[24:28].hex()}")

        _paced(stop, 20, resolve)


def _console(stop: threading.Event, server: Server, tally: Tally) -> None:
    base = f"http://127.0.0.1:{server.http}"
    with httpx.Client(trust_env=False, timeout=TIMEOUT, base_url=base) as client:
        form = client.get("/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        signed_in = client.post(
            "/login",
            data={"username": "soak-admin", "password": PASSWORD, "csrf": csrf[1] if csrf else ""},
        )
        if signed_in.status_code != 303:
            tally.failed("console", f"sign-in answered {signed_in.status_code}")
            return

        def page(i: int) -> None:
            path = PAGES[i % len(PAGES)]
            started = time.monotonic()
            try:
                answer = client.get(path)
            except httpx.HTTPError as exc:
                tally.failed("console", f"{path}: {exc!r}")
                return
            if answer.status_code == 200 and "/login" not in str(answer.url):
                tally.ok("console", time.monotonic() - started)
            else:
                tally.failed("console", f"{path}: {answer.status_code}")

        _paced(stop, 2, page)


def _process_sample(pid: int) -> dict[str, float]:
    """The server's RSS and its anonymous part in MB, and its open file descriptors.

    psutil when it is installed, else /proc; the anonymous part (the heap, as opposed to mapped
    files such as the database) only where /proc has it.
    """
    sample: dict[str, float] = {}
    try:
        import psutil  # noqa: PLC0415 - optional
    except ImportError:
        psutil = None
    if psutil is not None:
        process = psutil.Process(pid)
        sample = {"rss_mb": process.memory_info().rss / 2**20, "fds": process.num_fds()}
    status = Path(f"/proc/{pid}/status")
    if status.exists():
        fields = dict(re.findall(r"^(\w+):\s+(\d+) kB", status.read_text(), re.MULTILINE))
        sample.setdefault("rss_mb", int(fields["VmRSS"]) / 1024)
        if "RssAnon" in fields:
            sample["anon_mb"] = int(fields["RssAnon"]) / 1024
        sample.setdefault("fds", sum(1 for _ in Path(f"/proc/{pid}/fd").iterdir()))
    return {k: round(v, 1) if k != "fds" else int(v) for k, v in sample.items()}


def _slope_per_hour(samples: list[dict[str, Any]], key: str) -> float:
    """Least-squares slope of ``key`` over time, per hour, after the first fifth (warm-up)."""
    kept = samples[len(samples) // 5 :]
    if len(kept) < 3:
        return 0.0
    xs = [s["t"] for s in kept]
    ys = [s[key] for s in kept]
    slope = statistics.linear_regression(xs, ys).slope
    return round(slope * 3600, 2)


def _stored(database: Path) -> tuple[set[tuple[int, int]], set[str]]:
    with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30)) as conn:
        points = set(conn.execute("SELECT device_id, ts FROM ts_points WHERE key = 'seq'"))
        handles = {h for (h,) in conn.execute("SELECT handle FROM id_handles")}
    return points, handles


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1)


def main() -> None:  # noqa: PLR0915 - one run, read top to bottom
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--sample", type=float, default=10, help="Seconds between samples.")
    parser.add_argument("--devices", type=int, default=20)
    parser.add_argument("--rate", type=float, default=2, help="Messages/s per device.")
    parser.add_argument("--keep", action="store_true", help="Keep the data directory.")
    parser.add_argument(
        "--only", nargs="+", choices=LOADS, default=LOADS, help="Run only these parts of the load."
    )
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="taihu-soak-"))
    console.print(f"data directory {data_dir}")
    devices, bearer = asyncio.run(
        _seed(f"sqlite+aiosqlite:///{data_dir / 'taihu.sqlite3'}", args.devices)
    )
    server = _start(data_dir)
    console.print(
        f"taihu serve (pid {server.process.pid}): HTTP {server.http}, MQTT {server.mqtt}, "
        f"Handle {server.handle}"
    )
    tally = Tally()
    stop = threading.Event()
    workers = [
        threading.Thread(target=_device, args=(stop, server, tally, n, d, args.rate))
        for n, d in enumerate(devices)
        if "mqtt" in args.only
    ] + [
        threading.Thread(target=work, args=(stop, server, tally, *extra))
        for kind, work, extra in (
            ("register", _registrar, (bearer,)),
            ("resolve_http", _resolver_http, ()),
            ("resolve_udp", _resolver_udp, ()),
            ("console", _console, ()),
        )
        if kind in args.only
    ]
    samples: list[dict[str, Any]] = []
    started = time.monotonic()
    for worker in workers:
        worker.start()
    try:
        end = started + args.minutes * 60
        while (now := time.monotonic()) < end:
            sample = _process_sample(server.process.pid)
            with tally.lock:
                counts = dict(tally.counts)
            samples.append({"t": round(now - started, 1), **sample})
            console.print(
                f"[dim]{(now - started) / 60:5.1f} min[/]  RSS {sample['rss_mb']:6.1f} MB  "
                f"(heap {sample.get('anon_mb', 0):6.1f})  fds {sample['fds']:4d}  "
                + "  ".join(f"{k} {v:,}" for k, v in sorted(counts.items())),
                highlight=False,
            )
            time.sleep(min(args.sample, max(0.0, end - time.monotonic())))
    finally:
        stop.set()
        for worker in workers:
            worker.join(timeout=60)
    elapsed = time.monotonic() - started
    samples.append({"t": round(elapsed, 1), **_process_sample(server.process.pid)})

    points, handles = _stored(data_dir / "taihu.sqlite3")
    lost_points = len(tally.points - points)
    lost_handles = len(set(tally.handles) - handles)
    server.process.send_signal(signal.SIGINT)
    try:
        server.process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        server.process.kill()
    log = server.log.read_text(errors="replace")
    errors = [line for line in log.splitlines() if " ERROR " in line or "Traceback" in line]

    kept = samples[len(samples) // 5 :]
    result = {
        "benchmark": "soak",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "minutes": round(elapsed / 60, 1),
        "devices": args.devices,
        "rate_per_device": args.rate,
        "loads": args.only,
        "requests": dict(sorted(tally.counts.items())),
        "failures": dict(sorted(tally.failures.items())),
        "failure_examples": tally.examples,
        "p50_ms": {k: _percentile(v, 0.5) for k, v in sorted(tally.latency.items())},
        "p99_ms": {k: _percentile(v, 0.99) for k, v in sorted(tally.latency.items())},
        "acknowledged_points": len(tally.points),
        "acknowledged_identifiers": len(tally.handles),
        "lost_points": lost_points,
        "lost_identifiers": lost_handles,
        "log_errors": len(errors),
        "log_error_examples": errors[:10],
        "rss_mb": {
            "first": samples[0]["rss_mb"],
            "after_warm_up": kept[0]["rss_mb"],
            "max": max(s["rss_mb"] for s in samples),
            "last": samples[-1]["rss_mb"],
            "slope_per_hour": _slope_per_hour(samples, "rss_mb"),
            "heap_slope_per_hour": _slope_per_hour(samples, "anon_mb")
            if "anon_mb" in kept[0]
            else None,
        },
        "open_files": {
            "first": samples[0]["fds"],
            "max": max(s["fds"] for s in samples),
            "last": samples[-1]["fds"],
            "slope_per_hour": _slope_per_hour(samples, "fds"),
        },
        "samples": samples,
    }
    table = Table("figure", "value", title=f"soak, {result['minutes']} min")
    for kind, count in result["requests"].items():  # type: ignore[union-attr]
        table.add_row(
            kind,
            f"{count:,} ok ({count / elapsed:.1f}/s), {tally.failures.get(kind, 0)} failed, "
            f"p50 {result['p50_ms'][kind]} ms, p99 {result['p99_ms'][kind]} ms",  # type: ignore[index]
        )
    table.add_row("acknowledged points / lost", f"{len(tally.points):,} / {lost_points}")
    table.add_row("acknowledged identifiers / lost", f"{len(tally.handles):,} / {lost_handles}")
    table.add_row("RSS MB (first, after warm-up, max, last)",
                  "{first}, {after_warm_up}, {max}, {last}".format(**result["rss_mb"]))  # type: ignore[arg-type]  # fmt: skip
    table.add_row("RSS (heap) slope after warm-up",
                  "{slope_per_hour} ({heap_slope_per_hour}) MB/h".format(**result["rss_mb"]))  # type: ignore[arg-type]  # fmt: skip
    table.add_row("open files (first, max, last)",
                  "{first}, {max}, {last}".format(**result["open_files"]))  # type: ignore[arg-type]  # fmt: skip
    table.add_row("ERROR lines / tracebacks in the log", str(len(errors)))
    console.print(table)
    for example in tally.examples[:5] + errors[:5]:
        console.print(f"[yellow]{example}[/]", highlight=False)
    name = f"soak-{args.minutes:g}m" if args.minutes != 30 else "soak"
    name += "" if set(args.only) == set(LOADS) else "-" + "-".join(sorted(args.only))
    path = RESULTS.with_stem(name)
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    console.print(f"written to {path.relative_to(ROOT)}")
    if args.keep:
        console.print(f"kept {data_dir}")
    else:
        shutil.rmtree(data_dir, ignore_errors=True)
    healthy = not (lost_points or lost_handles or errors)
    raise SystemExit(0 if healthy else 1)


if __name__ == "__main__":
    main()
