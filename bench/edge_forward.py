"""Edge gateway benchmark: readings/s forwarded end to end, and the drain of an outage backlog.

    python bench/edge_forward.py                       # both parts, mosquitto as the uplink
    python bench/edge_forward.py --sink hub            # `taihu serve` (SQLite) as the uplink

Devices: ``--devices`` Modbus TCP simulators (pymodbus) in a process of their own, each with
``--registers`` holding registers read as one poll group every 1/``--rate`` s. The gateway runs
in this process, pinned to one core (``os.sched_setaffinity``), with store-and-forward on:
every reading is committed to the SQLite buffer before it is sent and deleted on PUBACK.

Part 1 (throughput): after a warm-up, readings appended to and sent from the buffer over
``--seconds``; a sent reading is one whose PUBACK came back. Uplink: a mosquitto broker (acks
at once, so the gateway is what is measured) or the hub (whose store bounds it).

Part 2 (drain): a backlog of ``--outage`` seconds of readings at ``--backlog-rate`` readings/s
is put in the buffer, then the gateway starts with its devices polling live at that same rate
and its pace set to ``--limit`` (as the hub would advertise it); the figure is the time until
the backlog is gone (buffer back below one second of live readings).
Results go to bench/results/edge_forward.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from taihu.demo.simulators import ModbusSimulator
from taihu.edge import EdgeConfig, EdgeGateway
from taihu.edge.buffer import Buffer

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "edge_forward.json"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _devices(count: int, registers: int, conn: Any) -> None:
    """The simulated devices' process: start them, send their ports, serve until killed."""

    async def main() -> None:
        sims = [ModbusSimulator(size=registers + 8) for _ in range(count)]
        for i, sim in enumerate(sims):
            for a in range(registers):
                sim.set("holding", a, (a * 7 + i) % 65536)
        ports = [await sim.start() for sim in sims]
        conn.send(ports)
        await asyncio.Event().wait()

    asyncio.run(main())


def start_devices(count: int, registers: int) -> tuple[multiprocessing.Process, list[int]]:
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    process = ctx.Process(target=_devices, args=(count, registers, child), daemon=True)
    process.start()
    return process, parent.recv()


