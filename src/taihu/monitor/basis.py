"""What the indices are measured against, and which day the monitor opens on.

The baseline window of a request, by the first rule that applies:

1. the window the request gives (``baseline_start`` and ``baseline_end``);
2. the server's ``TAIHU_MONITOR_BASELINE_START`` / ``_END`` when both are set;
3. the latest December (1 to 31) that ends before the day and holds readings;
4. else the first calendar month that holds readings, when it ends before the day;
5. else the previous December (there is nothing to measure against: nothing is counted).

An enterprise with an override (``monitor_baseline_overrides``: a firm whose December was
abnormal) is measured against its own window whatever the request's.

The opening day: the latest day, up to today, on which at least ``open_coverage`` of the
enterprises with a baseline are counted (a reading and a baseline from the same source). None:
the latest day with any reading, and the page says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from taihu.accounts import Principal, Role, record_audit
from taihu.core import N_, InvalidInput, Message, NotFound
from taihu.enterprises import Enterprise
from taihu.monitor.models import BaselineOverride, PowerColumn, PowerDay, PowerDirtyDay

__all__ = [
    "MAX_OPENING_CANDIDATES",
    "Opening",
    "WindowChoice",
    "clear_override",
    "default_window",
    "list_overrides",
    "reading_days",
    "set_override",
]

MAX_OPENING_CANDIDATES = 400  # days looked at, latest first, for the opening day
MAX_WINDOW_DAYS = 366


@dataclass(frozen=True, slots=True)
class WindowChoice:
    """A baseline window and the rule that chose it (see the module's rules).

    ``rule`` is request, setting, december, first_month or none.
    """

    window: tuple[date, date]
    rule: str


@dataclass(frozen=True, slots=True)
class Opening:
    """The day the monitor opens on and why."""

    day: date
    counted: int  # enterprises counted that day
    with_baseline: int  # enterprises with a baseline for that day's window
    enough: bool  # the rule found a day; false: the latest day with readings (or today)
    latest: date | None  # the latest day with any reading, when later than ``day``
    latest_counted: int = 0
    latest_readings: int = 0

    def message(self, share: float) -> Message:
        """Why this day, for the page."""
        if self.enough:
            return Message(
                N_("Showing {day}: the latest day on which at least {share} of the {total} "
                   "enterprises with a baseline have a reading from their baseline's source "
                   "({counted} do)."),
                day=self.day.isoformat(), share=f"{share:.0%}", total=self.with_baseline,
                counted=self.counted,
            )  # fmt: skip
        return Message(
            N_("Showing {day}: no day has readings from at least {share} of the {total} "
               "enterprises with a baseline; this is the latest day with readings."),
            day=self.day.isoformat(), share=f"{share:.0%}", total=self.with_baseline,
        )  # fmt: skip

    def later(self) -> Message | None:
        """What the later days hold, when they were passed over."""
        if self.latest is None:
            return None
        return Message(
            N_("Later days have too little data: on {day} {readings} enterprises have a "
               "reading and {counted} of them a baseline from the same source."),
            day=self.latest.isoformat(), readings=self.latest_readings,
            counted=self.latest_counted,
        )  # fmt: skip


def _month_end(day: date) -> date:
    following = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return following - timedelta(days=1)


def default_window(day: date, reading: Sequence[date]) -> WindowChoice:
    """Rules 3 to 5 of the module's: from the days that hold readings (sorted ascending)."""
    earlier = [d for d in reading if d < day]
    decembers = {d.year for d in earlier if d.month == 12}
    for year in sorted(decembers, reverse=True):
        if date(year, 12, 31) < day:
            return WindowChoice((date(year, 12, 1), date(year, 12, 31)), "december")
    if earlier:
        first = earlier[0].replace(day=1)
        if _month_end(first) < day:
            return WindowChoice((first, _month_end(first)), "first_month")
    return WindowChoice((date(day.year - 1, 12, 1), date(day.year - 1, 12, 31)), "none")


async def reading_days(session: AsyncSession) -> list[tuple[date, int]]:
    """Every day that holds readings with how many, ascending (from the day columns)."""
    connection = await session.connection()
    counts = {
        day: int(size) // 8
        for day, size in await connection.execute(
            sa.select(PowerColumn.day, sa.func.length(PowerColumn.ids))
        )
    }
    dirty = list(await session.scalars(sa.select(PowerDirtyDay.day)))
    if dirty:  # changed since their columns were built: counted from the rows
        for day in dirty:
            counts.pop(day, None)
        counts.update(
            (day, int(n))
            for day, n in await connection.execute(
                sa.select(PowerDay.day, sa.func.count())
                .where(PowerDay.day.in_(dirty))
                .group_by(PowerDay.day)
            )
        )
    return sorted((day, n) for day, n in counts.items() if n)


def check_window(start: date, end: date) -> None:
    """Refuse a window that ends before it starts or spans more than a year."""
    if end < start:
        raise InvalidInput(
            N_("the baseline window ends ({end}) before it starts ({start})"),
            code="bad_window", start=start.isoformat(), end=end.isoformat(),
        )  # fmt: skip
    if (end - start).days + 1 > MAX_WINDOW_DAYS:
        raise InvalidInput(
            N_("a baseline window spans at most {days} days"), code="bad_window",
            days=MAX_WINDOW_DAYS,
        )  # fmt: skip


async def _enterprise(session: AsyncSession, enterprise_id: int) -> Enterprise:
    found = await session.get(Enterprise, enterprise_id)
    if found is None:
        raise NotFound(N_("no enterprise {id}"), code="enterprise_not_found", id=enterprise_id)
    return found


async def set_override(
    session: AsyncSession, actor: Principal, enterprise_id: int, start: date, end: date,
    reason: str, *, now: datetime,
) -> BaselineOverride:  # fmt: skip
    """Give an enterprise its own baseline window (bureau or admin); audited."""
    actor.require_role(Role.BUREAU)
    check_window(start, end)
    await _enterprise(session, enterprise_id)
    row = await session.get(BaselineOverride, enterprise_id)
    before = (
        None if row is None
        else {"start": row.start.isoformat(), "end": row.end.isoformat(), "reason": row.reason}
    )  # fmt: skip
    if row is None:
        row = BaselineOverride(enterprise_id=enterprise_id)
        session.add(row)
    row.start, row.end, row.reason = start, end, " ".join(reason.split())[:300]
    row.set_by, row.set_at = actor.name, now
    await session.flush()
    await record_audit(session, actor, "baseline.override", "enterprise", enterprise_id,
                       before=before, after={"start": start.isoformat(), "end": end.isoformat(),
                                             "reason": row.reason}, at=now)  # fmt: skip
    return row


async def clear_override(
    session: AsyncSession, actor: Principal, enterprise_id: int, *, now: datetime
) -> bool:
    """Remove an enterprise's own window (bureau or admin); audited. False: it had none."""
    actor.require_role(Role.BUREAU)
    await _enterprise(session, enterprise_id)
    row = await session.get(BaselineOverride, enterprise_id)
    if row is None:
        return False
    before = {"start": row.start.isoformat(), "end": row.end.isoformat(), "reason": row.reason}
    await session.delete(row)
    await session.flush()
    await record_audit(session, actor, "baseline.override_clear", "enterprise", enterprise_id,
                       before=before, at=now)  # fmt: skip
    return True


async def list_overrides(
    session: AsyncSession, actor: Principal, enterprise_id: int | None = None
) -> list[tuple[BaselineOverride, str, str]]:
    """The overrides with each enterprise's credit code and name (staff roles, or its own)."""
    if enterprise_id is None:
        actor.require_role(Role.BUREAU, Role.AUDITOR)
    elif not actor.can_see_enterprise(enterprise_id):
        actor.require_enterprise(enterprise_id)
    query = (
        sa.select(BaselineOverride, Enterprise.credit_code, Enterprise.name)
        .join(Enterprise, Enterprise.id == BaselineOverride.enterprise_id)
        .order_by(Enterprise.name)
    )
    if enterprise_id is not None:
        query = query.where(BaselineOverride.enterprise_id == enterprise_id)
    return [(row, code, name) for row, code, name in await session.execute(query)]
