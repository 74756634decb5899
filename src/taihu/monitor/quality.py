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

from taihu.core import N_, Message
from taihu.monitor.indices import Floats, PowerMatrix, day_flags

__all__ = ["NEIGHBOURS", "Flag", "FlagRange", "flag_ranges", "quality_flags"]

NEIGHBOURS = 7


@dataclass(frozen=True, slots=True)
class Flag:
    """A reading (or its absence) that the guard points at."""

    enterprise_id: int
    day: date
    kind: str  # missing, spike, mismatch
    detail: Message


@dataclass(frozen=True, slots=True)
class FlagRange:
    """Flags of one kind on one enterprise's consecutive days, shown as one line."""

    enterprise_id: int
    kind: str
    first: date
    last: date
    days: int  # flagged days in the range (all of them: the range has no gap)
    detail: Message  # the first day's


def flag_ranges(flags: list[Flag]) -> list[FlagRange]:
    """Runs of consecutive days with the same enterprise and kind; latest last day first."""
    runs: list[FlagRange] = []
    ordered = sorted(flags, key=lambda f: (f.enterprise_id, f.kind, f.day))
    for flag in ordered:
        run = runs[-1] if runs else None
        if (run is not None and run.enterprise_id == flag.enterprise_id and run.kind == flag.kind
                and flag.day - run.last == timedelta(days=1)):  # fmt: skip
            runs[-1] = FlagRange(run.enterprise_id, run.kind, run.first, flag.day, run.days + 1,
                                 run.detail)  # fmt: skip
        else:
            runs.append(FlagRange(flag.enterprise_id, flag.kind, flag.day, flag.day, 1,
                                  flag.detail))  # fmt: skip
    runs.sort(key=lambda r: (-r.last.toordinal(), -r.days, r.enterprise_id, r.kind))
    return runs


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
            flags.append(Flag(matrix.ids[i], day, "missing", Message(N_("no reading"))))
        on_day = base[:, j] if base.ndim == 2 else base
        counted, resumed = day_flags(energy, on_day, theta)
        median = _neighbour_median(matrix.kwh, j)
        threshold = on_day * theta
        with np.errstate(invalid="ignore"):
            spiking = resumed & (median < threshold) & (energy >= spike_factor * median)
        for i in np.flatnonzero(spiking):
            flags.append(Flag(
                matrix.ids[i], day, "spike",
                Message(N_("{kwh} kWh against a neighbours' median of {median} kWh"),
                        kwh=round(float(energy[i])), median=round(float(median[i]))),
            ))  # fmt: skip
        for key, says in by_day.get(day, ()):
            row = row_of.get(key)
            if row is None or not counted[row] or bool(resumed[row]) == says:
                continue
            share = round(float(energy[row] / on_day[row]) * 100)
            detail = (
                Message(N_("reported resumed, power says not resumed ({share} % of baseline)"),
                        share=share)
                if says
                else Message(N_("reported not resumed, power says resumed ({share} % of "
                                "baseline)"), share=share)
            )  # fmt: skip
            flags.append(Flag(key, day, "mismatch", detail))
    flags.sort(key=lambda f: (f.day, f.enterprise_id, f.kind))
    return flags
