"""What every monitor figure is read from: the calendar, parameters, baseline windows, baselines.

``PowerInputs`` is the part of ``MonitorService`` that reads the power matrix (from the day
columns for the registry, by rows for a few enterprises), each enterprise's baseline over its
window (an override's own window where set) and the day the dashboard opens on; the indices,
drill-downs and lists built on them are in ``service``.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from taihu.accounts import Principal, Role
from taihu.core import N_, InvalidInput
from taihu.monitor.basis import (
    MAX_OPENING_CANDIDATES,
    Opening,
    WindowChoice,
    check_window,
    default_window,
    reading_days,
)
from taihu.monitor.columns import read_matrix
from taihu.monitor.groups import load_registry
from taihu.monitor.indices import Bands, Floats, Params, PowerMatrix, baselines, day_baselines
from taihu.monitor.models import BaselineOverride, PowerDay
from taihu.monitor.quality import NEIGHBOURS
from taihu.settings import MonitorSettings

__all__ = ["FIRST_DAY", "LAST_DAY", "MAX_SERIES_DAYS", "PowerInputs", "check_day"]

MAX_SERIES_DAYS = 800
# The monitor's calendar. A day needs the previous year (its baseline) and a few days either side
# (neighbours, its week): the first and last years Python's dates hold would overflow.
FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(9998, 12, 31)
SMALL_SET = 500  # up to this many enterprises, queries name them


def check_day(day: date) -> None:
    """Refuse a day outside the monitor's calendar (400 ``bad_date``)."""
    if not FIRST_DAY <= day <= LAST_DAY:
        raise InvalidInput(
            N_("{day} is outside the monitor's calendar ({first} to {last})"),
            code="bad_date",
            day=day.isoformat(),
            first=FIRST_DAY.isoformat(),
            last=LAST_DAY.isoformat(),
        )


