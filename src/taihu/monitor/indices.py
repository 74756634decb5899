"""The resumption indices, as pure functions over arrays (no database, no HTTP).

For enterprise i with daily use E(i, d) in kWh:

    source s(i, d)     = where E(i, d) came from: the grid company's file where it covers the
                         day (a billing figure, never overwritten), else the enterprise's meters
    baseline B(i, s)   = mean of E(i, d) from source s over the baseline window, zero and missing
                         days left out; no such day: no baseline (listed, never guessed)
    counted on day d   = enterprises with a reading on d and a baseline from the same source:
                         B(i) below means B(i, s(i, d)), so a meter's day is never divided by a
                         grid file's baseline (a sub-meter reads a part of the site's use)
    resumed(i, d)      = E(i, d) >= theta · B(i)        (theta default 0.30)
    复工率 resumption   = resumed / counted
    复产率 production   = Σ E / Σ B over the counted (or, as an option, over the resumed only)
    composite          = (resumption + production) / 2
    band               = green ≥ G, yellow ≥ Y, orange ≥ O, else red   (of the composite; for one
                         enterprise, of E / B)

The comparison allows a relative 1e-9 so that E = theta · B counts as resumed although
``0.3 * 100`` is ``30.000000000000004`` in binary floating point. Groups (township, industry
class, chain, segment, key list) are memberships; one enterprise may be in several groups of one
kind (several chains), and each group is computed over its own members with ``numpy.bincount``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import numpy.typing as npt

__all__ = [
    "TOLERANCE",
    "Bands",
    "Grouping",
    "IndexValues",
    "Params",
    "PowerMatrix",
    "baseline_window",
    "baselines",
    "day_baselines",
    "day_flags",
    "day_index",
    "district_series",
    "group_index",
    "index_values",
]

Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]
Ints = npt.NDArray[np.int64]
TOLERANCE = 1e-9


@dataclass(frozen=True, slots=True)
class Bands:
    """Warning bands: lower bounds of green, yellow and orange; red below orange."""

    green: float = 0.8
    yellow: float = 0.6
    orange: float = 0.4

    def of(self, value: float | None) -> str | None:
        """The band of an index value (None when there is no value)."""
        if value is None:
            return None
        if value >= self.green:
            return "green"
        if value >= self.yellow:
            return "yellow"
        return "orange" if value >= self.orange else "red"


@dataclass(frozen=True, slots=True)
class Params:
    """How the indices are computed."""

    theta: float = 0.30
    resumed_only: bool = False  # production rate over resumed enterprises only
    bands: Bands = Bands()


@dataclass(frozen=True, slots=True)
class PowerMatrix:
    """Daily use of ``ids[i]`` on ``start + j`` days in ``kwh[i, j]``; NaN where no reading.

    ``meter[i, j]`` is true where the reading came from the enterprise's meters rather than the
    grid company's file (``None``: every reading is from the grid file).
    """

    ids: tuple[int, ...]
    start: date
    kwh: Floats
    meter: Bools | None = None

    @classmethod
    def build(
        cls, ids: Iterable[int], start: date, end: date,
        rows: Iterable[tuple[int, date, float] | tuple[int, date, float, bool]],
    ) -> PowerMatrix:  # fmt: skip
        """A matrix over ``[start, end]`` from ``(id, day, kwh[, from meters])`` rows."""
        ids = tuple(ids)
        position = {key: i for i, key in enumerate(ids)}
        days = (end - start).days + 1
        kwh = np.full((len(ids), max(days, 0)), np.nan)
        meter = np.zeros(kwh.shape, dtype=np.bool_)
        for key, day, value, *source in rows:
            i, j = position.get(key), (day - start).days
            if i is not None and 0 <= j < days:
                kwh[i, j] = value
                meter[i, j] = bool(source and source[0])
        return cls(ids, start, kwh, meter)

    @property
    def end(self) -> date:
        """The last day covered."""
        return self.start + timedelta(days=self.kwh.shape[1] - 1)

    def column(self, day: date) -> int:
        """The column of a day (may lie outside the matrix)."""
        return (day - self.start).days

    def day(self, day: date) -> Floats:
        """One day's use of every enterprise (all NaN outside the matrix)."""
        j = self.column(day)
        if 0 <= j < self.kwh.shape[1]:
            return self.kwh[:, j]
        return np.full(len(self.ids), np.nan)


