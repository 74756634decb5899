"""The monitor within one unit of work: indices, groups, warnings, data quality, key lists."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from taihu.accounts import Principal, Role, record_audit
from taihu.core import N_, Clock, InvalidInput, NotFound, SystemClock
from taihu.enterprises import Enterprise, townships
from taihu.monitor.cases import State
from taihu.monitor.groups import group_names, groupings, load_registry
from taihu.monitor.indices import (
    IndexValues,
    day_flags,
    day_index,
    district_series,
    group_index,
)
from taihu.monitor.inputs import MAX_SERIES_DAYS, PowerInputs, check_day
from taihu.monitor.lists import KeyLists
from taihu.monitor.models import (
    Case,
    PowerDay,
    StatusReport,
)
from taihu.monitor.quality import Flag, quality_flags
from taihu.monitor.report import Snapshot, SnapshotRow
from taihu.settings import MonitorSettings

__all__ = ["DayReport", "EnterpriseView", "MonitorService"]


@dataclass(slots=True)
class DayReport:
    """Indices of one day for the district and the asked groupings."""

    day: date
    window: tuple[date, date]
    theta: float
    district: IndexValues
    groups: dict[str, dict[str, tuple[str, IndexValues]]] = field(default_factory=dict)
    no_baseline: list[tuple[int, str, str]] = field(default_factory=list)  # id, code, name
    no_reading: int = 0
    rule: str = "request"  # which rule chose the window (taihu.monitor.basis)


@dataclass(slots=True)
class EnterpriseView:
    """One enterprise's power curve against its baseline and threshold."""

    enterprise_id: int
    name: str
    credit_code: str
    baseline: float | None
    threshold: float | None
    days: list[tuple[date, float | None]]
    resumed: bool | None
    band: str | None
    flags: list[Flag]
    reported: dict[date, bool]
    window: tuple[date, date] | None = None
    baselines: list[float | None] = field(default_factory=list)  # per day: of its reading's source
    sources: list[str | None] = field(default_factory=list)  # per day: grid, meter or None


