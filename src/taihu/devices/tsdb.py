"""The time-series store: raw points, latest values and rollups, behind one small interface.

    write_rows(rows) ─► ts_points   raw values, one per (device, key, ts): the latest write wins
                     ├► ts_latest   the newest value per device and key
                     └► ts_rollups  min/max/sum/count per 1 min, 1 h and 1 day, numeric keys only

Rollups are maintained in the same transaction as the points they summarise, from the rows the
insert actually added, so a redelivered QoS 1 message is never counted twice. A batch is first
aggregated in Python: one latest-value upsert per (device, key) and one rollup upsert per
(device, key, bucket), however many of its points fall there. A point sent again for a stored
(device, key, ts) with another value replaces it, as in ThingsBoard, and its buckets are rebuilt
from what is stored (``taihu.devices.rollups.recompute``), so the rollups stay what the points
give; an identical resend changes nothing. Within one batch the last row for a (device, key,
ts) wins. ``SqliteStore`` uses prepared statements over ``executemany``; ``PostgresStore`` COPYs
the points into week partitions (``taihu.devices.partitions``) and upserts the rest with one
``unnest`` statement per table.
Reading is shared. Tests run both.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import asyncpg
import sqlalchemy as sa
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from taihu.core import Database
from taihu.devices.models import TsLatest, TsPoint, TsRollup
from taihu.devices.partitions import WEEK_MS, PartitionedPoints, week_of
from taihu.devices.rollups import PERIODS, recompute, rollup_rows
from taihu.devices.values import Kind, Point, Row, stored_value, typed_value

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

    writers: int  # batches worth writing at once (the ingest queue's lanes)

    async def write(self, batch: Sequence[tuple[int, Point]]) -> int:
        """Store ``(device id, point)`` pairs durably; returns how many points were new."""

    async def write_rows(self, rows: Sequence[Row]) -> int:
        """Store rows (see ``taihu.devices.values.Row``) durably; returns how many were new."""

    async def latest(self, device_id: int, keys: Sequence[str] | None = None) -> dict[str, Sample]:
        """The latest value of each key (all keys when ``keys`` is None)."""

    async def last_ts(self, device_id: int, not_after: int) -> int | None:
        """The newest time among a device's latest values not after ``not_after`` (ms)."""

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

    async def rotate(self, now: int, cutoff: int) -> list[str]:
        """Prepare storage for the coming weeks and drop whole weeks of points before ``cutoff``.

        PostgreSQL's week partitions; a no-op elsewhere. Returns the partitions dropped.
        """


_MONDAY = week_of(0) % WEEK_MS  # week_of, inlined in the per-row loop of PostgresStore.write_rows
_COLUMNS = ("device_id", "key", "ts", "kind", "num", "txt")
# Only constants are formatted into the statements; the values travel as parameters.
_LATEST_SET = (
    "ON CONFLICT (device_id, key) DO UPDATE SET "
    "ts = excluded.ts, kind = excluded.kind, num = excluded.num, txt = excluded.txt "
    "WHERE excluded.ts >= ts_latest.ts"
)
_LATEST_SQL = (
    "INSERT INTO ts_latest (device_id, key, ts, kind, num, txt) VALUES (?, ?, ?, ?, ?, ?) "  # noqa: S608
    + _LATEST_SET
)
_POINTS_SQL = (
    "INSERT INTO ts_points (device_id, key, ts, kind, num, txt) VALUES (?, ?, ?, ?, ?, ?) "
    "ON CONFLICT DO NOTHING"
)
_ROLLUP_SET = (
    "ON CONFLICT (device_id, key, period, start_ts) DO UPDATE SET min = {least}(ts_rollups.min, "
    "excluded.min), max = {greatest}(ts_rollups.max, excluded.max), "
    "sum = ts_rollups.sum + excluded.sum, count = ts_rollups.count + excluded.count"
)
# SQLite's min() and max() with two arguments are the scalar minimum and maximum.
_ROLLUP_SQL = (
    "INSERT INTO ts_rollups (device_id, key, period, start_ts, min, max, sum, count) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?) " + _ROLLUP_SET.format(least="min", greatest="max")
)
# PostgreSQL: a whole batch per statement, as arrays unnested into rows.
_PG_POINTS_SQL = (
    "INSERT INTO ts_points (device_id, key, ts, kind, num, txt) SELECT * FROM unnest("
    "$1::int[], $2::text[], $3::bigint[], $4::smallint[], $5::float8[], $6::text[]) "
    "ON CONFLICT DO NOTHING RETURNING device_id, key, ts"
)
_PG_LATEST_SQL = (
    "INSERT INTO ts_latest (device_id, key, ts, kind, num, txt) SELECT * FROM unnest("  # noqa: S608
    "$1::int[], $2::text[], $3::bigint[], $4::smallint[], $5::float8[], $6::text[]) " + _LATEST_SET
)
_PG_ROLLUP_SQL = (
    "INSERT INTO ts_rollups (device_id, key, period, start_ts, min, max, sum, count) "  # noqa: S608
    "SELECT * FROM unnest($1::int[], $2::text[], $3::int[], $4::bigint[], $5::float8[], "
    "$6::float8[], $7::float8[], $8::int[]) "
    + _ROLLUP_SET.format(least="least", greatest="greatest")
)


