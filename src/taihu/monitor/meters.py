"""A power meter's daily use from its cumulative energy counter (pure, no database).

The hub keeps each meter's readings as hourly rollups (minimum and maximum per hour). For a
counter that only grows, an hour's minimum is its first reading and its maximum its last. A
day's use is the counter at the end of the day (its last reading) minus the counter at the end
of the day before, so nothing is lost at midnight::

    day d-1              │ day d                             │
    ... 1090 ── 1100 ────┼──── 1110 ── ... ── 1150           │
              last(d-1) ─┘                      └─ last(d)     use(d) = 1150 - 1100 = 50

which is the day's own hours (max - min of each) plus the steps from one hour's last reading to
the next hour's first, the step over midnight included.

- **Missing days.** A step from the last reading before a run of days without any reading to the
  first reading after it is energy used sometime in those days. It is not put on any day (that
  would invent readings for days the meter did not report, or load it all on the day after);
  it is reported as an ``EnergyGap`` (the sync records it in its audit entry and log), the days
  without readings stay without a figure, and the first day after gets its own hours only.
- **Resets.** A counter that drops (an hour's minimum below the previous hour's maximum: a reset
  or a replaced meter) restarted somewhere between: the step across the drop is not counted,
  the day is reported in ``resets``. When the hour of the drop also reaches above the reading
  before it, the hour held both sides: its maximum counts from that reading, and the next hour's
  first reading counts from the hour's minimum (the first reading after the reset).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

__all__ = ["Bucket", "EnergyGap", "MeterDays", "daily_energy"]


@dataclass(frozen=True, slots=True)
class Bucket:
    """One hour of a meter's counter: its start (ms since the epoch), minimum and maximum."""

    ts: int
    lo: float
    hi: float


@dataclass(frozen=True, slots=True)
class EnergyGap:
    """Energy a meter used across days without readings; reported, not put on a day."""

    after: date  # the last day with a reading before the gap
    before: date  # the first day with a reading after it
    kwh: float


@dataclass(slots=True)
class MeterDays:
    """One meter's use per day, and what could not be put on a day."""

    use: dict[date, float] = field(default_factory=dict)
    gaps: list[EnergyGap] = field(default_factory=list)
    resets: list[date] = field(default_factory=list)


def daily_energy(
    buckets: Sequence[Bucket], day_of: Callable[[int], date], first: date, last: date
) -> MeterDays:
    """Use per local day of ``[first, last]`` from hourly buckets (earlier ones give the start).

    ``day_of`` maps a bucket's start to its local day. Buckets before ``first`` only give the
    counter at the end of the day before; a day of the range with no bucket gets no figure.
    """
    out = MeterDays()
    previous: float | None = None  # the last reading known, before the bucket at hand
    previous_day: date | None = None
    for bucket in sorted(buckets, key=lambda b: b.ts):
        day = day_of(bucket.ts)
        inside = first <= day <= last
        step = 0.0
        own = bucket.hi - bucket.lo
        end = bucket.hi
        if previous is not None and previous_day is not None:
            if bucket.lo < previous:  # the counter dropped: reset or replaced
                if inside:
                    out.resets.append(day)
                if bucket.hi >= previous:  # this hour holds readings from before the drop too
                    own, end = bucket.hi - previous, bucket.lo
            elif (day - previous_day).days <= 1:
                step = bucket.lo - previous
            elif inside:
                out.gaps.append(EnergyGap(previous_day, day, bucket.lo - previous))
        if inside:
            out.use[day] = out.use.get(day, 0.0) + step + own
        previous, previous_day = end, day
    return out