@dataclass(frozen=True, slots=True)
class IndexValues:
    """The indices of one group (or the district) on one day."""

    enterprises: int  # counted: with a baseline and a reading
    resumed: int
    energy: float  # Σ E of the counted, kWh
    baseline: float  # Σ B of the counted, kWh
    resumption_rate: float | None
    production_rate: float | None
    composite_index: float | None
    band: str | None
    no_reading: int = 0  # with a baseline but without a reading: not counted


def baseline_window(
    day: date, start: date | None = None, end: date | None = None
) -> tuple[date, date]:
    """The baseline window for a day: ``[start, end]`` when given, else the previous December."""
    if start is not None and end is not None:
        return start, end
    return date(day.year - 1, 12, 1), date(day.year - 1, 12, 31)


def baselines(matrix: PowerMatrix, window: tuple[date, date], *, meter: bool = False) -> Floats:
    """B per enterprise: the mean of its non-zero readings in the window; NaN without any.

    Of the grid file's readings, or with ``meter`` of the meters' (see the module's rule).
    """
    lo = max(matrix.column(window[0]), 0)
    hi = min(matrix.column(window[1]) + 1, matrix.kwh.shape[1])
    if hi <= lo:
        return np.full(len(matrix.ids), np.nan)
    block = matrix.kwh[:, lo:hi]
    usable = ~np.isnan(block) & (block > 0)
    source = matrix.meter[:, lo:hi] if matrix.meter is not None else np.zeros_like(usable)
    usable &= source if meter else ~source
    count = usable.sum(axis=1)
    total = np.where(usable, block, 0.0).sum(axis=1)
    out = np.full(len(matrix.ids), np.nan)
    np.divide(total, count, out=out, where=count > 0)
    return out


def day_baselines(matrix: PowerMatrix, grid: Floats, meter: Floats) -> Floats:
    """B(i, s(i, d)) for every cell of the matrix: the baseline of the reading's own source.

    A cell without a reading gets the grid file's baseline where there is one, else the
    meters' (it is not counted either way; this is what its threshold is drawn against).
    """
    fallback = np.where(np.isnan(grid), meter, grid)[:, None]
    if matrix.meter is None:
        return np.repeat(fallback, matrix.kwh.shape[1], axis=1)
    has = ~np.isnan(matrix.kwh)
    own = np.where(matrix.meter, meter[:, None], grid[:, None])
    return np.where(has, own, fallback)


def _thresholds(base: Floats, theta: float) -> Floats:
    return base * theta * (1 - TOLERANCE)


def day_flags(energy: Floats, base: Floats, theta: float) -> tuple[Bools, Bools]:
    """Per enterprise on one day: counted (baseline and reading) and resumed."""
    counted = ~np.isnan(base) & ~np.isnan(energy)
    with np.errstate(invalid="ignore"):
        resumed = counted & (energy >= _thresholds(base, theta))
    return counted, resumed


def index_values(
    n: int, r: int, se: float, sb: float, ser: float, sbr: float, params: Params,
    no_reading: int = 0,
) -> IndexValues:  # fmt: skip
    """The indices from their sums: counted, resumed, Σ E, Σ B, and Σ E, Σ B of the resumed."""
    resumption = r / n if n else None
    if params.resumed_only:
        production = ser / sbr if sbr > 0 else None
    else:
        production = se / sb if sb > 0 else None
    composite = None
    if resumption is not None and production is not None:
        composite = (resumption + production) / 2
    return IndexValues(n, r, se, sb, resumption, production, composite,
                       params.bands.of(composite), no_reading)  # fmt: skip