# Replacing a stored point: the changed rows only (an identical resend is not an overwrite).
_OVERWRITE_SQL = (
    "UPDATE ts_points SET kind = v.column4, num = v.column5, txt = v.column6 FROM (VALUES {}) AS v "
    "WHERE ts_points.device_id = v.column1 AND ts_points.key = v.column2 "
    "AND ts_points.ts = v.column3 AND (ts_points.kind IS NOT v.column4 "
    "OR ts_points.num IS NOT v.column5 OR ts_points.txt IS NOT v.column6) "
    "RETURNING device_id, key, ts"
)
_OVERWRITE_CHUNK = 1000  # rows per statement: 6 parameters each, under SQLite's 32766
_PG_OVERWRITE_SQL = (
    "UPDATE ts_points AS p SET kind = i.kind, num = i.num, txt = i.txt FROM unnest("
    "$1::int[], $2::text[], $3::bigint[], $4::smallint[], $5::float8[], $6::text[]) "
    "AS i(device_id, key, ts, kind, num, txt) "
    "WHERE p.device_id = i.device_id AND p.key = i.key AND p.ts = i.ts "
    "AND (p.kind, p.num, p.txt) IS DISTINCT FROM (i.kind, i.num, i.txt) "
    "RETURNING p.device_id, p.key, p.ts"
)


def latest_rows(rows: Sequence[Row]) -> list[Row]:
    """The newest row per (device, key), sorted by them (a stable lock order)."""
    newest: dict[tuple[int, str], Row] = {}
    for row in rows:
        key = (row[0], row[1])
        old = newest.get(key)
        if old is None or row[2] >= old[2]:
            newest[key] = row
    return [newest[k] for k in sorted(newest)]


