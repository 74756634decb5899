"""The time-series store: raw points, latest values and rollups, behind one small interface.

    write(batch)  ─► ts_points      raw values (a point re-sent with the same ts is kept once)
                  ├► ts_latest      the newest value per device and key
                  └► ts_rollups     min/max/sum/count per 1 min, 1 h and 1 day, numeric keys only

Rollups are maintained in the same transaction as the points they summarise, from the rows the
insert actually added, so a redelivered QoS 1 message is never counted twice. ``SqliteStore``
and ``PostgresStore`` differ only in the SQL functions of their upserts; tests run both.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from taihu.core import Database
from taihu.devices.models import TsLatest, TsPoint, TsRollup
from taihu.devices.values import Kind, Point, stored_value, typed_value

__all__ = [
    "AGGREGATIONS",
    "PERIODS",
    "Aggregation",
    "PostgresStore",
    "Sample",
    "SqliteStore",
    "TimeSeriesStore",
    "store_for",
]

PERIODS = (60_000, 3_600_000, 86_400_000)  # rollup periods in ms: 1 min, 1 h, 1 day
Aggregation = Literal["AVG", "MIN", "MAX", "SUM", "COUNT", "NONE"]
AGGREGATIONS: tuple[Aggregation, ...] = ("AVG", "MIN", "MAX", "SUM", "COUNT", "NONE")
_NUMERIC = (Kind.BOOL, Kind.LONG, Kind.DOUBLE)


@dataclass(frozen=True, slots=True)
class Sample:
    """A value at a time, as queries answer it."""

    ts: int
    value: Any


class TimeSeriesStore(Protocol):
    """Where telemetry is kept."""

    async def write(self, batch: Sequence[tuple[int, Point]]) -> int:
        """Store ``(device id, point)`` pairs durably; returns how many points were new."""

    async def latest(self, device_id: int, keys: Sequence[str] | None = None) -> dict[str, Sample]:
        """The latest value of each key (all keys when ``keys`` is None)."""

    async def keys(self, device_id: int) -> list[str]:
        """The keys a device has reported."""

    async def raw(
        self, device_id: int, keys: Sequence[str], start: int, end: int, *, limit: int,
        descending: bool = True,
    ) -> dict[str, list[Sample]]:  # fmt: skip
        """Raw points in ``[start, end)``, at most ``limit`` per key."""

    async def aggregate(
        self, device_ids: Sequence[int], keys: Sequence[str], start: int, end: int,
        interval: int, agg: Aggregation,
    ) -> dict[str, list[Sample]]:  # fmt: skip
        """Per key, one value per ``interval`` ms bucket from ``start`` over all ``device_ids``."""

    async def delete_before(
        self, device_ids: Sequence[int], cutoff: int, rollup_cutoff: int
    ) -> int:
        """Remove points before ``cutoff`` and rollups before ``rollup_cutoff``; returns points."""


class _SqlStore:
    """The store on the platform's relational database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- writing -------------------------------------------------------------------------------

    def _insert(self) -> Any:
        raise NotImplementedError

    def _least(self, a: str, b: str) -> str:
        raise NotImplementedError

    def _greatest(self, a: str, b: str) -> str:
        raise NotImplementedError

    async def write(self, batch: Sequence[tuple[int, Point]]) -> int:
        """Store points, latest values and rollups in one transaction."""
        if not batch:
            return 0
        rows: dict[tuple[int, str, int], dict[str, Any]] = {}
        for device_id, point in batch:
            kind, num, txt = stored_value(point)
            # Within one batch the last value for a (device, key, ts) wins, as in ThingsBoard.
            rows[(device_id, point.key, point.ts)] = {
                "device_id": device_id, "key": point.key, "ts": point.ts, "kind": kind,
                "num": num, "txt": txt,
            }  # fmt: skip
        values = list(rows.values())
        added: list[dict[str, Any]] = []
        async with self.db.engine.begin() as conn:
            if await self._insert_all_new(conn, values):
                await self._latest(conn, values)
                await self._rollups(conn, values)
                return len(values)
            table = TsPoint.__table__
            # One compiled statement, executed over many rows: SQLAlchemy's "insertmanyvalues"
            # sends them as multi-row INSERT … RETURNING batches on both databases.
            stmt = (
                self._insert()(table).on_conflict_do_nothing()
                .returning(table.c.device_id, table.c.key, table.c.ts)
            )  # fmt: skip
            result = await conn.execute(stmt, values)
            for device_id, key, ts in result:
                added.append(rows[(device_id, key, ts)])
            await self._latest(conn, added)
            await self._rollups(conn, added)
        return len(added)

    async def _insert_all_new(
        self,
        conn: AsyncConnection,  # noqa: ARG002 - used by the SQLite store
        values: list[dict[str, Any]],  # noqa: ARG002
    ) -> bool:
        """Insert points when none of them exists yet (the usual case); False leaves no trace."""
        return False

    def _placeholders(self, n: int) -> str:
        return ", ".join("?" * n)

    async def _latest(self, conn: AsyncConnection, added: list[dict[str, Any]]) -> None:
        newest: dict[tuple[int, str], dict[str, Any]] = {}
        for row in added:
            key = (row["device_id"], row["key"])
            if key not in newest or row["ts"] > newest[key]["ts"]:
                newest[key] = row
        if not newest:
            return
        items = sorted(newest.values(), key=lambda r: (r["device_id"], r["key"]))
        # Plain SQL over the driver's executemany: at ingest rates SQLAlchemy's per-row
        # parameter processing costs more than the database does.
        await conn.exec_driver_sql(
            f"INSERT INTO ts_latest (device_id, key, ts, kind, num, txt) "  # noqa: S608 - constants
            f"VALUES ({self._placeholders(6)}) ON CONFLICT (device_id, key) DO UPDATE SET "
            "ts = excluded.ts, kind = excluded.kind, num = excluded.num, txt = excluded.txt "
            "WHERE excluded.ts >= ts_latest.ts",
            [(r["device_id"], r["key"], r["ts"], r["kind"], r["num"], r["txt"]) for r in items],
        )

    async def _rollups(self, conn: AsyncConnection, added: list[dict[str, Any]]) -> None:
        buckets: dict[tuple[int, str, int, int], list[float]] = defaultdict(list)
        for row in added:
            if row["kind"] not in _NUMERIC:
                continue
            for period in PERIODS:
                start = row["ts"] - row["ts"] % period
                buckets[(row["device_id"], row["key"], period, start)].append(row["num"])
        if not buckets:
            return
        items = [
            {"device_id": d, "key": k, "period": p, "start_ts": s, "min": min(v), "max": max(v),
             "sum": sum(v), "count": len(v)}
            for (d, k, p, s), v in sorted(buckets.items())
        ]  # fmt: skip
        least = self._least("ts_rollups.min", "excluded.min")
        greatest = self._greatest("ts_rollups.max", "excluded.max")
        # Only constants are formatted into the statement; the values travel as parameters.
        sql = (
            "INSERT INTO ts_rollups (device_id, key, period, start_ts, min, max, sum, count) "  # noqa: S608
            f"VALUES ({self._placeholders(8)}) "
            "ON CONFLICT (device_id, key, period, start_ts) DO UPDATE SET "
            f"min = {least}, max = {greatest}, sum = ts_rollups.sum + excluded.sum, "
            "count = ts_rollups.count + excluded.count"
        )
        await conn.exec_driver_sql(
            sql,
            [tuple(i.values()) for i in items],
        )

    # -- reading -------------------------------------------------------------------------------

    async def latest(self, device_id: int, keys: Sequence[str] | None = None) -> dict[str, Sample]:
        """The latest value of each key."""
        t = TsLatest.__table__
        stmt = sa.select(t.c.key, t.c.ts, t.c.kind, t.c.num, t.c.txt).where(
            t.c.device_id == device_id
        )
        if keys is not None:
            stmt = stmt.where(t.c.key.in_(list(keys)))
        async with self.db.engine.connect() as conn:
            result = await conn.execute(stmt.order_by(t.c.key))
            return {k: Sample(ts, typed_value(kind, num, txt)) for k, ts, kind, num, txt in result}

    async def keys(self, device_id: int) -> list[str]:
        """The keys a device has reported."""
        t = TsLatest.__table__
        async with self.db.engine.connect() as conn:
            result = await conn.execute(
                sa.select(t.c.key).where(t.c.device_id == device_id).order_by(t.c.key)
            )
            return [k for (k,) in result]

    async def raw(
        self, device_id: int, keys: Sequence[str], start: int, end: int, *, limit: int,
        descending: bool = True,
    ) -> dict[str, list[Sample]]:  # fmt: skip
        """Raw points per key."""
        t = TsPoint.__table__
        out: dict[str, list[Sample]] = {}
        async with self.db.engine.connect() as conn:
            for key in keys:
                order = t.c.ts.desc() if descending else t.c.ts.asc()
                result = await conn.execute(
                    sa.select(t.c.ts, t.c.kind, t.c.num, t.c.txt)
                    .where(t.c.device_id == device_id, t.c.key == key, t.c.ts >= start,
                           t.c.ts < end)
                    .order_by(order).limit(limit)
                )  # fmt: skip
                samples = [Sample(ts, typed_value(kind, num, txt)) for ts, kind, num, txt in result]
                if samples:
                    out[key] = samples
        return out

    async def aggregate(
        self, device_ids: Sequence[int], keys: Sequence[str], start: int, end: int,
        interval: int, agg: Aggregation,
    ) -> dict[str, list[Sample]]:  # fmt: skip
        """Buckets of ``interval`` ms, from rollups when they line up, else from raw points."""
        if interval <= 0:
            raise ValueError("interval must be positive")
        period = next((p for p in reversed(PERIODS) if interval % p == 0 and start % p == 0), None)
        out: dict[str, list[Sample]] = {}
        async with self.db.engine.connect() as conn:
            for key in keys:
                if period is not None:
                    r = TsRollup.__table__
                    bucket = sa.cast((r.c.start_ts - start) / interval, sa.BigInteger)
                    stmt = sa.select(
                        bucket, sa.func.min(r.c.min), sa.func.max(r.c.max), sa.func.sum(r.c.sum),
                        sa.func.sum(r.c.count),
                    ).where(
                        r.c.device_id.in_(list(device_ids)), r.c.key == key, r.c.period == period,
                        r.c.start_ts >= start, r.c.start_ts < end,
                    )  # fmt: skip
                else:
                    p = TsPoint.__table__
                    bucket = sa.cast((p.c.ts - start) / interval, sa.BigInteger)
                    stmt = sa.select(
                        bucket, sa.func.min(p.c.num), sa.func.max(p.c.num), sa.func.sum(p.c.num),
                        sa.func.count(p.c.num),
                    ).where(
                        p.c.device_id.in_(list(device_ids)), p.c.key == key, p.c.ts >= start,
                        p.c.ts < end, p.c.kind.in_([int(k) for k in _NUMERIC]),
                    )  # fmt: skip
                result = await conn.execute(stmt.group_by(bucket).order_by(bucket))
                samples = []
                for b, lo, hi, total, count in result:
                    if not count:
                        continue
                    value = {
                        "MIN": lo, "MAX": hi, "SUM": total, "COUNT": int(count),
                        "AVG": total / count,
                    }[agg]  # fmt: skip
                    # ThingsBoard stamps an aggregated value with the middle of its interval.
                    bucket_start = start + int(b) * interval
                    mid = bucket_start + min(interval, end - bucket_start) // 2
                    samples.append(Sample(mid, value))
                if samples:
                    out[key] = samples
        return out

    async def delete_before(
        self, device_ids: Sequence[int], cutoff: int, rollup_cutoff: int
    ) -> int:
        """Remove old points and rollups of some devices."""
        if not device_ids:
            return 0
        ids = list(device_ids)
        async with self.db.engine.begin() as conn:
            result = await conn.execute(
                sa.delete(TsPoint).where(TsPoint.device_id.in_(ids), TsPoint.ts < cutoff)
            )
            await conn.execute(
                sa.delete(TsRollup).where(
                    TsRollup.device_id.in_(ids),
                    sa.or_(
                        sa.and_(TsRollup.period == PERIODS[0], TsRollup.start_ts < cutoff),
                        sa.and_(TsRollup.period != PERIODS[0], TsRollup.start_ts < rollup_cutoff),
                    ),
                )
            )
            return int(result.rowcount or 0)