def start_mosquitto(folder: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    conf = folder / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\n")
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    process = subprocess.Popen([binary, "-c", str(conf)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)  # fmt: skip
    for _ in range(200):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.05)
    return process, port


def start_hub(folder: Path) -> tuple[subprocess.Popen[str], int, str]:
    """`taihu serve` on a fresh SQLite database, with a gateway device; its MQTT port, token."""
    url = f"sqlite+aiosqlite:///{folder / 'hub.sqlite3'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAIHU_")}
    env.update(TAIHU_DATABASE_URL=url, TAIHU_SECRET_KEY="k" * 40, TAIHU_ENV="dev",
               TAIHU_DATA_DIR=str(folder / "var"), NO_COLOR="1", PYTHONUNBUFFERED="1")  # fmt: skip
    taihu = [sys.executable, "-m", "taihu"]
    subprocess.run([*taihu, "db", "upgrade"], env=env, check=True, capture_output=True)
    code = "91320509MA0TXT010F"
    subprocess.run([*taihu, "enterprise", "create", "基准测试厂", "--credit-code", code],
                   env=env, check=True, capture_output=True)  # fmt: skip
    created = subprocess.run(
        [*taihu, "device", "create", "bench-gw", "--enterprise", code,
         "--gateway"], env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    token = created.stdout.strip().splitlines()[-1]
    serve = [*taihu, "serve", "--port", "0", "--mqtt-port", "0"]
    process = subprocess.Popen(serve, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)  # fmt: skip
    assert process.stdout is not None
    for line in process.stdout:
        if match := re.search(r"mqtt://127\.0\.0\.1:(\d+)", line):
            return process, int(match.group(1)), token
    raise RuntimeError("taihu serve did not start")


def config(args: argparse.Namespace, folder: Path, port: int, token: str,
           ports: list[int], rate: float, limit: str = "") -> EdgeConfig:  # fmt: skip
    points = [{"key": f"r{a}", "address": a} for a in range(args.registers)]
    return EdgeConfig.model_validate({
        "uplink": {"host": "127.0.0.1", "port": port, "token": token, "max_batch": args.batch,
                   "max_inflight": args.inflight, "rate_limits": limit,
                   "backoff": {"initial": 0.1, "max": 1}},
        "buffer": {"path": str(folder / "buffer.db")},
        "health": {"enabled": False},
        "devices": [{"name": f"meter-{i}", "connector": "modbus", "host": "127.0.0.1", "port": p,
                     "groups": [{"interval": 1 / rate, "points": points}]}
                    for i, p in enumerate(ports)],
    })  # fmt: skip


async def measure(gateway: EdgeGateway, warmup: float, seconds: float) -> dict[str, Any]:
    task = asyncio.create_task(gateway.run())
    try:
        while not gateway.buffer.stats().counters["sent"]:  # noqa: ASYNC110 - polled figures
            await asyncio.sleep(0.2)
        await asyncio.sleep(warmup)
        c0, t0, cpu0 = gateway.buffer.stats().counters, time.monotonic(), time.process_time()
        await asyncio.sleep(seconds)
        c1, t1, cpu1 = gateway.buffer.stats().counters, time.monotonic(), time.process_time()
        depth = gateway.buffer.depth
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    elapsed = t1 - t0
    return {
        "seconds": round(elapsed, 2),
        "appended_per_s": round((c1["appended"] - c0["appended"]) / elapsed),
        "sent_per_s": round((c1["sent"] - c0["sent"]) / elapsed),
        "gateway_cpu_share": round((cpu1 - cpu0) / elapsed, 2),
        "depth_at_end": depth,
        "rejected": c1["rejected"], "dropped": c1["dropped_full"] + c1["dropped_age"],
    }  # fmt: skip


async def drain(gateway: EdgeGateway, live: float) -> dict[str, Any]:
    backlog = gateway.buffer.depth
    t0 = time.monotonic()
    task = asyncio.create_task(gateway.run())
    try:
        while gateway.buffer.depth > max(live, 1):  # noqa: ASYNC110 - polled figures
            await asyncio.sleep(0.5)
        seconds = time.monotonic() - t0
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    return {"backlog": backlog, "drain_seconds": round(seconds, 1),
            "rate_limited": gateway.status.uplink.rate_limited,
            "limits": gateway.status.uplink.limits}  # fmt: skip


def prefill(path: Path, args: argparse.Namespace) -> int:
    """The backlog an outage leaves: readings of the last ``--outage`` seconds."""
    count = int(args.outage * args.backlog_rate)
    buffer = Buffer(path)
    start_ms = int(time.time() * 1000) - int(args.outage * 1000)
    step = args.outage * 1000 / count
    for start in range(0, count, 100_000):
        buffer.append([(f"meter-{i % args.devices}", start_ms + int(i * step), "r0", i)
                       for i in range(start, min(count, start + 100_000))])  # fmt: skip
    buffer.close()
    return count


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:  # noqa: PLR0915 - a script's steps, in order
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sink", choices=["mosquitto", "hub"], default="mosquitto")
    parser.add_argument("--devices", type=int, default=20)
    parser.add_argument("--registers", type=int, default=100)
    parser.add_argument("--rate", type=float, default=10.0, help="polls per second per device")
    parser.add_argument("--batch", type=int, default=1000, help="readings per message at most")
    parser.add_argument("--inflight", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--outage", type=float, default=600.0, help="backlog: seconds of outage")
    parser.add_argument("--backlog-rate", type=float, default=1000.0, help="readings/s")
    parser.add_argument("--limit", default="20:1,600:60", help="advertised messages limit")
    parser.add_argument("--cpu", type=int, default=1, help="the core the gateway runs on")
    parser.add_argument("--skip-drain", action="store_true")
    args = parser.parse_args()
    os.sched_setaffinity(0, {args.cpu})
    results: dict[str, Any] = {"machine": f"{platform.machine()}, {os.cpu_count()} cores",
                               "python": platform.python_version(), "args": vars(args)}  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        devices, ports = start_devices(args.devices, args.registers)
        if args.sink == "hub":
            sink, port, token = start_hub(folder)
        else:
            sink, port = start_mosquitto(folder)
            token = "bench"  # noqa: S105 - mosquitto takes any user name
        try:
            offered = args.devices * args.registers * args.rate
            print(
                f"throughput: {args.devices} devices x {args.registers} registers x "
                f"{args.rate:g}/s = {offered:,.0f} readings/s offered, uplink {args.sink}"
            )
            gateway = EdgeGateway(config(args, folder / "t", port, token, ports, args.rate))
            part1 = asyncio.run(measure(gateway, args.warmup, args.seconds))
            part1.update(offered_per_s=round(offered), load_average=load())
            print(json.dumps(part1, ensure_ascii=False))
            results["throughput"] = part1
            if not args.skip_drain:
                rate = args.backlog_rate / args.registers / args.devices
                d_config = config(args, folder / "d", port, token, ports, rate, args.limit)
                count = prefill(d_config.buffer.path, args)
                print(
                    f"drain: {count:,} readings of a {args.outage:g} s outage, live "
                    f"{args.backlog_rate:g} readings/s, limit {args.limit}, batch {args.batch}"
                )
                part2 = asyncio.run(drain(EdgeGateway(d_config), args.backlog_rate))
                part2.update(load_average=load())
                print(json.dumps(part2, ensure_ascii=False))
                results["drain"] = part2
        finally:
            sink.terminate()
            sink.wait(timeout=30)
            devices.kill()
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    kept = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    kept[args.sink] = results  # one entry per uplink
    RESULTS.write_text(json.dumps(kept, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
