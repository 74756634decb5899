"""The data-quality guard: readings that deserve a second look, flagged and never dropped.

    missing   an enterprise that reports power (some reading in the matrix, which the service
              reads 7 days either side of the days asked) has none on the day
    spike     E ≥ theta · B (the day counts as resumed) while the median of its neighbours (up to
              7 readings before and 7 after) is below theta · B and E ≥ spike_factor times that
              median: one busy day among idle ones, e.g. machines run idle to look resumed. A real
              restart stays up, so the days after it lift the median and it is not flagged.
    mismatch  the enterprise reported itself resumed (or not) and its power says otherwise

The indices are computed with flagged points included; the flags are shown beside them.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from taihu.monitor.indices import Floats, PowerMatrix, day_flags

__all__ = ["NEIGHBOURS", "Flag", "quality_flags"]

NEIGHBOURS = 7


@dataclass(frozen=True, slots=True)
class Flag:
    """A reading (or its absence) that the guard points at."""

    enterprise_id: int
    day: date
    kind: str  # missing, spike, mismatch
    detail: str


def _neighbour_median(kwh: Floats, j: int) -> Floats:
    before = kwh[:, max(j - NEIGHBOURS, 0) : j]
    after = kwh[:, j + 1 : j + 1 + NEIGHBOURS]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN row has no median: NaN
        return np.asarray(np.nanmedian(np.hstack([before, after]), axis=1), dtype=np.float64)


def quality_flags(
    matrix: PowerMatrix,
    base: Floats,
    first: date,
    last: date,
    *,
    theta: float,
    spike_factor: float,
    reported: Mapping[tuple[int, date], bool] | None = None,
) -> list[Flag]:
    """Flags for the days ``[first, last]`` (within the matrix), by day then enterprise."""
    reporting = ~np.all(np.isnan(matrix.kwh), axis=1) if matrix.kwh.size else np.zeros(0, bool)
    row_of = {key: i for i, key in enumerate(matrix.ids)}
    by_day: dict[date, list[tuple[int, bool]]] = {}
    for (key, when), says in (reported or {}).items():
        by_day.setdefault(when, []).append((key, says))
    flags: list[Flag] = []
    lo = max(matrix.column(first), 0)
    hi = min(matrix.column(last) + 1, matrix.kwh.shape[1])
    for j in range(lo, hi):
        day = matrix.start + timedelta(days=j)
        energy = matrix.kwh[:, j]
        for i in np.flatnonzero(reporting & np.isnan(energy)):
            flags.append(Flag(matrix.ids[i], day, "missing", "no reading"))
        counted, resumed = day_flags(energy, base, theta)
        median = _neighbour_median(matrix.kwh, j)
        threshold = base * theta
        with np.errstate(invalid="ignore"):
            spiking = resumed & (median < threshold) & (energy >= spike_factor * median)
        for i in np.flatnonzero(spiking):
            flags.append(Flag(
                matrix.ids[i], day, "spike",
                f"{energy[i]:.0f} kWh against a neighbours' median of {median[i]:.0f} kWh",
            ))  # fmt: skip
        for key, says in by_day.get(day, ()):
            row = row_of.get(key)
            if row is None or not counted[row] or bool(resumed[row]) == says:
                continue
            power = "resumed" if resumed[row] else "not resumed"
            flags.append(Flag(
                key, day, "mismatch",
                f"reported {'resumed' if says else 'not resumed'}, power says {power} "
                f"({energy[row] / base[row]:.0%} of baseline)",
            ))  # fmt: skip
    flags.sort(key=lambda f: (f.day, f.enterprise_id, f.kind))
    return flags
