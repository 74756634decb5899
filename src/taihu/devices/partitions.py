"""PostgreSQL: raw points in weekly range partitions of ``ts_points``, created as data arrives.

    ts_points            PARTITION BY RANGE (ts)
    ├─ ts_points_w20261123   [2026-11-23, 2026-11-30)  one per week (Monday 00:00 UTC), in ms
    ├─ …
    └─ ts_points_default     anything no week partition holds yet (normally empty)

The writer asks for the weeks of each batch before it copies the batch in (``ensure``); the
retention job creates the coming weeks ahead and drops weeks that ended before the longest
retention of any profile (``drop_before``): a whole week goes at once, without deleting rows one
by one. Points of profiles with a shorter retention are deleted row by row, as on SQLite.
Creating a week moves rows it must hold out of the default partition first, so a late or early
point that landed there never blocks the partition.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime

import asyncpg

__all__ = ["WEEK_MS", "PartitionedPoints", "week_of"]

WEEK_MS = 7 * 86_400_000
_MONDAY_MS = 4 * 86_400_000  # 1970-01-01 was a Thursday; weeks start on Mondays
_LOCK = 0x7461_6968_7501  # pg_advisory_xact_lock key: one creator of partitions at a time
_BOUNDS = re.compile(r"FROM \('?(-?\d+)'?\) TO \('?(-?\d+)'?\)")


def week_of(ts: int) -> int:
    """The start (ms) of the partition week holding ``ts``."""
    return ts - (ts - _MONDAY_MS) % WEEK_MS


def _name(start: int) -> str:
    return "ts_points_w" + datetime.fromtimestamp(start / 1000, UTC).strftime("%Y%m%d")


class PartitionedPoints:
    """The week partitions of ``ts_points`` on one database (what exists is cached)."""

    def __init__(self) -> None:
        self.known: set[int] = set()  # week starts known to exist

    async def partitions(self, conn: asyncpg.Connection) -> dict[str, tuple[int, int]]:
        """Every week partition: name -> (start, end) in ms."""
        rows = await conn.fetch(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'ts_points'::regclass AND NOT c.relpartbound IS NULL"
        )
        out = {}
        for name, bound in rows:
            found = _BOUNDS.search(bound or "")
            if found:  # the default partition has no bounds
                out[name] = (int(found[1]), int(found[2]))
        return out

    async def ensure(self, conn: asyncpg.Connection, weeks: Iterable[int]) -> list[str]:
        """Create the partitions of these week starts that do not exist; their names."""
        missing = sorted(set(weeks) - self.known)
        if not missing:
            return []
        created = []
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK)
            existing = {start for start, _ in (await self.partitions(conn)).values()}
            for start in missing:
                if start not in existing:
                    await self._create(conn, start)
                    created.append(_name(start))
        self.known.update(missing)
        return created

    async def _create(self, conn: asyncpg.Connection, start: int) -> None:
        end = start + WEEK_MS
        name = _name(start)
        # Rows of this week in the default partition would make CREATE … PARTITION OF fail:
        # move them aside, create the week, and put them back (they land in the new week).
        await conn.execute(
            "CREATE TEMPORARY TABLE ts_points_moving (LIKE ts_points) ON COMMIT DROP"
        )
        await conn.execute(
            "WITH moved AS (DELETE FROM ts_points_default WHERE ts >= $1 AND ts < $2 "
            "RETURNING *) INSERT INTO ts_points_moving SELECT * FROM moved",
            start, end,
        )  # fmt: skip
        # Identifiers cannot be parameters; the name and bounds are formatted from integers.
        await conn.execute(
            f"CREATE TABLE {name} PARTITION OF ts_points FOR VALUES FROM ({start}) TO ({end})"
        )
        await conn.execute("INSERT INTO ts_points SELECT * FROM ts_points_moving")
        await conn.execute("DROP TABLE ts_points_moving")

    async def drop_before(self, conn: asyncpg.Connection, cutoff: int) -> list[str]:
        """Drop the week partitions that end at or before ``cutoff``; their names."""
        dropped = []
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK)
            for name, (start, end) in sorted((await self.partitions(conn)).items()):
                if end <= cutoff:
                    await conn.execute(f'DROP TABLE "{name}"')
                    self.known.discard(start)
                    dropped.append(name)
        return dropped
