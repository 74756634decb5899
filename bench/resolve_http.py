"""Handle REST resolution and SNMS batch registration against a real `taihu serve --workers 2`.

    python bench/resolve_http.py [--db sqlite|postgresql|both] [--count 1000000] [--seconds 20]

Loads COUNT identifiers (5 values each, one enterprise prefix) into a fresh database, starts
`taihu serve --workers 2` on a free port, then from separate processes:

1. resolution: `wrk -t2 -c64` with uniform random keys over all COUNT identifiers
   (`GET /api/handles/88.118.8/B…`), reporting requests/s and p50/p99 latency;
2. registration: concurrent `POST /identityv2/data/batchCreate` of 2,000 new identifiers each
   (after eight warm-up batches that are not counted), reporting identifiers registered per
   second.

Prints the figures and writes bench/results/resolve_http.json. Needs `wrk` (Debian package).
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
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson
import sqlalchemy as sa

from taihu.accounts import AccountService, Principal, Role
from taihu.core import Database, upgrade
from taihu.identifiers import HandleRow, HandleValue, IdentifierService
from taihu.identifiers.records.wire_values import stored_columns, wire_answer
from taihu.settings import SecuritySettings

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "resolve_http.json"
PREFIX = "88.118.8"
PG_ADMIN = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
BENCH_DATABASE = f"taihu_bench_{os.getpid()}"  # two runs at once must not share it
SECRET = "bench-secret-key-" + "q7Wz3kP9xL2mN8vR4tY6" * 2
PASSWORD = "bench-password-1"  # noqa: S105 - a throw-away database made by the bench
STAMP = "2026-11-25T08:00:00Z"
_WARM_UP_BATCHES = 8


def _record(n: int) -> str:
    # The stored form stored_columns writes, built as text: a million HandleValue objects would
    # make the set-up slower than the benchmark. _check_record_shape proves the two identical.
    return (
        '[{"index":1,"type":"URL","data":{"format":"string","value":"https://lift.example/B'
        f'{n:07d}"}},"ttl":86400,"timestamp":"{STAMP}","permissions":"1110"}},'
        '{"index":2,"type":"model","data":{"format":"string","value":"HL-2000"},"ttl":86400,'
        f'"timestamp":"{STAMP}","permissions":"1110"}},'
        '{"index":3,"type":"batch","data":{"format":"string","value":"2026-B07"},"ttl":86400,'
        f'"timestamp":"{STAMP}","permissions":"1110"}},'
        '{"index":4,"type":"serialNumber","data":{"format":"string","value":"SN'
        f'{n:07d}"}},"ttl":86400,"timestamp":"{STAMP}","permissions":"1110"}},'
        '{"index":100,"type":"HS_ADMIN","data":{"format":"admin","value":{"handle":"'
        f'{PREFIX}/ADMIN","index":300,"permissions":"111111111111"}}}},"ttl":86400,'
        f'"timestamp":"{STAMP}","permissions":"1110"}}]'
    )


def _check_record_shape() -> None:
    from taihu.identifiers.handle import (  # noqa: PLC0415
        ADMIN_PERMISSIONS_ALL,
        AdminRef,
        encode_admin,
    )

    at = datetime(2026, 11, 25, 8, tzinfo=UTC)
    values = [
        HandleValue(1, "URL", b"https://lift.example/B0000007", timestamp=at),
        HandleValue(2, "model", b"HL-2000", timestamp=at),
        HandleValue(3, "batch", b"2026-B07", timestamp=at),
        HandleValue(4, "serialNumber", b"SN0000007", timestamp=at),
        HandleValue(
            100, "HS_ADMIN",
            encode_admin(AdminRef(f"{PREFIX}/ADMIN", 300, ADMIN_PERMISSIONS_ALL)), timestamp=at,
        ),
    ]  # fmt: skip
    record, wire = stored_columns(values)
    assert orjson.loads(record) == orjson.loads(_record(7)), "record shape drifted"
    assert wire == _wire(_record(7)), "stored answer drifted"


def _wire(record: str) -> bytes | None:
    """The stored answer a write puts beside ``record`` (the ``wire`` column)."""
    return wire_answer(orjson.loads(record))


async def _setup(url: str, count: int) -> tuple[float, str]:
    """Migrate, create the prefixes and a user, load COUNT identifiers; (seconds, bearer token)."""
    db = Database(url)
    try:
        await upgrade(db)
        async with db.session() as session:
            service = IdentifierService(session)
            await service.create_prefix(
                Principal.system("bench"), "88.118", admin_password=PASSWORD
            )
            prefix = await service.create_prefix(
                Principal.system("bench"), PREFIX, admin_password=PASSWORD
            )
            accounts = AccountService(session, SecuritySettings(secret_key=SECRET))
            user = await accounts.create_user(
                Principal.system("bench"), "bench-admin", PASSWORD, Role.ADMIN
            )
            token = (await accounts.create_token(Principal.system("bench"), user)).plain
        started = time.perf_counter()
        now = datetime.now(UTC)
        chunk = 20_000
        for start in range(0, count, chunk):
            rows = [
                {"key": f"{PREFIX}/B{n:07d}", "handle": f"{PREFIX}/B{n:07d}",
                 "prefix_id": prefix.id, "record": record, "wire": _wire(record),
                 "template": None, "created_at": now, "updated_at": now}
                for n in range(start, min(count, start + chunk))
                for record in (_record(n),)
            ]  # fmt: skip
            async with db.session() as session:
                await session.execute(sa.insert(HandleRow), rows)
            print(f"  loaded {min(count, start + chunk):,}/{count:,}", end="\r", flush=True)
        print()
        return time.perf_counter() - started, token
    finally:
        await db.dispose()


def _server_cpu_seconds(pid: int) -> float:
    """User + system CPU time of the server and its worker processes, from /proc."""
    total = 0
    pids = [pid] + [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    for each in pids:
        fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (after pid and comm)
    return total / os.sysconf("SC_CLK_TCK")


def _database_cpu_seconds(database: str) -> float:
    """User + system CPU time of the PostgreSQL backends serving ``database``, from /proc.

    Backends name their database in their process title (``postgres: 15/main: USER DATABASE
    HOST…``); the cluster's shared background processes (WAL writer, checkpointer) also serve
    other databases on this machine and are left out, as are autovacuum workers (they vacuum
    the rows the set-up loaded).
    """
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").split()
            if (
                title[:1] != [b"postgres:"]
                or database.encode() not in title
                or b"autovacuum" in title  # vacuuming the loaded rows, not serving the writes
            ):
                continue
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # a backend that ended meanwhile
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve(
    url: str, data_dir: Path, port: int, *, workers: int = 2, handle_port: int = 0,
    settings: dict[str, str] | None = None, warm: bool = True,
) -> subprocess.Popen[str]:  # fmt: skip
    """`taihu serve` on the bench database (``settings``: more TAIHU_ variables), once ready.

    ``warm``: also wait until every worker has warmed its resolution cache (its log line), so
    the warm-up's CPU is not counted as the benchmark's.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAIHU_")}
    env.update(
        TAIHU_ENV="production", TAIHU_DATABASE_URL=url, TAIHU_DATA_DIR=str(data_dir),
        TAIHU_SECRET_KEY=SECRET, TAIHU_LOG_ACCESS="false", TAIHU_HTTP_PORT=str(port),
        TAIHU_HTTP_WORKERS=str(workers), TAIHU_DATABASE_POOL_SIZE="20", TAIHU_MQTT_PORT="0",
        TAIHU_HANDLE_PORT=str(handle_port),
        # Room for a million identifiers' answers in each worker's cache, as Handle.Net 9.2
        # had a 2 GB heap in issue 18's comparison (about 1.4 GB per worker here).
        TAIHU_HANDLE_RESOLVER_CACHE_MEGABYTES="2048",
    )  # fmt: skip
    env.update(settings or {})
    process = subprocess.Popen(
        [sys.executable, "-m", "taihu", "serve", "--workers", str(workers)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip
    lines: list[str] = []  # read all along: a full pipe would stop the server
    threading.Thread(target=_drain, args=(process, lines), daemon=True).start()
    # Workers get 60 s to import (cli/server.py); on a loaded machine start-up takes longer.
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.3)
    else:
        os.killpg(process.pid, signal.SIGKILL)  # the workers too: they hold the output pipe
        raise SystemExit("taihu serve did not come up:\n" + "".join(lines))
    # The warm-up of a million identifiers takes about 15 s of CPU per worker.
    deadline = time.monotonic() + 900
    while warm and sum("resolver cache warmed" in line for line in lines) < workers:
        if time.monotonic() > deadline or process.poll() is not None:
            os.killpg(process.pid, signal.SIGKILL)
            raise SystemExit("the resolution caches were not warmed:\n" + "".join(lines))
        time.sleep(0.5)
    return process


def _drain(process: subprocess.Popen[str], lines: list[str]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line)


_LUA = """
math.randomseed(os.time())
request = function()
  local n = math.random(0, %d)
  return wrk.format("GET", string.format("/api/handles/88.118.8/B%%07d", n))
end
"""


def _unit(text: str) -> float:
    match = re.match(r"([\d.]+)(us|ms|s)", text)
    assert match, text
    return float(match[1]) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[match[2]]


def _wrk(port: int, count: int, seconds: int) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_LUA % (count - 1))
    out = subprocess.run(
        ["wrk", "-t2", "-c64", f"-d{seconds}s", "--latency", "-s", script.name,
         f"http://127.0.0.1:{port}"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    Path(script.name).unlink()
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])  # type: ignore[index]
    # Anchored: the "+/- Stdev" column also prints percentages such as "71.50%".
    p50 = _unit(re.search(r"^\s+50%\s+(\S+)", out, re.MULTILINE)[1])  # type: ignore[index]
    p99 = _unit(re.search(r"^\s+99%\s+(\S+)", out, re.MULTILINE)[1])  # type: ignore[index]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"resolutions_per_s": rate, "p50_ms": p50, "p99_ms": p99,
            "non_2xx": int(errors[1]) if errors else 0}  # fmt: skip