class MonitorService(PowerInputs, KeyLists):
    """Indices and key lists, scoped to what a principal may see (inputs: ``monitor.inputs``)."""

    def __init__(
        self,
        session: AsyncSession,
        settings: MonitorSettings | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.session = session
        self.settings = settings or MonitorSettings()
        self.clock = clock or SystemClock()
        self._reading_days = None
        self._overrides = None

    # -- indices --------------------------------------------------------------------------

    async def index(
        self, actor: Principal, day: date, kinds: list[str] | None = None, *,
        theta: float | None = None, resumed_only: bool = False,
        baseline: tuple[date, date] | None = None,
    ) -> DayReport:  # fmt: skip
        """The day's indices for the district and each asked grouping (staff roles)."""
        actor.require_role(Role.BUREAU, Role.AUDITOR)
        params = self.params(theta=theta, resumed_only=resumed_only)
        registry = await load_registry(self.session)
        choice = await self.choose_window(day, *(baseline or (None, None)))
        window = choice.window
        matrix, cells = await self._span(registry.ids, window, day, day, neighbours=0,
                                         everyone=True)  # fmt: skip
        energy, base = matrix.day(day), cells[:, 0]
        report = DayReport(day, window, params.theta, day_index(energy, base, params),
                           rule=choice.rule)  # fmt: skip
        for grouping in await groupings(self.session, registry, kinds or []):
            names = await group_names(self.session, grouping.kind)
            values = group_index(energy, base, params, grouping)
            report.groups[grouping.kind] = {
                key: (names.get(key, key), v) for key, v in values.items()
            }
        for i in np.flatnonzero(np.isnan(base)):
            report.no_baseline.append((registry.ids[i], registry.codes[i], registry.names[i]))
        report.no_reading = int((~np.isnan(base) & np.isnan(energy)).sum())
        return report

    async def series(
        self, actor: Principal, first: date, last: date, *, theta: float | None = None,
        resumed_only: bool = False, group: str | None = None, key: str | None = None,
        baseline: tuple[date, date] | None = None,
    ) -> tuple[tuple[date, date], list[tuple[date, IndexValues]]]:  # fmt: skip
        """The daily series over ``[first, last]``, one baseline (the last day's window).

        Of the district, or of one group (``group`` kind and ``key``): the readings come in as
        a matrix (for the district from the day columns, one row per day) and
        ``district_series`` sums each day.
        """
        actor.require_role(Role.BUREAU, Role.AUDITOR)
        if last < first:
            raise InvalidInput(N_("the last day is before the first"), code="bad_range")
        if (last - first).days > MAX_SERIES_DAYS:
            raise InvalidInput(N_("at most {days} days at once"), code="bad_range",
                               days=MAX_SERIES_DAYS)  # fmt: skip
        params = self.params(theta=theta, resumed_only=resumed_only)
        window = await self.window(last, *(baseline or (None, None)))
        if group is not None:
            ids = await self._members_of(group, key)
            matrix, base = await self._span(ids, window, first, last, neighbours=0)
            return window, district_series(matrix, base, params, first, last)
        everyone = tuple(
            await self.session.scalars(sa.select(Enterprise.id).order_by(Enterprise.id))
        )
        matrix, base = await self._span(everyone, window, first, last, neighbours=0,
                                        everyone=True)  # fmt: skip
        return window, district_series(matrix, base, params, first, last)

    async def _members_of(self, kind: str, key: str | None) -> tuple[int, ...]:
        """The enterprises of one group, by id."""
        if not key:
            raise InvalidInput(N_("give the group's id with its kind"), code="bad_group")
        registry = await load_registry(self.session)
        (grouping,) = await groupings(self.session, registry, [kind])
        if key not in grouping.labels:
            raise NotFound(N_("no {kind} group {key}"), code="group_not_found", kind=kind, key=key)
        rows = grouping.rows[grouping.groups == grouping.labels.index(key)]
        return tuple(registry.ids[r] for r in sorted(set(rows.tolist())))

    async def enterprise_ratios(
        self, actor: Principal, day: date, baseline: tuple[date, date] | None = None
    ) -> list[tuple[int, str, str, float | None, float | None, str | None]]:
        """Each enterprise's (id, code, name, E, B, band of E/B) on a day (staff roles)."""
        actor.require_role(Role.BUREAU, Role.AUDITOR)
        registry = await load_registry(self.session)
        window = await self.window(day, *(baseline or (None, None)))
        matrix, cells = await self._span(registry.ids, window, day, day, neighbours=0,
                                         everyone=True)  # fmt: skip
        energy, base, bands = matrix.day(day), cells[:, 0], self.params().bands
        out = []
        for i, key in enumerate(registry.ids):
            e = None if np.isnan(energy[i]) else float(energy[i])
            b = None if np.isnan(base[i]) else float(base[i])
            band = bands.of(e / b) if e is not None and b else None
            out.append((key, registry.codes[i], registry.names[i], e, b, band))
        return out

    async def flags(
        self, actor: Principal, first: date, last: date, baseline: tuple[date, date] | None = None
    ) -> list[Flag]:
        """The data-quality guard's flags over ``[first, last]`` (staff roles)."""
        actor.require_role(Role.BUREAU, Role.AUDITOR)
        registry = await load_registry(self.session)
        window = await self.window(last, *(baseline or (None, None)))
        matrix, base = await self._span(registry.ids, window, first, last, everyone=True)
        return quality_flags(
            matrix, base, first, last, theta=self.settings.theta,
            spike_factor=self.settings.spike_factor, reported=await self._reported(first, last),
        )  # fmt: skip

    async def _reported(
        self, first: date, last: date, enterprise_id: int | None = None
    ) -> dict[tuple[int, date], bool]:
        query = sa.select(StatusReport.enterprise_id, StatusReport.day, StatusReport.resumed).where(
            StatusReport.day.between(first, last)
        )
        if enterprise_id is not None:
            query = query.where(StatusReport.enterprise_id == enterprise_id)
        return {(e, d): r for e, d, r in await self.session.execute(query)}

    async def enterprise(
        self, actor: Principal, enterprise_id: int, first: date, last: date,
        baseline: tuple[date, date] | None = None,
    ) -> EnterpriseView:  # fmt: skip
        """One enterprise's curve, baseline, threshold, status and flags (staff or its users)."""
        if not actor.can_see_enterprise(enterprise_id):
            actor.require_enterprise(enterprise_id)
        found = await self.session.get(Enterprise, enterprise_id)
        if found is None:
            raise NotFound(N_("no enterprise {id}"), code="enterprise_not_found", id=enterprise_id)
        if last < first:
            raise InvalidInput(N_("the last day is before the first"), code="bad_range")
        window = await self.window(last, *(baseline or (None, None)))
        matrix, base = await self._span((enterprise_id,), window, first, last)
        j_last = matrix.column(last)
        b = None if np.isnan(base[0, j_last]) else float(base[0, j_last])
        days, lines, sources = [], [], []
        for j in range(matrix.column(first), j_last + 1):
            value, line = matrix.kwh[0, j], base[0, j]
            days.append(
                (matrix.start + timedelta(days=j), None if np.isnan(value) else float(value))
            )
            lines.append(None if np.isnan(line) else float(line))
            meter = matrix.meter is not None and bool(matrix.meter[0, j])
            sources.append(None if np.isnan(value) else ("meter" if meter else "grid"))
        reported = await self._reported(first, last, enterprise_id)
        flags = quality_flags(
            matrix,
            base,
            first,
            last,
            theta=self.settings.theta,
            spike_factor=self.settings.spike_factor,
            reported=reported,
        )
        energy = matrix.day(last)
        counted, resumed = day_flags(energy, base[:, j_last], self.settings.theta)
        ratio = float(energy[0]) / b if b and counted[0] else None
        return EnterpriseView(
            enterprise_id, found.name, found.credit_code, b,
            b * self.settings.theta if b is not None else None, days,
            bool(resumed[0]) if counted[0] else None, self.params().bands.of(ratio), flags,
            {d: r for (_, d), r in reported.items()}, window, lines, sources,
        )  # fmt: skip

    async def down(self, actor: Principal, day: date) -> set[int]:
        """Enterprises with a baseline and a reading that are not resumed on a day."""
        actor.require_role(Role.BUREAU, Role.AUDITOR)
        registry = await load_registry(self.session)
        matrix, cells = await self._span(
            registry.ids, await self.window(day), day, day, neighbours=0, everyone=True
        )
        counted, resumed = day_flags(matrix.day(day), cells[:, 0], self.settings.theta)
        return {registry.ids[i] for i in np.flatnonzero(counted & ~resumed)}

    # -- reported status ------------------------------------------------------------------

    async def report_status(
        self, actor: Principal, enterprise_id: int, day: date, *, resumed: bool, note: str = ""
    ) -> StatusReport:
        """An enterprise says whether it has resumed (its own users, bureau or admin)."""
        if actor.role is not Role.BUREAU:
            actor.require_enterprise(enterprise_id)
        if await self.session.get(Enterprise, enterprise_id) is None:
            raise NotFound(N_("no enterprise {id}"), code="enterprise_not_found", id=enterprise_id)
        if day > self.clock.now().date() + timedelta(days=1):
            raise InvalidInput(N_("{day} is in the future"), code="bad_date", day=day.isoformat())
        row = await self.session.scalar(sa.select(StatusReport).where(
            StatusReport.enterprise_id == enterprise_id, StatusReport.day == day))  # fmt: skip
        before = None if row is None else {"resumed": row.resumed, "note": row.note}
        if row is None:
            row = StatusReport(enterprise_id=enterprise_id, day=day, resumed=resumed)
            self.session.add(row)
        row.resumed, row.note = resumed, note[:300]
        row.reported_by, row.reported_at = actor.name, self.clock.now()
        await self.session.flush()
        await record_audit(
            self.session,
            actor,
            "status.report",
            "enterprise",
            enterprise_id,
            before=before,
            after={"day": day.isoformat(), "resumed": resumed, "note": row.note},
            at=self.clock.now(),
        )
        return row

    # -- key-enterprise lists (the list methods are in taihu.monitor.lists) -----------

    async def snapshot(self, actor: Principal, ref: str | int, monday: date) -> Snapshot:
        """A list's week from ``monday`` (any day is moved back to its Monday), staff roles."""
        key_list = await self.get_list(actor, ref)
        check_day(monday)
        monday -= timedelta(days=monday.weekday())
        sunday = monday + timedelta(days=6)
        members = await self.members(actor, key_list.id)
        ids = tuple(e.id for e in members)
        window = await self.window(sunday)
        matrix, cells = await self._span(ids, window, monday, sunday, neighbours=0)
        params = self.params()
        energy, base = matrix.day(sunday), cells[:, matrix.column(sunday)]
        counted, resumed = day_flags(energy, base, params.theta)
        values = day_index(energy, base, params)
        open_cases = dict(list(await self.session.execute(
            sa.select(Case.enterprise_id, sa.func.count()).where(
                Case.state != State.CLOSED.value, Case.enterprise_id.in_(ids)
            ).group_by(Case.enterprise_id)
        )))  # fmt: skip
        names = townships()
        rows = []
        for i, member in enumerate(members):
            days = tuple(None if np.isnan(v) else float(v) for v in
                         (matrix.day(monday + timedelta(days=k))[i] for k in range(7)))  # fmt: skip
            b = None if np.isnan(base[i]) else float(base[i])
            ratio = float(energy[i]) / b if b and counted[i] else None
            town = names.get(member.township_code or "")
            rows.append(SnapshotRow(
                member.credit_code, member.name, town.name_zh if town else "",
                member.industry_code or "", b, days, bool(resumed[i]) if counted[i] else None,
                params.bands.of(ratio), int(open_cases.get(member.id, 0)),
            ))  # fmt: skip
        return Snapshot(key_list.name, monday, params.theta, window, values.resumption_rate,
                        values.production_rate, values.composite_index, values.enterprises,
                        tuple(rows))  # fmt: skip

    async def names(self, ids: set[int]) -> dict[int, str]:
        """Enterprise names by id (for flags and lists that carry ids)."""
        found: dict[int, str] = {}
        ordered = sorted(ids)
        for start in range(0, len(ordered), 500):
            found.update((key, name) for key, name in await self.session.execute(
                sa.select(Enterprise.id, Enterprise.name).where(
                    Enterprise.id.in_(ordered[start : start + 500]))))  # fmt: skip
        return found

    async def latest_day(self) -> date | None:
        """The last day with any power reading."""
        found: date | None = await self.session.scalar(sa.select(sa.func.max(PowerDay.day)))
        return found
