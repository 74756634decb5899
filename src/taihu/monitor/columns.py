"""The day columns: every enterprise's daily use read as one packed row per day.

``monitor_power_days`` (one row per enterprise and day) is where power is written and what the
API shows; reading a district's year from it means 3.65 million rows turned into Python objects,
which costs seconds before any arithmetic. ``monitor_power_columns`` keeps the same figures as
one row per day (enterprise ids, kWh and the readings' sources as packed little-endian arrays),
so the indices read
one row per day and hand the bytes to NumPy. The columns hold the exact float64 values, so the
baselines, θ and the window stay free per request: nothing is pre-aggregated.

Keeping them true::

    write to monitor_power_days ──trigger──► monitor_power_dirty_days (the day)
                │                                       │
                └─ same transaction: refresh_columns ◄──┘  rebuilds those days' columns
    read: columns of the range, and for any day still dirty (written by a path that did not
          refresh, e.g. a bulk load) that day's rows from monitor_power_days

The triggers (migration ``monitor_0002``) see every write, whoever makes it (imports, the meter
sync, a cascade from a deleted enterprise, a hand-written SQL fix), so a column is never trusted
after its day changed; the refresh in the writing transaction keeps the fast path the common one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from taihu.monitor.indices import PowerMatrix
from taihu.monitor.models import PowerColumn, PowerDay, PowerDirtyDay

__all__ = ["lock_columns", "read_matrix", "refresh_columns"]

_IDS, _KWH, _METER = np.dtype("<i8"), np.dtype("<f8"), np.dtype("u1")
Packed = tuple[bytes, bytes, bytes]
_CHUNK_DAYS = 31  # days rebuilt per query: a month of a 10,000-enterprise district is 310k rows
# Serializes column rebuilds on PostgreSQL: a rebuild reads the days after this lock, so it sees
# every transaction that rebuilt before it (READ COMMITTED takes a new snapshot per statement).
_REBUILD_LOCK = 0x7461_6968_7530_3032


Rows = tuple[
    npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.bool_]
]


def _pack(
    days: npt.NDArray[np.int64],
    ids: npt.NDArray[np.int64],
    kwh: npt.NDArray[np.float64],
    meter: npt.NDArray[np.bool_],
) -> dict[int, Packed]:
    """Rows sorted by (day, id) as ``{day ordinal: (ids, kWh, from-meter bytes)}``."""
    out: dict[int, Packed] = {}
    if not len(days):
        return out
    cuts = np.flatnonzero(np.diff(days)) + 1
    for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, len(days)], strict=True):
        out[int(days[lo])] = (
            ids[lo:hi].astype(_IDS).tobytes(), kwh[lo:hi].astype(_KWH).tobytes(),
            meter[lo:hi].astype(_METER).tobytes(),
        )  # fmt: skip
    return out


async def _rows_of_days(session: AsyncSession, days: Sequence[date]) -> Rows:
    """The (day ordinal, enterprise id, kWh, from meters) of the days' rows, by day and id."""
    connection = await session.connection()
    rows = (
        await connection.execute(
            sa.select(PowerDay.day, PowerDay.enterprise_id, PowerDay.kwh, PowerDay.source)
            .where(PowerDay.day.in_(days))
            .order_by(PowerDay.day, PowerDay.enterprise_id)
        )
    ).all()
    count = len(rows)
    return (
        np.fromiter((r[0].toordinal() for r in rows), np.int64, count),
        np.fromiter((r[1] for r in rows), np.int64, count),
        np.fromiter((r[2] for r in rows), np.float64, count),
        np.fromiter((r[3] == "meter" for r in rows), np.bool_, count),
    )


async def lock_columns(session: AsyncSession) -> None:
    """Serialize this transaction's power writes with other writers' (held until it ends).

    Taken before the writer reads what exists: two imports of the same days would otherwise
    both see a day as new and the second fail on the unique (enterprise, day); on PostgreSQL
    they could also each hold a dirty-day row the other's trigger waits for.
    """
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(sa.select(sa.func.pg_advisory_xact_lock(_REBUILD_LOCK)))
    else:
        # SQLite's driver begins a transaction at the first write; a write that matches
        # nothing takes the database's write lock now (waiting out the busy timeout), so
        # the reads that follow see every earlier writer's commit (BEGIN IMMEDIATE, in effect).
        await session.execute(sa.delete(PowerDirtyDay).where(sa.false()))


