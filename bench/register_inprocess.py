"""CPU per identifier of `POST /identityv2/data/batchCreate`, in process, on SQLite and PostgreSQL.

    python bench/register_inprocess.py [--db sqlite|postgresql|both] [--batches 20] [--profile]

The application (``create_app``) on a fresh database holding ``--preload`` identifiers, called
through httpx's ASGI transport with the batches `resolve_http.py` posts (2,000 identifiers of
four values each). Each call is timed with the process's CPU clock around the application alone
(the client's encoding and parsing are left out; SQLite's work runs in this process, in
aiosqlite's thread, and is counted), and on PostgreSQL the CPU of the backends serving the
database is read from /proc as well. Prints the median and the best of the measured batches
after ``--warm-up`` uncounted ones, and with ``--profile`` the functions one batch spent most in
(cProfile). Writes bench/results/register_inprocess.json.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import json
import os
import platform
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson

from resolve_http import (  # the same database set-up, secret and batches as the server bench
    BENCH_DATABASE,
    PREFIX,
    SECRET,
    _database_cpu_seconds,
    _pg_database,
    _setup,
)
from taihu.core import Database
from taihu.settings import DatabaseSettings, SecuritySettings, Settings
from taihu.web import create_app, tune_collector

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "register_inprocess.json"
BATCH = 2000

Scope = MutableMapping[str, Any]
Asgi = Callable[[Scope, Any, Any], Awaitable[None]]


def _body(tag: str, b: int) -> bytes:
    """One batch as `resolve_http.py` posts it."""
    return orjson.dumps([
        {"handle": f"{PREFIX}/{tag}{b:04d}-{n:04d}",
         "value": [{"index": 1, "type": "URL", "data": f"https://lift.example/R{b}-{n}"},
                   {"index": 2, "type": "model", "data": "HL-2000"},
                   {"index": 3, "type": "batch", "data": "2026-B08"},
                   {"index": 4, "type": "serialNumber", "data": f"SN{b:04d}{n:04d}"}]}
        for n in range(BATCH)
    ])  # fmt: skip


class _Collector:
    """CPU time the garbage collector takes (its start and stop callbacks)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._started = 0.0
        gc.callbacks.append(self._phase)

    def _phase(self, phase: str, _info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.process_time()
        else:
            self.seconds += time.process_time() - self._started


class _Timed:
    """The application, with the CPU time of its last call kept (one call at a time here)."""

    def __init__(self, app: Asgi) -> None:
        self.app = app
        self.cpu = 0.0
        self.profile: cProfile.Profile | None = None

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        started = time.process_time()
        if self.profile is not None:
            self.profile.enable()
        try:
            await self.app(scope, receive, send)
        finally:
            if self.profile is not None:
                self.profile.disable()
            self.cpu = time.process_time() - started


async def _measure(kind: str, url: str, work: Path, args: argparse.Namespace) -> dict[str, Any]:
    _, token = await _setup(url, args.preload)
    settings = Settings(
        env="production", data_dir=work, database=DatabaseSettings(url=url),
        security=SecuritySettings(secret_key=SECRET),
    )  # fmt: skip
    db = Database(url)
    timed = _Timed(create_app(settings, db=db))
    tune_collector()  # as a server worker does once its application is built
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    collector = _Collector()
    server: list[float] = []
    collected: list[float] = []
    database: list[float] = []
    walls: list[float] = []
    try:
        transport = httpx.ASGITransport(app=timed)
        async with httpx.AsyncClient(transport=transport, base_url="http://taihu.bench") as client:
            # With --profile, one batch more after the measured ones, profiled (not counted).
            for b in range(args.warm_up + args.batches + (1 if args.profile else 0)):
                body = _body("W" if b < args.warm_up else "R", b)
                profiling = args.profile and b == args.warm_up + args.batches
                # The process's CPU clock: on a shared machine wall time charges others' work.
                timed.profile = cProfile.Profile(time.process_time) if profiling else None
                before = _database_cpu_seconds(BENCH_DATABASE) if kind == "postgresql" else 0.0
                started = time.perf_counter()
                collector.seconds = 0.0
                response = await client.post(
                    "/identityv2/data/batchCreate", content=body, headers=headers
                )
                wall = time.perf_counter() - started
                collecting = collector.seconds  # the client's parsing below is not the server's
                after = _database_cpu_seconds(BENCH_DATABASE) if kind == "postgresql" else 0.0
                codes = [item["code"] for item in response.json()["data"]]
                if codes != [1] * BATCH:
                    raise SystemExit(f"batch {b} answered {response.status_code}: {codes[:5]}…")
                if timed.profile is not None:
                    print(f"[{kind}] one batch of {BATCH:,}, by own time:")
                    pstats.Stats(timed.profile).sort_stats("tottime").print_stats(args.profile)
                    continue  # profiled: not counted
                if b >= args.warm_up:
                    server.append(timed.cpu * 1e6 / BATCH)
                    collected.append(collecting * 1e6 / BATCH)
                    database.append((after - before) * 1e6 / BATCH)
                    walls.append(wall)
    finally:
        await db.dispose()
    result: dict[str, Any] = {
        "database": kind,
        "batches": len(server),
        "server_cpu_us_per_identifier_median": round(statistics.median(server), 1),
        "server_cpu_us_per_identifier_best": round(min(server), 1),
        "collector_cpu_us_per_identifier_median": round(statistics.median(collected), 1),
        "seconds_per_batch_median": round(statistics.median(walls), 3),
    }
    if kind == "postgresql":
        result["database_cpu_us_per_identifier_median"] = round(statistics.median(database), 1)
        result["database_cpu_us_per_identifier_best"] = round(min(database), 1)
    print(f"[{kind}] {result}")
    return result


def run(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    """One database: set up, measure, clean up."""
    work = Path(tempfile.mkdtemp(prefix=f"taihu-register-{kind}-"))
    url = (
        f"sqlite+aiosqlite:///{work / 'taihu.sqlite3'}"
        if kind == "sqlite"
        else asyncio.run(_pg_database(BENCH_DATABASE))
    )
    try:
        return asyncio.run(_measure(kind, url, work, args))
    finally:
        if kind == "postgresql":
            asyncio.run(_pg_database(BENCH_DATABASE, drop_only=True))


def main() -> None:
    """Parse arguments, run, print and save."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--batches", type=int, default=20, help="measured batches of 2,000")
    parser.add_argument("--warm-up", type=int, default=3, help="uncounted batches first")
    parser.add_argument("--preload", type=int, default=20_000, help="identifiers loaded first")
    parser.add_argument(
        "--profile", type=int, default=0, metavar="N",
        help="profile one batch after the warm-up and print its N costliest functions",
    )  # fmt: skip
    args = parser.parse_args()
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    runs = [run(kind, args) for kind in kinds]
    result = {
        "machine": f"{platform.node()} {os.cpu_count()} cores, {platform.python_version()}",
        "command": "python " + " ".join(sys.argv),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "runs": runs,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