async def _register(
    port: int, token: str, batches: int, concurrency: int, tag: str = "R"
) -> dict[str, float]:
    def batch(b: int) -> bytes:
        return orjson.dumps([
            {"handle": f"{PREFIX}/{tag}{b:04d}-{n:04d}",
             "value": [{"index": 1, "type": "URL", "data": f"https://lift.example/R{b}-{n}"},
                       {"index": 2, "type": "model", "data": "HL-2000"},
                       {"index": 3, "type": "batch", "data": "2026-B08"},
                       {"index": 4, "type": "serialNumber", "data": f"SN{b:04d}{n:04d}"}]}
            for n in range(2000)
        ])  # fmt: skip

    bodies = [batch(b) for b in range(batches)]
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    done = 0
    retries = 0
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal done
        while not queue.empty():
            body = queue.get_nowait()
            response = await client.post(
                "/identityv2/data/batchCreate", content=body, headers=headers
            )
            answer = response.json()
            if not isinstance(answer.get("data"), list):
                raise SystemExit(f"batchCreate answered {response.status_code}: {answer}")
            done += sum(1 for item in answer["data"] if item["code"] == 1)

    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=300) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return {"registered": done, "batch_retries": retries, "seconds": round(elapsed, 2),
            "registrations_per_s": round(done / elapsed, 1)}  # fmt: skip