def day_index(energy: Floats, base: Floats, params: Params) -> IndexValues:
    """The district's indices on one day."""
    counted, resumed = day_flags(energy, base, params.theta)
    e = np.where(counted, energy, 0.0)
    b = np.where(counted, base, 0.0)
    return index_values(
        int(counted.sum()), int(resumed.sum()), float(e.sum()), float(b.sum()),
        float(e[resumed].sum()), float(b[resumed].sum()), params,
        int((~np.isnan(base) & np.isnan(energy)).sum()),
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Grouping:
    """Memberships of enterprises (by row) in the groups of one kind."""

    kind: str
    labels: tuple[str, ...]
    rows: Ints  # enterprise row of each membership
    groups: Ints  # group index of each membership

    @classmethod
    def of(cls, kind: str, members: Mapping[int, Iterable[str]]) -> Grouping:
        """From ``{enterprise row: group ids}``."""
        labels = sorted({g for gs in members.values() for g in gs})
        index = {label: k for k, label in enumerate(labels)}
        pairs = [(row, index[g]) for row, gs in members.items() for g in set(gs)]
        rows = np.fromiter((p[0] for p in pairs), dtype=np.int64, count=len(pairs))
        groups = np.fromiter((p[1] for p in pairs), dtype=np.int64, count=len(pairs))
        return cls(kind, tuple(labels), rows, groups)

    @classmethod
    def of_pairs(cls, kind: str, rows: Sequence[int], keys: Sequence[str]) -> Grouping:
        """From parallel lists of enterprise rows and group ids; a repeated pair counts once."""
        labels = sorted(set(keys))
        index = {label: k for k, label in enumerate(labels)}
        row = np.fromiter(rows, np.int64, len(rows))
        group = np.fromiter((index[key] for key in keys), np.int64, len(keys))
        if len(labels) > 1:
            pair = np.unique(row * len(labels) + group)
            row, group = pair // len(labels), pair % len(labels)
        elif len(row):
            row = np.unique(row)
            group = np.zeros(len(row), dtype=np.int64)
        return cls(kind, tuple(labels), row, group)


def group_index(
    energy: Floats, base: Floats, params: Params, grouping: Grouping
) -> dict[str, IndexValues]:
    """Each group's indices on one day, keyed by group id."""
    counted, resumed = day_flags(energy, base, params.theta)
    e = np.where(counted, energy, 0.0)
    b = np.where(counted, base, 0.0)
    rows, size = grouping.rows, len(grouping.labels)

    def total(weights: npt.NDArray[np.float64] | Bools) -> Floats:
        counts = np.bincount(grouping.groups, weights=weights[rows], minlength=size)
        return counts.astype(np.float64)

    n, r = total(counted), total(resumed)
    se, sb = total(e), total(b)
    ser, sbr = total(np.where(resumed, e, 0.0)), total(np.where(resumed, b, 0.0))
    absent = total(~np.isnan(base) & np.isnan(energy))
    return {
        label: index_values(
            int(n[k]),
            int(r[k]),
            float(se[k]),
            float(sb[k]),
            float(ser[k]),
            float(sbr[k]),
            params,
            int(absent[k]),
        )
        for k, label in enumerate(grouping.labels)
    }


def district_series(
    matrix: PowerMatrix, base: Floats, params: Params, first: date, last: date
) -> list[tuple[date, IndexValues]]:
    """The district's indices for every day of ``[first, last]`` (within the matrix).

    ``base`` is one baseline per enterprise, or one per cell of the matrix (``day_baselines``).
    """
    lo = max(matrix.column(first), 0)
    hi = min(matrix.column(last) + 1, matrix.kwh.shape[1])
    if hi <= lo:
        return []
    block = matrix.kwh[:, lo:hi]
    cells = base[:, lo:hi] if base.ndim == 2 else np.broadcast_to(base[:, None], block.shape)
    counted = ~np.isnan(block) & ~np.isnan(cells)
    with np.errstate(invalid="ignore"):
        resumed = counted & (block >= _thresholds(cells, params.theta))
    e = np.where(counted, block, 0.0)
    b = np.where(counted, np.nan_to_num(cells), 0.0)
    n, r = counted.sum(axis=0), resumed.sum(axis=0)
    se, sb = e.sum(axis=0), b.sum(axis=0)
    ser, sbr = np.where(resumed, e, 0.0).sum(axis=0), np.where(resumed, b, 0.0).sum(axis=0)
    absent = (~np.isnan(cells) & np.isnan(block)).sum(axis=0)
    return [
        (
            matrix.start + timedelta(days=lo + j),
            index_values(
                int(n[j]),
                int(r[j]),
                float(se[j]),
                float(sb[j]),
                float(ser[j]),
                float(sbr[j]),
                params,
                int(absent[j]),
            ),
        )
        for j in range(hi - lo)
    ]