async def refresh_columns(session: AsyncSession) -> int:
    """Rebuild the columns of every day written since its last rebuild; returns how many days.

    Call it in the transaction that wrote the power (the import and the meter sync do); a bulk
    loader that writes rows itself calls it once at the end.
    """
    await session.flush()  # pending ORM updates reach the table, and its triggers, first
    await lock_columns(session)  # a lock already held by this transaction is taken again at once
    dirty = sorted(await session.scalars(sa.select(PowerDirtyDay.day)))
    for start in range(0, len(dirty), _CHUNK_DAYS):
        chunk = dirty[start : start + _CHUNK_DAYS]
        packed = _pack(*await _rows_of_days(session, chunk))
        await session.execute(sa.delete(PowerColumn).where(PowerColumn.day.in_(chunk)))
        if packed:
            await session.execute(sa.insert(PowerColumn), [
                {"day": date.fromordinal(day), "ids": ids, "kwh": kwh, "meter": meter}
                for day, (ids, kwh, meter) in packed.items()
            ])  # fmt: skip
        await session.execute(sa.delete(PowerDirtyDay).where(PowerDirtyDay.day.in_(chunk)))
    return len(dirty)


class _Placer:
    """Puts one day's packed (ids, kWh) into the rows of the asked enterprises."""

    def __init__(self, ids: tuple[int, ...], width: int) -> None:
        wanted = np.fromiter(ids, np.int64, len(ids))
        # A lookup table from enterprise id to row (ids are small positive integers): one
        # gather per day instead of a search, for each of 365 days of 10,000 enterprises.
        self.row = np.full(int(wanted.max(initial=0)) + 1, -1, dtype=np.intp)
        self.row[wanted] = np.arange(len(ids))
        # Days-major while filling, so each day is one contiguous row; transposed at the end.
        self.by_day = np.full((width, len(ids)), np.nan)
        self.meter = np.zeros((width, len(ids)), dtype=np.bool_)

    def place(self, column: int, packed_ids: bytes, packed_kwh: bytes, packed_meter: bytes) -> None:
        """Day ``column``'s readings; ids not asked for are left out."""
        ids = np.frombuffer(packed_ids, _IDS)
        values = np.frombuffer(packed_kwh, _KWH)
        meter = np.frombuffer(packed_meter, _METER).astype(np.bool_)
        ids_in = (ids >= 0) & (ids < len(self.row))
        rows = np.where(ids_in, self.row[np.where(ids_in, ids, 0)], -1)
        keep = rows >= 0
        self.by_day[column, rows[keep]] = values[keep]
        self.meter[column, rows[keep]] = meter[keep]

    def matrix(self, ids: tuple[int, ...], first: date) -> PowerMatrix:
        """The matrix, one row per enterprise."""
        return PowerMatrix(ids, first, np.ascontiguousarray(self.by_day.T),
                           np.ascontiguousarray(self.meter.T))  # fmt: skip


async def read_matrix(
    session: AsyncSession, ids: Iterable[int], first: date, last: date
) -> PowerMatrix:
    """The enterprises' use over ``[first, last]`` from the columns (dirty days from rows)."""
    ids = tuple(ids)
    placer = _Placer(ids, max((last - first).days + 1, 0))
    # The dirty days first: an import or sync committing between the two reads then shows
    # either its old days or its rebuilt columns. A writer that does not rebuild and commits
    # just then is seen from the next read on (its days are dirty from then).
    dirty = set(await session.scalars(
        sa.select(PowerDirtyDay.day).where(PowerDirtyDay.day.between(first, last))
    ))  # fmt: skip
    connection = await session.connection()  # Core rows: no ORM processing of the bytes
    found = await connection.execute(
        sa.select(PowerColumn.day, PowerColumn.ids, PowerColumn.kwh, PowerColumn.meter).where(
            PowerColumn.day.between(first, last)
        )
    )
    for day, packed_ids, packed_kwh, packed_meter in found:
        if day not in dirty:
            placer.place((day - first).days, packed_ids, packed_kwh, packed_meter)
    if dirty:
        for ordinal, packed in _pack(*await _rows_of_days(session, sorted(dirty))).items():
            placer.place(ordinal - first.toordinal(), *packed)
    return placer.matrix(ids, first)
