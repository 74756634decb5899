"""Cadences and deadlines of report tasks: which period a report covers and when it is due.

    weekly     the ISO week (Monday-Sunday); due on its ``due_day``-th weekday (1 = Monday)
    monthly    the calendar month; due on the ``due_day``-th of the following month
    quarterly  the calendar quarter; due on the ``due_day``-th of the month after it
    once       one period (the due day itself); due on ``due_on``

A period's draft is generated ``lead_days`` before it is due. Pure: no database here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from taihu.core import N_, InvalidInput

__all__ = ["CADENCES", "Cadence", "Period", "month_after"]

CADENCES = ("weekly", "monthly", "quarterly", "once")
MAX_LEAD_DAYS = 31


@dataclass(frozen=True, slots=True)
class Period:
    """One period of a task: its key (``2026-W18``, ``2026-04``, ``2026-Q2``), span and due day."""

    key: str
    start: date
    end: date
    due: date
    generate_on: date


def month_after(year: int, month: int, n: int = 1) -> tuple[int, int]:
    """The (year, month) ``n`` months after the given one."""
    index = year * 12 + month - 1 + n
    return index // 12, index % 12 + 1


def _month_end(year: int, month: int) -> date:
    y, m = month_after(year, month)
    return date(y, m, 1) - timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Cadence:
    """A task's rule of periods and deadlines; refuses a rule that makes no sense."""

    kind: str
    due_day: int = 1
    due_on: date | None = None
    lead_days: int = 0

    def __post_init__(self) -> None:
        if self.kind not in CADENCES:
            raise InvalidInput(
                N_("cadence must be one of {allowed}, not {value}"),
                code="bad_cadence",
                allowed=", ".join(CADENCES),
                value=self.kind,
            )
        top = 7 if self.kind == "weekly" else 28
        if self.kind != "once" and not 1 <= self.due_day <= top:
            raise InvalidInput(
                N_("the due day of a {kind} task is 1 to {top}, not {value}"),
                code="bad_due_day",
                kind=self.kind,
                top=top,
                value=self.due_day,
            )
        if self.kind == "once" and self.due_on is None:
            raise InvalidInput(N_("a one-off task needs its due date"), code="bad_due_day")
        if not 0 <= self.lead_days <= MAX_LEAD_DAYS:
            raise InvalidInput(
                N_("the lead is 0 to {top} days, not {value}"),
                code="bad_lead",
                top=MAX_LEAD_DAYS,
                value=self.lead_days,
            )

    def _period(self, start: date, end: date, key: str, due: date) -> Period:
        return Period(key, start, end, due, due - timedelta(days=self.lead_days))

    def containing(self, day: date) -> Period:
        """The period the day falls in (for ``once``, the only period)."""
        if self.kind == "weekly":
            monday = day - timedelta(days=day.weekday())
            year, week, _ = monday.isocalendar()
            return self._period(
                monday,
                monday + timedelta(days=6),
                f"{year}-W{week:02d}",
                monday + timedelta(days=self.due_day - 1),
            )
        if self.kind == "monthly":
            y, m = month_after(day.year, day.month)
            return self._period(
                date(day.year, day.month, 1),
                _month_end(day.year, day.month),
                f"{day.year}-{day.month:02d}",
                date(y, m, self.due_day),
            )
        if self.kind == "quarterly":
            quarter = (day.month - 1) // 3
            first = quarter * 3 + 1
            y, m = month_after(day.year, first, 3)
            return self._period(
                date(day.year, first, 1),
                _month_end(day.year, first + 2),
                f"{day.year}-Q{quarter + 1}",
                date(y, m, self.due_day),
            )
        assert self.due_on is not None  # checked when made
        return self._period(self.due_on, self.due_on, "once", self.due_on)

    def previous(self, period: Period) -> Period | None:
        """The period before (none for a one-off task)."""
        if self.kind == "once":
            return None
        return self.containing(period.start - timedelta(days=1))

    def following(self, period: Period) -> Period | None:
        """The period after (none for a one-off task)."""
        if self.kind == "once":
            return None
        return self.containing(period.end + timedelta(days=1))

    def parse(self, key: str) -> Period:
        """The period of a key as :attr:`Period.key` writes it (400 ``bad_period`` otherwise)."""
        try:
            if self.kind == "weekly":
                year, week = key.split("-W")
                day = date.fromisocalendar(int(year), int(week), 1)
            elif self.kind == "monthly":
                year, month = key.split("-")
                day = date(int(year), int(month), 1)
            elif self.kind == "quarterly":
                year, quarter = key.split("-Q")
                if not 1 <= int(quarter) <= 4:
                    raise ValueError(quarter)
                day = date(int(year), (int(quarter) - 1) * 3 + 1, 1)
            elif key == "once":
                return self.containing(date.min)
            else:
                raise ValueError(key)
            period = self.containing(day)
        except (ValueError, OverflowError):  # the last periods of year 9999 end past date.max
            raise InvalidInput(
                N_("{key} is no period of a {kind} task"),
                code="bad_period",
                key=key[:40],
                kind=self.kind,
            ) from None
        if period.key != key:  # "2026-4" or "2026-W5": one spelling per period
            raise InvalidInput(
                N_("{key} is no period of a {kind} task"),
                code="bad_period",
                key=key[:40],
                kind=self.kind,
            )
        return period

    def due_now(self, today: date) -> Period | None:
        """The latest period whose draft is to be generated by ``today`` (none before any)."""
        period: Period | None = self.containing(today)
        while period is not None and period.generate_on > today:
            period = self.previous(period)
        return period

    def around(self, today: date, back: int = 3, ahead: int = 2) -> list[Period]:
        """The periods whose deadlines fall near ``today``: a few before, a few after."""
        centre = self.containing(today)
        periods = [centre]
        p: Period | None = centre
        for _ in range(back):
            p = self.previous(p) if p else None
            if p:
                periods.insert(0, p)
        p = centre
        for _ in range(ahead):
            p = self.following(p) if p else None
            if p:
                periods.append(p)
        return periods