class _SqlStore:
    """The store on the platform's relational database."""

    writers = 1  # SQLite: one writer at a time; a second would wait for the database's lock

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- writing -------------------------------------------------------------------------------

    async def write(self, batch: Sequence[tuple[int, Point]]) -> int:
        """Store points, latest values and rollups in one transaction."""
        return await self.write_rows([(d, p.key, p.ts, *stored_value(p)) for d, p in batch])

    async def write_rows(self, rows: Sequence[Row]) -> int:
        """Store rows, their latest values and rollups in one transaction."""
        raise NotImplementedError

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

    async def last_ts(self, device_id: int, not_after: int) -> int | None:
        """The newest time among a device's latest values not after ``not_after``."""
        t = TsLatest.__table__
        async with self.db.engine.connect() as conn:
            result = await conn.execute(
                sa.select(sa.func.max(t.c.ts)).where(t.c.device_id == device_id,
                                                     t.c.ts <= not_after)
            )  # fmt: skip
            last = result.scalar_one()
            return None if last is None else int(last)

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
                    # Floor division: `/` is true division, which PostgreSQL rounds when cast back.
                    bucket = (r.c.start_ts - start) // interval
                    stmt = sa.select(
                        bucket, sa.func.min(r.c.min), sa.func.max(r.c.max), sa.func.sum(r.c.sum),
                        sa.func.sum(r.c.count),
                    ).where(
                        r.c.device_id.in_(list(device_ids)), r.c.key == key, r.c.period == period,
                        r.c.start_ts >= start, r.c.start_ts < end,
                    )  # fmt: skip
                else:
                    p = TsPoint.__table__
                    bucket = (p.c.ts - start) // interval
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

    async def rotate(self, now: int, cutoff: int) -> list[str]:  # noqa: ARG002 - no partitions
        """SQLite keeps points in one table: retention deletes rows."""
        return []

    async def write_rows(self, rows: Sequence[Row]) -> int:
        """Store rows, their latest values and rollups in one transaction."""
        if not rows:
            return 0
        async with self.db.engine.begin() as conn:
            changed: list[Row] = []
            if await self._insert_all_new(conn, rows):
                added: Sequence[Row] = rows
            else:
                distinct = _distinct(rows)
                added = await self._insert_some(conn, distinct)
                changed = await self._overwrite(conn, distinct, added)
            for sql, items in (
                (_LATEST_SQL, latest_rows([*added, *changed] if changed else added)),
                (_ROLLUP_SQL, rollup_rows(added)),
            ):
                if items:
                    # Plain SQL over the driver's executemany: at ingest rates SQLAlchemy's
                    # per-row parameter processing costs more than the database does.
                    await conn.exec_driver_sql(sql, items)
            if changed:
                await recompute((r[:3] for r in changed), conn.exec_driver_sql)
        return len(added)

    async def _insert_all_new(self, conn: AsyncConnection, rows: Sequence[Row]) -> bool:
        # One executemany; sqlite3 sums the rows it changed. Fewer than sent means some points
        # were there already (or came twice): undo, and let _insert_some sort out which.
        savepoint = await conn.begin_nested()
        result = await conn.exec_driver_sql(_POINTS_SQL, rows)
        if result.rowcount == len(rows):
            await savepoint.commit()
            return True
        await savepoint.rollback()
        return False

    async def _insert_some(
        self, conn: AsyncConnection, distinct: dict[tuple[int, str, int], Row]
    ) -> list[Row]:
        table = sa.table("ts_points", *(sa.column(c) for c in _COLUMNS))
        # One compiled statement, executed over many rows: SQLAlchemy's "insertmanyvalues"
        # sends them as multi-row INSERT … RETURNING batches.
        stmt = (
            sqlite.insert(table).on_conflict_do_nothing()
            .returning(table.c.device_id, table.c.key, table.c.ts)
        )  # fmt: skip
        values = [dict(zip(_COLUMNS, r, strict=True)) for r in distinct.values()]
        result = await conn.execute(stmt, values)
        return [distinct[(d, k, ts)] for d, k, ts in result]

    async def _overwrite(
        self, conn: AsyncConnection, distinct: dict[tuple[int, str, int], Row],
        added: Sequence[Row],
    ) -> list[Row]:  # fmt: skip
        # The rows that were there already: those with another value replace the stored one.
        rest = _not_added(distinct, added)
        changed: list[Row] = []
        for i in range(0, len(rest), _OVERWRITE_CHUNK):
            chunk = rest[i : i + _OVERWRITE_CHUNK]
            sql = _OVERWRITE_SQL.format(", ".join(["(?, ?, ?, ?, ?, ?)"] * len(chunk)))
            result = await conn.exec_driver_sql(sql, tuple(v for r in chunk for v in r))
            keys: Iterable[Any] = result  # (device_id, key, ts) of each row replaced
            changed.extend(distinct[(d, k, ts)] for d, k, ts in keys)
        return changed


