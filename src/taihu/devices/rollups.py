"""Rollups: min, max, sum and count of numeric keys per 1 minute, 1 hour and 1 day.

    points ──rollup_rows──► upserts added to the stored buckets    (new points, every batch)
    overwritten points ──recompute──► minute  from ts_points       (rare: a value replaced)
                                      hour    from the minutes
                                      day     from the hours

New points are added to their buckets; a point whose value was replaced cannot be taken out of a
minimum or maximum, so its buckets are rebuilt from what is stored, finest first.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

from taihu.devices.values import Row

__all__ = ["PERIODS", "recompute", "rollup_rows"]

PERIODS = (60_000, 3_600_000, 86_400_000)  # rollup periods in ms: 1 min, 1 h, 1 day


def rollup_rows(rows: Sequence[Row]) -> list[tuple[int, str, int, int, float, float, float, int]]:
    """``(device, key, period, start, min, max, sum, count)`` of the numeric rows, per bucket.

    Minutes are summed from the rows, hours from the minutes and days from the hours, so the
    database sees one upsert per bucket and batch, however many points fall into it.
    """
    minutes: dict[tuple[int, str, int], list[Any]] = {}
    for device_id, key, ts, _kind, num, _txt in rows:
        if num is None:  # strings and JSON have no rollups
            continue
        bucket = (device_id, key, ts - ts % 60_000)
        acc = minutes.get(bucket)
        if acc is None:
            minutes[bucket] = [num, num, num, 1]
        else:
            if num < acc[0]:  # noqa: PLR1730 - cheaper than a call, once per point
                acc[0] = num
            if num > acc[1]:  # noqa: PLR1730
                acc[1] = num
            acc[2] += num
            acc[3] += 1
    out: list[tuple[int, str, int, int, float, float, float, int]] = []
    level = minutes
    for period in PERIODS:
        out.extend((d, k, period, start, *acc) for (d, k, start), acc in sorted(level.items()))
        if period == PERIODS[-1]:
            break
        upper: dict[tuple[int, str, int], list[Any]] = {}
        coarser = PERIODS[PERIODS.index(period) + 1]
        for (d, k, start), (lo, hi, total, count) in level.items():
            bucket = (d, k, start - start % coarser)
            acc = upper.get(bucket)
            if acc is None:
                upper[bucket] = [lo, hi, total, count]
            else:
                acc[0] = min(acc[0], lo)
                acc[1] = max(acc[1], hi)
                acc[2] += total
                acc[3] += count
        level = upper
    return out


# Recomputing a bucket after an overwrite: a minute from the points, coarser ones from the finer
# rollups. Deleted first: a bucket left without numeric points has no rollup.
_RECOMPUTE_DELETE = (
    "DELETE FROM ts_rollups WHERE device_id = ? AND key = ? AND period = ? AND start_ts = ?"
)
_RECOMPUTE_MINUTE = (
    "INSERT INTO ts_rollups (device_id, key, period, start_ts, min, max, sum, count) "
    "SELECT device_id, key, CAST(? AS INTEGER), CAST(? AS BIGINT), min(num), max(num), sum(num), "
    "count(num) FROM ts_points WHERE device_id = ? AND key = ? AND ts >= ? AND ts < ? "
    "AND num IS NOT NULL GROUP BY device_id, key"
)
_RECOMPUTE_COARSER = (
    "INSERT INTO ts_rollups (device_id, key, period, start_ts, min, max, sum, count) "
    "SELECT device_id, key, CAST(? AS INTEGER), CAST(? AS BIGINT), min(min), max(max), sum(sum), "
    "sum(count) FROM ts_rollups WHERE device_id = ? AND key = ? AND period = ? "
    "AND start_ts >= ? AND start_ts < ? GROUP BY device_id, key"
)


def _numbered(sql: str) -> str:
    """``?`` placeholders as asyncpg's ``$1``, ``$2``, … (the statements hold no other ``?``)."""
    parts = sql.split("?")
    return parts[0] + "".join(f"${i}{part}" for i, part in enumerate(parts[1:], 1))


_PG = {sql: _numbered(sql) for sql in (_RECOMPUTE_DELETE, _RECOMPUTE_MINUTE, _RECOMPUTE_COARSER)}
_Params = list[tuple[Any, ...]]


def _recompute_steps(changed: Iterable[tuple[int, str, int]]) -> list[tuple[_Params, str, _Params]]:
    """Per period, finest first: rollups to delete, and the statement and rows rebuilding them."""
    steps: list[tuple[_Params, str, _Params]] = []
    buckets = set(changed)
    finer = 0
    for period in PERIODS:
        buckets = {(d, k, t - t % period) for d, k, t in buckets}
        ordered = sorted(buckets)
        delete: _Params = [(d, k, period, s) for d, k, s in ordered]
        if finer:
            params: _Params = [(period, s, d, k, finer, s, s + period) for d, k, s in ordered]
            steps.append((delete, _RECOMPUTE_COARSER, params))
        else:
            params = [(period, s, d, k, s, s + period) for d, k, s in ordered]
            steps.append((delete, _RECOMPUTE_MINUTE, params))
        finer = period
    return steps


async def recompute(
    changed: Iterable[tuple[int, str, int]],
    executemany: Callable[[str, _Params], Awaitable[object]],
    *,
    numbered: bool = False,
) -> None:
    """Rebuild the rollups of the buckets holding overwritten ``(device, key, ts)``.

    ``executemany`` runs a statement once per parameter tuple, in the writer's transaction;
    ``numbered`` for drivers that take ``$1`` placeholders (asyncpg) rather than ``?``.
    """
    for delete, insert, params in _recompute_steps(changed):
        for sql, rows in ((_RECOMPUTE_DELETE, delete), (insert, params)):
            if rows:
                await executemany(_PG[sql] if numbered else sql, rows)
