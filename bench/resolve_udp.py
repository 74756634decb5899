"""Handle protocol resolution over UDP against one `taihu serve` process, and a DNS ceiling.

    python bench/resolve_udp.py [--count 1000000] [--seconds 20] [--inflight 128] [--no-dns]
                                [--workers 1] [--client python|udpload]

Loads COUNT identifiers (5 values each) into a fresh SQLite database, starts `taihu serve`
(``--workers 1``: one process, HTTP, MQTT and the Handle listeners in one event loop; more: the
supervisor and every worker answer UDP on one SO_REUSEPORT port), then a separate load process
sends RESOLUTION requests over UDP for uniformly random keys, keeping INFLIGHT requests
outstanding from one non-blocking socket. Reports resolutions/s, p50/p99 latency, the CPU the
server used (all its processes: cores, and microseconds per resolution) and the CPU of the load
process itself, which shares the machine: it must stay well under the server's share to measure
the server.

``--client udpload`` uses ``../shared/tools/udpload.c`` (compiled with gcc into a temporary
directory) instead of the Python load process: the C client issue #18's Handle.Net figures were
measured with, public-only flag set, replies lost after 250 ms.

The ceiling: an authoritative DNS server on the same machine, NSD answering a one-record zone to
`dnsperf` on loopback (Debian packages; install them with `apt-get install nsd dnsperf`, the
script skips the ceiling when they are missing). Our figure is reported as a ratio of it.

Prints the figures and writes bench/results/resolve_udp.json (resolve_udp-COUNT.json for
another COUNT).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import platform
import random
import re
import selectors
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from resolve_http import (
    PREFIX,
    _check_record_shape,
    _free_port,
    _serve,
    _server_cpu_seconds,
    _setup,
)
from taihu.identifiers.wire import (
    Envelope,
    Header,
    Message,
    OpCode,
    ResolutionRequest,
    encode_message,
)

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "resolve_udp.json"
_SUFFIX = "B0000000"
_LOST_AFTER = 1.0
UDPLOAD = ROOT.parent / "shared" / "tools" / "udpload.c"


def _template() -> tuple[bytearray, int]:
    """A RESOLUTION request for PREFIX/B0000000, and where its seven digits sit."""
    message = Message(
        Envelope(1), Header(OpCode.RESOLUTION), ResolutionRequest(f"{PREFIX}/{_SUFFIX}")
    )
    data = bytearray(encode_message(message))
    return data, data.index(_SUFFIX.encode()) + 1


def _receive(
    sock: socket.socket, pending: dict[int, float], latencies: list[float]
) -> tuple[int, int]:
    """Read every reply waiting: (successes, other response codes)."""
    ok = failed = 0
    while True:
        try:
            reply = sock.recv(4096)
        except BlockingIOError:
            return ok, failed
        (rid,) = struct.unpack_from(">I", reply, 8)
        sent = pending.pop(rid, None)
        if sent is None:
            continue
        latencies.append(time.perf_counter() - sent)
        if reply[24:28] == b"\x00\x00\x00\x01":
            ok += 1
        else:
            failed += 1


def load(port: int, count: int, seconds: float, inflight: int, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    """The load process: uniform random keys over UDP, INFLIGHT outstanding, for SECONDS."""
    data, digits = _template()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
    sock.connect(("127.0.0.1", port))
    sock.setblocking(False)  # noqa: FBT003 - the socket API takes a bare flag
    selector = selectors.DefaultSelector()
    selector.register(sock, selectors.EVENT_READ)
    rng = random.Random(2641)
    pending: dict[int, float] = {}
    latencies: list[float] = []
    ok = failed = lost = 0
    request_id = 0
    clock = time.perf_counter
    warmup_end = clock() + 2.0
    end = warmup_end + seconds
    measuring = False
    while True:
        now = clock()
        if now >= end:
            break
        if not measuring and now >= warmup_end:
            measuring, latencies, ok, failed, lost = True, [], 0, 0, 0
        while len(pending) < inflight:
            request_id = request_id % 0x7FFF_FFFF + 1
            struct.pack_into(">I", data, 8, request_id)
            data[digits : digits + 7] = b"%07d" % rng.randrange(count)
            sock.send(data)
            pending[request_id] = clock()
        if selector.select(0.05):
            answered, refused = _receive(sock, pending, latencies)
            ok, failed = ok + answered, failed + refused
        now = clock()
        if len(pending) >= inflight:
            stale = [rid for rid, sent in pending.items() if now - sent > _LOST_AFTER]
            for rid in stale:
                del pending[rid]
            lost += len(stale)
    latencies.sort()
    out.put({
        "resolutions_per_s": ok / seconds,
        "failed": failed,
        "lost": lost,
        "p50_ms": latencies[len(latencies) // 2] * 1000 if latencies else None,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000 if latencies else None,
    })  # fmt: skip


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _free_udp_tcp_port() -> int:
    while True:
        port = _free_port()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            try:
                udp.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port


def _python_client(
    port: int, count: int, seconds: float, inflight: int, server_pid: int
) -> dict[str, object]:
    queue: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    worker = multiprocessing.Process(target=load, args=(port, count, seconds, inflight, queue))
    worker.start()
    time.sleep(2.0)  # the load process warms up for two seconds before measuring
    assert worker.pid is not None
    cpu_before, wall_before = _server_cpu_seconds(server_pid), time.perf_counter()
    load_before = _cpu_seconds(worker.pid)
    # Read both just before the load process ends its measured interval.
    time.sleep(max(seconds - 0.2, 0.1))
    wall = time.perf_counter() - wall_before
    cpu = (_server_cpu_seconds(server_pid) - cpu_before) / wall
    load_cpu = (_cpu_seconds(worker.pid) - load_before) / wall
    figures: dict[str, object] = queue.get(timeout=seconds + 60)
    worker.join()
    figures["server_cores"], figures["load_process_cores"] = cpu, load_cpu
    return figures


def _udpload_client(
    port: int, count: int, seconds: float, inflight: int, server_pid: int, tmp: Path
) -> dict[str, object]:
    binary = tmp / "udpload"
    subprocess.run(["gcc", "-O2", "-o", str(binary), str(UDPLOAD)], check=True)
    names = tmp / "names.txt"
    names.write_text("".join(f"{PREFIX}/B{n:07d}\n" for n in range(count)))
    client = subprocess.Popen(
        [str(binary), "127.0.0.1", str(port), str(names), str(seconds), str(inflight), "2"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    time.sleep(2.0)  # udpload warms up for two seconds before measuring
    cpu_before, wall_before = _server_cpu_seconds(server_pid), time.perf_counter()
    time.sleep(max(seconds - 0.2, 0.1))
    wall = time.perf_counter() - wall_before
    cpu = (_server_cpu_seconds(server_pid) - cpu_before) / wall
    out, _ = client.communicate(timeout=seconds + 60)
    result = json.loads(out)
    return {
        "resolutions_per_s": result["answers_per_s"],
        "failed": result["answers"] - result["rc1"],
        "lost": result["lost"],
        "p50_ms": result["p50_ms"],
        "p99_ms": result["p99_ms"],
        "server_cores": cpu,
        "load_process_cores": result["load_cpu_s"] / seconds,
    }


def _handle_bench(
    count: int, seconds: float, inflight: int, *, workers: int = 1, client: str = "python"
) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/bench.db"
        print(f"loading {count:,} identifiers into SQLite …")
        setup_seconds, _token = asyncio.run(_setup(url, count))
        http_port, handle_port = _free_port(), _free_udp_tcp_port()
        # All the load comes from one address: its UDP byte budget is still checked on every
        # reply (that cost is measured) but set far above what the load can spend.
        unbound = {
            "TAIHU_HANDLE_UDP_SOURCE_BYTES_PER_SECOND": str(10**12),
            "TAIHU_HANDLE_UDP_SOURCE_BURST_BYTES": str(10**12),
        }
        server = _serve(
            url, Path(tmp) / "var", http_port, workers=workers, handle_port=handle_port,
            settings=unbound,
        )  # fmt: skip
        try:
            if client == "udpload":
                figures = _udpload_client(
                    handle_port, count, seconds, inflight, server.pid, Path(tmp)
                )
            else:
                figures = _python_client(handle_port, count, seconds, inflight, server.pid)
        finally:
            os.killpg(server.pid, signal.SIGINT)
            server.wait(timeout=30)
    rate = float(figures["resolutions_per_s"])  # type: ignore[arg-type]
    cpu, load_cpu = float(figures["server_cores"]), float(figures["load_process_cores"])  # type: ignore[arg-type]
    figures["server_cores"] = round(cpu, 2)
    figures["server_cpu_us_per_resolution"] = round(cpu / rate * 1e6, 1) if rate else None
    figures["load_process_cores"] = round(load_cpu, 2)
    figures["load_process_cpu_us_per_request"] = round(load_cpu / rate * 1e6, 1) if rate else None
    figures["setup_seconds"] = round(setup_seconds, 1)
    figures["workers"], figures["client"] = workers, client
    return figures


_ZONE = """$ORIGIN bench.test.
$TTL 86400
@ IN SOA ns.bench.test. admin.bench.test. (1 3600 600 86400 60)
@ IN NS ns.bench.test.
ns IN A 127.0.0.1
www IN A 192.0.2.1
"""


def _dns_ceiling(seconds: float) -> dict[str, object] | None:
    nsd, dnsperf = shutil.which("nsd") or "/usr/sbin/nsd", shutil.which("dnsperf")
    if not Path(nsd).exists() or dnsperf is None:
        print("nsd/dnsperf not installed (apt-get install nsd dnsperf): no DNS ceiling")
        return None
    with tempfile.TemporaryDirectory() as tmp:
        port = _free_udp_tcp_port()
        Path(tmp, "bench.zone").write_text(_ZONE)
        Path(tmp, "nsd.conf").write_text(
            f'server:\n  ip-address: 127.0.0.1@{port}\n  server-count: 1\n  username: ""\n'
            f'  zonesdir: "{tmp}"\n  pidfile: "{tmp}/nsd.pid"\n  database: ""\n'
            f'  xfrdfile: "{tmp}/xfrd.state"\n  zonelistfile: "{tmp}/zone.list"\n'
            # Response rate limiting off: it would throttle a benchmark's single source address.
            f'  logfile: "{tmp}/nsd.log"\n  verbosity: 0\n  rrl-ratelimit: 0\n'
            "remote-control:\n  control-enable: no\n"
            f'zone:\n  name: bench.test.\n  zonefile: "bench.zone"\n'
        )
        Path(tmp, "queries").write_text("www.bench.test A\n")
        daemon = subprocess.Popen([nsd, "-d", "-c", f"{tmp}/nsd.conf"], start_new_session=True)
        try:
            time.sleep(1.5)
            out = subprocess.run(
                [dnsperf, "-s", "127.0.0.1", "-p", str(port), "-d", f"{tmp}/queries",
                 "-l", str(int(seconds)), "-q", "128", "-c", "1"],
                capture_output=True, text=True, check=True,
            ).stdout  # fmt: skip
        finally:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(timeout=10)
    rate = float(re.search(r"Queries per second:\s+([\d.]+)", out)[1])  # type: ignore[index]
    latency = re.search(r"Average Latency \(s\):\s+([\d.]+)", out)
    return {
        "queries_per_s": rate,
        "avg_latency_ms": float(latency[1]) * 1000 if latency else None,
        "server": "nsd (1 server process)",
        "client": "dnsperf -q 128 -c 1",
    }


def main() -> None:
    """Run the benchmark and write the results."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--inflight", type=int, default=128)
    parser.add_argument("--no-dns", action="store_true", help="Skip the NSD ceiling.")
    parser.add_argument("--workers", type=int, default=1, help="taihu serve --workers N.")
    parser.add_argument(
        "--client", choices=("python", "udpload"), default="python",
        help="The load client: this script's Python process or ../shared/tools/udpload.c.",
    )  # fmt: skip
    args = parser.parse_args()
    _check_record_shape()
    handle = _handle_bench(
        args.count, args.seconds, args.inflight, workers=args.workers, client=args.client
    )
    print(f"Handle/UDP: {handle}")
    dns = None if args.no_dns else _dns_ceiling(args.seconds)
    if dns:
        print(f"NSD/dnsperf: {dns}")
    load_average = os.getloadavg()
    result = {
        "benchmark": "resolve_udp",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
        "load_average": [round(x, 2) for x in load_average],
        "count": args.count,
        "seconds": args.seconds,
        "inflight": args.inflight,
        "handle_udp": handle,
        "dns_ceiling": dns,
        "ratio_to_dns": (
            round(float(handle["resolutions_per_s"]) / float(dns["queries_per_s"]), 3)  # type: ignore[arg-type]
            if dns
            else None
        ),
    }
    stem = "resolve_udp" + (f"-{args.count}" if args.count != 1_000_000 else "")
    stem += (f"-w{args.workers}" if args.workers != 1 else "") + (
        "-udpload" if args.client == "udpload" else ""
    )
    path = RESULTS.with_stem(stem)
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"load average {load_average}; written to {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