async def _pg_database(name: str, *, drop_only: bool = False) -> str:
    engine = sa.ext.asyncio.create_async_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            if not drop_only:
                await conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    finally:
        await engine.dispose()
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"


def run(kind: str, count: int, seconds: int, batches: int) -> dict[str, object]:
    """One database: set up, serve, measure; the figures."""
    work = Path(tempfile.mkdtemp(prefix=f"taihu-bench-{kind}-"))
    url = (
        f"sqlite+aiosqlite:///{work / 'taihu.sqlite3'}"
        if kind == "sqlite"
        else asyncio.run(_pg_database(BENCH_DATABASE))
    )
    print(f"[{kind}] loading {count:,} identifiers")
    load_seconds, token = asyncio.run(_setup(url, count))
    port = _free_port()
    server = _serve(url, work, port)
    try:
        print(f"[{kind}] warm-up, then wrk for {seconds}s")
        _wrk(port, count, 3)
        load_before = os.getloadavg()[0]
        cpu = _server_cpu_seconds(server.pid)
        database_cpu = _database_cpu_seconds(BENCH_DATABASE) if kind == "postgresql" else 0.0
        resolution = _wrk(port, count, seconds)
        resolved = resolution["resolutions_per_s"] * seconds
        # Server CPU per request does not depend on how much of the machine others take.
        resolution["server_cpu_us_per_resolution"] = round(
            (_server_cpu_seconds(server.pid) - cpu) * 1e6 / resolved, 1
        )
        if kind == "postgresql":  # the backends' share: they run on the same two cores
            resolution["database_cpu_us_per_resolution"] = round(
                (_database_cpu_seconds(BENCH_DATABASE) - database_cpu) * 1e6 / resolved, 1
            )
        print(f"[{kind}] resolution: {resolution}")
        # Each worker builds FastAPI's state for a route at its first request to it (up to a
        # second of CPU): a few batches first, so that is not counted as registration.
        asyncio.run(_register(port, token, _WARM_UP_BATCHES, concurrency=4, tag="W"))
        cpu = _server_cpu_seconds(server.pid)
        database_cpu = _database_cpu_seconds(BENCH_DATABASE) if kind == "postgresql" else 0.0
        registration = asyncio.run(_register(port, token, batches, concurrency=4))
        registered = max(registration["registered"], 1)
        registration["server_cpu_us_per_registration"] = round(
            (_server_cpu_seconds(server.pid) - cpu) * 1e6 / registered, 1
        )
        if kind == "postgresql":
            # The database's own work per identifier (index maintenance, WAL, JSONB parsing).
            registration["database_cpu_us_per_registration"] = round(
                (_database_cpu_seconds(BENCH_DATABASE) - database_cpu) * 1e6 / registered, 1
            )
        load = [round(load_before, 2), round(os.getloadavg()[0], 2)]
        print(f"[{kind}] registration: {registration}; load average {load}")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        if kind == "postgresql":
            asyncio.run(_pg_database(BENCH_DATABASE, drop_only=True))
        shutil.rmtree(work, ignore_errors=True)
    return {"database": kind, "identifiers": count, "load_seconds": round(load_seconds, 1),
            **resolution, **registration, "load_average_1m": load}  # fmt: skip


def main() -> None:
    """Parse arguments, run, print and save."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--batches", type=int, default=50, help="registration batches of 2,000")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")
    _check_record_shape()
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    runs = [run(kind, args.count, args.seconds, args.batches) for kind in kinds]
    result = {
        "machine": f"{platform.node()} {os.cpu_count()} cores, {platform.python_version()}",
        "command": "python " + " ".join(sys.argv),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "runs": runs,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
