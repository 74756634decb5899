"""Cadences: the period a day falls in, its deadline, the draft's day, keys both ways."""

from __future__ import annotations

from datetime import date

import pytest

from taihu.core import InvalidInput
from taihu.reporting import Cadence


def test_weekly_periods_are_iso_weeks_due_on_their_weekday() -> None:
    friday = Cadence("weekly", due_day=5, lead_days=1)
    week = friday.containing(date(2026, 4, 29))
    assert (week.key, week.start, week.end) == ("2026-W18", date(2026, 4, 27), date(2026, 5, 3))
    assert week.due == date(2026, 5, 1)
    assert week.generate_on == date(2026, 4, 30)
    assert friday.parse("2026-W18") == week
    assert friday.due_now(date(2026, 4, 29)).key == "2026-W17"  # W18's draft is for tomorrow
    assert friday.due_now(date(2026, 4, 30)).key == "2026-W18"
    assert friday.containing(date(2026, 12, 31)).key == "2026-W53"
    assert friday.containing(date(2027, 1, 1)).key == "2026-W53"  # ISO years


def test_monthly_and_quarterly_are_due_in_the_month_after() -> None:
    monthly = Cadence("monthly", due_day=10, lead_days=2)
    april = monthly.containing(date(2026, 4, 15))
    assert (april.key, april.end, april.due) == ("2026-04", date(2026, 4, 30), date(2026, 5, 10))
    assert monthly.due_now(date(2026, 5, 7)).key == "2026-03"
    assert monthly.due_now(date(2026, 5, 8)).key == "2026-04"
    december = monthly.parse("2025-12")
    assert december.due == date(2026, 1, 10)
    quarterly = Cadence("quarterly", due_day=15)
    q4 = quarterly.containing(date(2025, 11, 3))
    assert (q4.key, q4.start, q4.end, q4.due) == (
        "2025-Q4", date(2025, 10, 1), date(2025, 12, 31), date(2026, 1, 15))  # fmt: skip
    assert quarterly.following(q4).key == "2026-Q1"


def test_a_one_off_task_has_one_period() -> None:
    once = Cadence("once", due_on=date(2026, 6, 30), lead_days=3)
    assert once.due_now(date(2026, 6, 26)) is None
    period = once.due_now(date(2026, 6, 27))
    assert period is not None
    assert period.key == "once"
    assert once.previous(period) is None
    assert [p.key for p in once.around(date(2026, 1, 1))] == ["once"]


@pytest.mark.parametrize(
    ("kind", "due_day", "lead"),
    [("daily", 1, 0), ("weekly", 8, 0), ("monthly", 29, 0), ("monthly", 0, 0), ("weekly", 1, 40)],
)
def test_rules_that_make_no_sense_are_refused(kind: str, due_day: int, lead: int) -> None:
    with pytest.raises(InvalidInput):
        Cadence(kind, due_day=due_day, lead_days=lead)


@pytest.mark.parametrize("key", ["2026-W5", "2026-4", "2026-Q5", "W18", "2026-W60", "once"])
def test_period_keys_are_spelt_one_way(key: str) -> None:
    cadence = Cadence("weekly" if "W" in key else "monthly" if "Q" not in key else "quarterly")
    if key == "once":
        cadence = Cadence("weekly")
    with pytest.raises(InvalidInput):
        cadence.parse(key)