class PostgresStore(_SqlStore):
    """The store on PostgreSQL: COPY for the points, one set-based upsert per table.

    Points live in week partitions (see ``taihu.devices.partitions``).
    """

    # Two batches at once: one prepared in Python while the other is in the database. Each
    # device's rows go to one writer and every upsert takes its row locks in sorted order, so
    # two writers never deadlock.
    writers = 2

    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self.partitions = PartitionedPoints()

    async def rotate(self, now: int, cutoff: int) -> list[str]:
        """Create this week's and the next two weeks' partitions; drop weeks before ``cutoff``."""
        async with self.db.engine.connect() as conn:
            raw: asyncpg.Connection = (await conn.get_raw_connection()).driver_connection
            await self.partitions.ensure(raw, (week_of(now) + i * WEEK_MS for i in range(3)))
            return await self.partitions.drop_before(raw, cutoff)

    async def write_rows(self, rows: Sequence[Row]) -> int:
        """Store rows, their latest values and rollups in one transaction."""
        if not rows:
            return 0
        async with self.db.engine.connect() as conn:
            # asyncpg itself: COPY and array parameters have no SQLAlchemy spelling.
            raw: asyncpg.Connection = (await conn.get_raw_connection()).driver_connection
            await self.partitions.ensure(raw, {r[2] - (r[2] - _MONDAY) % WEEK_MS for r in rows})
            async with raw.transaction():
                try:
                    async with raw.transaction():  # a savepoint: a failed COPY leaves nothing
                        await raw.copy_records_to_table("ts_points", records=rows, columns=_COLUMNS)
                    added: Sequence[Row] = rows
                    changed: list[Row] = []
                except asyncpg.UniqueViolationError:  # a point already stored (or twice here)
                    # One statement can change a row only once: the batch is made distinct
                    # first, keeping the last row of each (device, key, ts).
                    changed = []
                    distinct = _distinct(rows)
                    stored = await raw.fetch(_PG_POINTS_SQL, *_columns(distinct.values(), 6))
                    added = [distinct[(r[0], r[1], r[2])] for r in stored]
                    rest = _not_added(distinct, added)
                    if rest:
                        replaced = await raw.fetch(_PG_OVERWRITE_SQL, *_columns(rest, 6))
                        changed = [distinct[(r[0], r[1], r[2])] for r in replaced]
                latest = latest_rows([*added, *changed] if changed else added)
                if latest:
                    await raw.execute(_PG_LATEST_SQL, *_columns(latest, 6))
                rollups = rollup_rows(added)
                if rollups:
                    await raw.execute(_PG_ROLLUP_SQL, *_columns(rollups, 8))
                if changed:
                    await recompute((r[:3] for r in changed), raw.executemany, numbered=True)
        return len(added)


def _distinct(rows: Sequence[Row]) -> dict[tuple[int, str, int], Row]:
    """The rows by (device, key, ts); the last of a batch wins, as in ThingsBoard."""
    return {(r[0], r[1], r[2]): r for r in rows}


def _not_added(distinct: dict[tuple[int, str, int], Row], added: Sequence[Row]) -> list[Row]:
    """The rows of a batch whose (device, key, ts) was stored already."""
    new = {(r[0], r[1], r[2]) for r in added}
    return [r for k, r in distinct.items() if k not in new]


def _columns(rows: Iterable[tuple[Any, ...]], width: int) -> list[Any]:
    """Rows as one list per column (array parameters for ``unnest``)."""
    columns = list(zip(*rows, strict=True))
    return [list(c) for c in columns] if columns else [[] for _ in range(width)]


def store_for(db: Database) -> TimeSeriesStore:
    """The store implementation for a database's dialect."""
    return SqliteStore(db) if db.dialect == "sqlite" else PostgresStore(db)