class SqliteStore(_SqlStore):
    """The store on SQLite (the embedded default)."""

    def _insert(self) -> Any:
        return sqlite.insert

    def _least(self, a: str, b: str) -> str:
        return f"min({a}, {b})"  # SQLite's min() with two arguments is the scalar minimum

    def _greatest(self, a: str, b: str) -> str:
        return f"max({a}, {b})"

    async def _insert_all_new(self, conn: AsyncConnection, values: list[dict[str, Any]]) -> bool:
        # One executemany; sqlite3 sums the rows it changed. Fewer than sent means some points
        # were there already: undo, and let the RETURNING path sort out which.
        savepoint = await conn.begin_nested()
        result = await conn.exec_driver_sql(
            "INSERT INTO ts_points (device_id, key, ts, kind, num, txt) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            [(r["device_id"], r["key"], r["ts"], r["kind"], r["num"], r["txt"]) for r in values],
        )
        if result.rowcount == len(values):
            await savepoint.commit()
            return True
        await savepoint.rollback()
        return False


class PostgresStore(_SqlStore):
    """The store on PostgreSQL."""

    def _insert(self) -> Any:
        return postgresql.insert

    def _placeholders(self, n: int) -> str:
        return ", ".join(f"${i}" for i in range(1, n + 1))

    def _least(self, a: str, b: str) -> str:
        return f"least({a}, {b})"

    def _greatest(self, a: str, b: str) -> str:
        return f"greatest({a}, {b})"


def store_for(db: Database) -> TimeSeriesStore:
    """The store implementation for a database's dialect."""
    return SqliteStore(db) if db.dialect == "sqlite" else PostgresStore(db)