class PowerInputs:
    """The input methods of ``MonitorService`` (a mixin: it sets ``session`` and ``settings``)."""

    session: AsyncSession
    settings: MonitorSettings
    _reading_days: list[tuple[date, int]] | None
    _overrides: dict[int, tuple[date, date]] | None

    def params(self, *, theta: float | None = None, resumed_only: bool = False) -> Params:
        """The index parameters from the settings, ``theta`` overridden when given."""
        s = self.settings
        theta = s.theta if theta is None else theta
        if not 0 < theta <= 1:
            raise InvalidInput(N_("theta must be in (0, 1], not {theta}"), code="bad_theta",
                               theta=theta)  # fmt: skip
        return Params(theta, resumed_only, Bands(s.band_green, s.band_yellow, s.band_orange))

    async def _reading(self) -> list[tuple[date, int]]:
        """The days holding readings (read once per service, i.e. per request)."""
        if self._reading_days is None:
            self._reading_days = await reading_days(self.session)
        return self._reading_days

    async def choose_window(
        self, day: date, start: date | None = None, end: date | None = None
    ) -> WindowChoice:
        """The baseline window for a day and the rule that chose it (``taihu.monitor.basis``)."""
        check_day(day)
        if (start is None) != (end is None):
            raise InvalidInput(N_("give both ends of the baseline window, or neither"),
                               code="bad_window")  # fmt: skip
        if start is not None and end is not None:
            check_window(start, end)
            return WindowChoice((start, end), "request")
        s = self.settings
        if s.baseline_start is not None and s.baseline_end is not None:
            return WindowChoice((s.baseline_start, s.baseline_end), "setting")
        return default_window(day, [d for d, _ in await self._reading()])

    async def window(
        self, day: date, start: date | None = None, end: date | None = None
    ) -> tuple[date, date]:
        """The baseline window for a day (see ``choose_window``)."""
        return (await self.choose_window(day, start, end)).window

    async def matrix(
        self, ids: tuple[int, ...], first: date, last: date, *, everyone: bool = False
    ) -> PowerMatrix:
        """Daily use of the enterprises over ``[first, last]``.

        The whole registry (``everyone``) or a large set is read from the day columns, one row
        per day; a few enterprises (a list, one drill-down) by their own rows.
        """
        if everyone or len(ids) > SMALL_SET:
            return await read_matrix(self.session, ids, first, last)
        rows = await self.session.execute(
            sa.select(PowerDay.enterprise_id, PowerDay.day, PowerDay.kwh, PowerDay.source).where(
                PowerDay.day.between(first, last), PowerDay.enterprise_id.in_(ids)
            )
        )
        return PowerMatrix.build(ids, first, last, ((e, d, k, s == "meter") for e, d, k, s in rows))

    async def baselines(
        self, ids: tuple[int, ...], window: tuple[date, date], days: PowerMatrix | None = None, *,
        everyone: bool = False,
    ) -> tuple[Floats, Floats]:  # fmt: skip
        """Per enterprise, the baseline of its grid-file readings and of its meters' readings.

        Over ``window``, or an enterprise's own window where it has an override. ``days`` is
        used when it covers the window (one read for a year's series).
        """
        if days is not None and days.start <= window[0] and window[1] <= days.end:
            source = days
        else:
            source = await self.matrix(ids, *window, everyone=everyone)
        grid, meter = baselines(source, window), baselines(source, window, meter=True)
        if self._overrides is None:
            self._overrides = {
                e: (a, b)
                for e, a, b in await self.session.execute(sa.select(
                    BaselineOverride.enterprise_id, BaselineOverride.start, BaselineOverride.end))
            }  # fmt: skip
        row = {key: i for i, key in enumerate(ids)} if self._overrides else {}
        by_window: dict[tuple[date, date], list[int]] = {}
        for key, own in self._overrides.items():
            if key in row and own != window:
                by_window.setdefault(own, []).append(key)
        for own, keys in by_window.items():
            matrix = await self.matrix(tuple(keys), *own)
            rows = [row[k] for k in keys]
            grid[rows], meter[rows] = baselines(matrix, own), baselines(matrix, own, meter=True)
        return grid, meter

    async def _span(
        self, ids: tuple[int, ...], window: tuple[date, date], first: date, last: date, *,
        neighbours: int = NEIGHBOURS, everyone: bool = False,
    ) -> tuple[PowerMatrix, Floats]:  # fmt: skip
        """The days (with neighbours for the quality guard) as a matrix, and each cell's baseline.

        A cell's baseline is its enterprise's baseline from the same source as the cell's
        reading (``indices.day_baselines``).
        """
        check_day(first)
        check_day(last)
        lo, hi = first - timedelta(days=neighbours), last + timedelta(days=neighbours)
        if (hi - lo).days > MAX_SERIES_DAYS:
            raise InvalidInput(N_("at most {days} days at once"), code="bad_range",
                               days=MAX_SERIES_DAYS)  # fmt: skip
        matrix = await self.matrix(ids, lo, hi, everyone=everyone)
        grid, meter = await self.baselines(ids, window, matrix, everyone=everyone)
        return matrix, day_baselines(matrix, grid, meter)

    async def opening_day(self, actor: Principal, today: date) -> Opening:
        """The day the dashboard opens on (staff roles); the rule is in ``taihu.monitor.basis``."""
        actor.require_role(Role.BUREAU, Role.AUDITOR)
        check_day(today)
        days = [(d, n) for d, n in await self._reading() if d <= today]
        if not days:
            return Opening(today, 0, 0, enough=False, latest=None)
        share = self.settings.open_coverage
        registry = await load_registry(self.session)
        cache: dict[tuple[date, date], tuple[Floats, Floats]] = {}
        latest = days[-1]
        latest_counted = 0
        first_look: Opening | None = None
        for day, readings in reversed(days[-MAX_OPENING_CANDIDATES:]):
            window = await self.window(day)
            if window not in cache:
                cache[window] = await self.baselines(registry.ids, window, everyone=True)
            grid, meter = cache[window]
            total = int((~np.isnan(grid) | ~np.isnan(meter)).sum())
            if day == latest[0] or (total and readings >= share * total):
                matrix = await self.matrix(registry.ids, day, day, everyone=True)
                base = day_baselines(matrix, grid, meter)[:, 0]
                counted = int((~np.isnan(matrix.kwh[:, 0]) & ~np.isnan(base)).sum())
                if day == latest[0]:
                    latest_counted = counted
                    first_look = Opening(day, counted, total, enough=False, latest=None)
                if total and counted >= share * total:
                    later = None if day == latest[0] else latest[0]
                    return Opening(
                        day,
                        counted,
                        total,
                        enough=True,
                        latest=later,
                        latest_counted=latest_counted,
                        latest_readings=latest[1],
                    )
        assert first_look is not None  # the latest day is always looked at
        return first_look
