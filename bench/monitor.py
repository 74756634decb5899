"""Resumption indices for 10,000 enterprises over 365 days (issue 8).

Targets: the day's indices for all groupings (township, industry class, chain, segment, key
lists) <= 1 s; the district's full-year daily series <= 3 s. The data is generated with NumPy
(deterministic seed): daily use from 1 December 2025 to 30 November 2026 with a Spring Festival
shutdown, staggered restarts, 2 % missing readings and 1 % of enterprises without a baseline;
the baseline is December 2025. Each figure is the median of five runs after one warm-up and
includes computing the baselines; reading the database is not part of it (building the matrix
from 3.65 million Python rows, as the service does after its query, is reported apart).

With ``--database URL`` the same district is also written to a fresh database (SQLite or
PostgreSQL, migrated) and the service is timed end to end, query included: ``index`` with all
five groupings, and ``series`` for the full year (median of five, each in a new session; the
CPU time of this process, user + system, is reported beside: on SQLite the database work is
in it, on PostgreSQL the server's is not). Writing the district takes minutes; with
``--keep`` a database that already holds it (from an earlier ``--keep`` run) is reused as it is,
migrated to the current schema first.

    .venv/bin/python bench/monitor.py
    .venv/bin/python bench/monitor.py --database sqlite+aiosqlite:////tmp/monitor-bench.sqlite3
    .venv/bin/python bench/monitor.py --keep --database postgresql+asyncpg://postgres@127.0.0.1:5432/monitor_bench
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import sqlalchemy as sa

from taihu.accounts import Principal
from taihu.chains import SegmentTag, TagStatus, TemplateStore
from taihu.core import Database, upgrade
from taihu.enterprises import Enterprise
from taihu.monitor import (
    Grouping,
    KeyList,
    KeyListMember,
    MonitorService,
    Params,
    PowerDay,
    PowerMatrix,
    baseline_window,
    baselines,
    day_index,
    district_series,
    group_index,
    quality_flags,
    refresh_columns,
)
from taihu.web import tune_collector

RESULTS = Path(__file__).resolve().parent / "results" / "monitor.json"
RUNS = 5
ENTERPRISES = 10_000
DAYS = 365
START = date(2025, 12, 1)
DAY = date(2026, 3, 10)


def _median(work: Callable[[], object]) -> float:
    work()  # warm-up
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _district(rng: np.random.Generator) -> tuple[PowerMatrix, list[Grouping]]:
    base = rng.lognormal(7.0, 1.0, ENTERPRISES)
    days = np.arange(DAYS)
    festival = (date(2026, 2, 17) - START).days
    restart = festival + rng.integers(5, 40, ENTERPRISES)
    level = np.ones((ENTERPRISES, DAYS))
    level[:, festival - 7 :] = 0.05
    ramp = np.clip((days[None, :] - restart[:, None]) / 14, 0, 1)
    level = np.where(days[None, :] >= restart[:, None], 0.3 + 0.7 * ramp, level)
    kwh = base[:, None] * level * rng.uniform(0.9, 1.1, (ENTERPRISES, DAYS))
    kwh[rng.random((ENTERPRISES, DAYS)) < 0.02] = np.nan
    kwh[rng.random(ENTERPRISES) < 0.01, :31] = 0.0  # no baseline
    matrix = PowerMatrix(tuple(range(ENTERPRISES)), START, kwh)
    townships = [f"3205091{k:02d}" for k in range(14)]
    industries = [f"{k:04d}" for k in rng.choice(np.arange(1300, 4200), 120, replace=False)]
    segments = [f"s{k}" for k in range(40)]
    chain_of = {s: f"c{int(s[1:]) % 6}" for s in segments}
    town, industry, segment, chain, listed = {}, {}, {}, {}, {}
    for i in range(ENTERPRISES):
        town[i] = [townships[rng.integers(14)]]
        industry[i] = [industries[rng.integers(120)]]
        tags = [segments[k] for k in rng.choice(40, rng.integers(0, 3), replace=False)]
        segment[i] = tags
        chain[i] = [chain_of[s] for s in tags]
        listed[i] = [str(k) for k in range(3) if rng.random() < 0.05]
    groupings = [
        Grouping.of("township", town), Grouping.of("industry", industry),
        Grouping.of("chain", chain), Grouping.of("segment", segment),
        Grouping.of("list", listed),
    ]  # fmt: skip
    return matrix, groupings


async def _through_the_service(
    url: str, matrix: PowerMatrix, groupings: list[Grouping], *, keep: bool = False
) -> dict[str, object]:
    """Write the district to the database (unless kept) and time the service, queries included."""
    db = Database(url)
    start = time.perf_counter()
    await upgrade(db)
    migrated = time.perf_counter() - start
    async with db.session() as session:
        present = await session.scalar(sa.select(sa.func.count()).select_from(Enterprise))
    if keep and present == ENTERPRISES:
        loaded = None
    elif present:
        raise SystemExit(f"{url} holds {present} enterprises: give an empty database or --keep")
    else:
        loaded = await _write_district(db, matrix, groupings)
    actor = Principal.system("bench")
    last = START + timedelta(days=DAYS - 1)
    tune_collector()  # as `taihu serve` does once the application is built
    timings: list[float] = []
    series: list[float] = []
    cpu: dict[str, list[float]] = {"index": [], "series": []}
    for _ in range(RUNS):
        async with db.session() as session:
            monitor = MonitorService(session)
            t, c = time.perf_counter(), time.process_time()
            await monitor.index(actor, DAY, ["township", "industry", "chain", "segment", "list"])
            timings.append(time.perf_counter() - t)
            cpu["index"].append(time.process_time() - c)
            t, c = time.perf_counter(), time.process_time()
            await monitor.series(actor, START, last)
            series.append(time.perf_counter() - t)
            cpu["series"].append(time.process_time() - c)
    await db.dispose()
    return {
        "database": url.split(":", 1)[0],
        "load_s": None if loaded is None else round(loaded, 1),
        "migrate_s": round(migrated, 1),
        "service_day_all_groupings_s": round(statistics.median(timings), 3),
        "service_day_all_groupings_runs_s": [round(t, 3) for t in timings],
        "service_day_all_groupings_cpu_s": round(statistics.median(cpu["index"]), 3),
        "service_full_year_series_s": round(statistics.median(series), 3),
        "service_full_year_series_runs_s": [round(t, 3) for t in series],
        "service_full_year_series_cpu_s": round(statistics.median(cpu["series"]), 3),
        "load_average_after_service": [round(x, 2) for x in os.getloadavg()],
    }


async def _write_district(db: Database, matrix: PowerMatrix, groupings: list[Grouping]) -> float:
    """Write the enterprises, their tags, lists and daily power; returns the seconds taken."""
    now = datetime(2026, 11, 30, tzinfo=UTC)
    start = time.perf_counter()
    kinds = {g.kind: g for g in groupings}
    async with db.session() as session:
        # The tags name the segments of the database's current templates (the store's): the
        # monitor groups by those, the district's own templates included.
        segments = [s.key for c in await TemplateStore(session).current() for s in c.segments]
        town = dict(zip(kinds["township"].rows.tolist(), kinds["township"].groups.tolist(),
                        strict=True))  # fmt: skip
        industry = dict(zip(kinds["industry"].rows.tolist(), kinds["industry"].groups.tolist(),
                            strict=True))  # fmt: skip
        await session.execute(sa.insert(Enterprise), [
            {"id": i + 1, "name": f"bench {i}", "credit_code": f"BENCH{i:013d}",
             "created_at": now, "township_code": kinds["township"].labels[town[i]],
             "industry_code": kinds["industry"].labels[industry[i]]}
            for i in range(ENTERPRISES)
        ])  # fmt: skip
        seg = kinds["segment"]
        pairs = {(int(r) + 1, segments[int(g) % len(segments)])
                 for r, g in zip(seg.rows, seg.groups, strict=True)}  # fmt: skip
        await session.execute(sa.insert(SegmentTag), [
            {"enterprise_id": e, "segment_key": key, "status": TagStatus.CONFIRMED, "score": 1.0,
             "reason": "bench", "created_at": now}
            for e, key in sorted(pairs)
        ])  # fmt: skip
        listed = kinds["list"]
        await session.execute(sa.insert(KeyList), [
            {"id": k + 1, "name": f"list {k}", "description": "", "created_at": now}
            for k in range(len(listed.labels))
        ])  # fmt: skip
        await session.execute(sa.insert(KeyListMember), [
            {"list_id": int(g) + 1, "enterprise_id": int(r) + 1, "added_at": now}
            for r, g in zip(listed.rows, listed.groups, strict=True)
        ])  # fmt: skip
        rows, cols = np.nonzero(~np.isnan(matrix.kwh))
        batch = []
        for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
            batch.append(
                {
                    "enterprise_id": r + 1,
                    "day": START + timedelta(days=c),
                    "kwh": float(matrix.kwh[r, c]),
                    "source": "grid",
                    "updated_at": now,
                }
            )
            if len(batch) == 50_000:
                await session.execute(sa.insert(PowerDay), batch)
                batch = []
        if batch:
            await session.execute(sa.insert(PowerDay), batch)
        await refresh_columns(session)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="Also time the service on this (empty) database.")
    parser.add_argument(
        "--keep", action="store_true",
        help="Reuse the district already in --database (written by an earlier run) and keep it.",
    )  # fmt: skip
    options = parser.parse_args()
    rng = np.random.default_rng(8)
    start = time.perf_counter()
    matrix, groupings = _district(rng)
    generated = time.perf_counter() - start
    params = Params()
    window = baseline_window(DAY)
    last = START + timedelta(days=DAYS - 1)

    def day_all_groupings() -> None:
        base = baselines(matrix, window)
        energy = matrix.day(DAY)
        day_index(energy, base, params)
        for grouping in groupings:
            group_index(energy, base, params, grouping)

    def full_year() -> None:
        district_series(matrix, baselines(matrix, window), params, START, last)

    def flags_one_day() -> None:
        quality_flags(matrix, baselines(matrix, window), DAY, DAY, theta=0.3, spike_factor=3.0)

    rows = [(int(i), START + timedelta(days=int(j)), float(matrix.kwh[i, j]))
            for i, j in zip(*np.nonzero(~np.isnan(matrix.kwh)), strict=True)]  # fmt: skip
    start = time.perf_counter()
    PowerMatrix.build(matrix.ids, START, last, rows)
    built = time.perf_counter() - start
    figures = {
        "enterprises": ENTERPRISES,
        "days": DAYS,
        "readings": len(rows),
        "groups": {g.kind: len(g.labels) for g in groupings},
        "generate_s": round(generated, 3),
        "day_all_groupings_s": round(_median(day_all_groupings), 4),
        "day_all_groupings_target_s": 1.0,
        "full_year_series_s": round(_median(full_year), 4),
        "full_year_series_target_s": 3.0,
        "quality_flags_one_day_s": round(_median(flags_one_day), 4),
        "matrix_from_rows_s": round(built, 3),
        **(
            asyncio.run(
                _through_the_service(options.database, matrix, groupings, keep=options.keep)
            )
            if options.database
            else {}
        ),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, NumPy {np.__version__}",
    }
    for key, value in figures.items():
        print(f"{key:>30}: {value}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
