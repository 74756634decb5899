"""Shared set-up of the monitor's tests: a small registry with power history."""

from __future__ import annotations

from datetime import date, timedelta

from taihu.accounts import Principal
from taihu.core import Database, FrozenClock
from taihu.enterprises import (
    EnterpriseService,
    Profile,
    credit_code_check_char,
    organisation_code_check_char,
)
from taihu.monitor import import_power

SYSTEM = Principal.system("test")
DAY = date(2026, 2, 10)


def code(index: int) -> str:
    """A valid synthetic credit code."""
    body = f"MA0M{index:04d}"
    first17 = f"91320509{body}{organisation_code_check_char(body)}"
    return first17 + credit_code_check_char(first17)


async def registry(db: Database, clock: FrozenClock, n: int = 4) -> dict[str, int]:
    """``n`` enterprises in two townships; returns their ids by credit code."""
    ids = {}
    async with db.session() as session:
        service = EnterpriseService(session, clock)
        for i in range(n):
            town = "320509107" if i % 2 == 0 else "320509105"
            profile = Profile(township_code=town, industry_code="3832")
            made = await service.create(SYSTEM, f"测试企业{i}", code(i), profile)
            ids[code(i)] = made.id
    return ids


def power_csv(rows: list[tuple[str, date | str, float]]) -> bytes:
    """A grid company's file."""
    lines = ["统一社会信用代码,日期,用电量"] + [f"{c},{d},{k}" for c, d, k in rows]
    return ("\n".join(lines) + "\n").encode()


def example_rows() -> list[tuple[str, date | str, float]]:
    """The worked example: B = 100, 200, none, 50; on DAY 30, 59.9, 500 and no reading (D has
    one the day before, so its missing day is flagged)."""
    dec = date(2025, 12, 1)
    rows: list[tuple[str, date | str, float]] = []
    for i in range(31):
        d = dec + timedelta(days=i)
        rows.append((code(0), d, 100.0 if i < 10 else 0.0))
        rows.append((code(1), d, 200.0))
        rows.append((code(2), d, 0.0))
        if i < 2:
            rows.append((code(3), d, 40.0 if i == 0 else 60.0))
    rows += [(code(0), DAY, 30.0), (code(1), DAY, 59.9), (code(2), DAY, 500.0)]
    rows.append((code(3), DAY - timedelta(days=1), 45.0))  # D reports, but not on DAY
    return rows


async def load_example(db: Database, clock: FrozenClock) -> dict[str, int]:
    """The registry and the worked example's power imported."""
    ids = await registry(db, clock)
    async with db.session() as session:
        report = await import_power(session, clock, SYSTEM, "p.csv", power_csv(example_rows()),
                                    max_kwh=1e6, today=DAY)  # fmt: skip
        assert report.applied, report.problems
    return ids
