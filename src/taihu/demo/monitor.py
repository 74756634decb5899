"""Demo data of the operation monitor: 150 days of daily power around a Spring Festival.

1 December 2025 to 29 April 2026 (Spring Festival: 17 February 2026), so the previous December
is the baseline. Enterprises wind down in the week before the festival, stay at a few percent of
their load, and restart by sector: textiles first, then equipment and elevators, optical fibre,
and electronics last, each ramping up over two weeks; a few never get going. The preform
chokepoint of the industry map restarts late, so its buyers' unblock lists are not empty in
March. Anomalies are injected on purpose: missing meter days, an idle spike (a shut enterprise
showing one busy day) and a status report that the power contradicts. Two key-enterprise lists
and a few cases (one overdue, some opened from an unblock list) complete the picture.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from taihu.accounts import Principal
from taihu.core import Database, FrozenClock
from taihu.demo.chains import DistrictPlan
from taihu.enterprises import Enterprise
from taihu.monitor import CaseService, MonitorService, PowerDay, refresh_columns

__all__ = ["FIRST_DAY", "LAST_DAY", "SPRING_FESTIVAL", "seed_monitor"]

FIRST_DAY = date(2025, 12, 1)
DAYS = 150
LAST_DAY = FIRST_DAY + timedelta(days=DAYS - 1)
SPRING_FESTIVAL = date(2026, 2, 17)
CHOKEPOINT = "91320509MA0D00308A"
# Restart day by chain (sector); enterprises in no chain restart with the textiles' neighbours.
_RESTART = {
    "polyester": date(2026, 2, 24),
    "elevator": date(2026, 3, 2),
    "optical-fibre": date(2026, 3, 5),
    "components": date(2026, 3, 9),
    "display": date(2026, 3, 12),
    "ic": date(2026, 3, 12),
}
_DEFAULT_RESTART = date(2026, 2, 27)
_RAMP_DAYS = 14
_SPIKE_DAY = date(2026, 4, 20)


def _restart(chain: str | None, code: str) -> date:
    if code == CHOKEPOINT:
        return date(2026, 3, 25)
    return _RESTART.get(chain or "", _DEFAULT_RESTART)


def _level(day: date, restart: date, stalled: bool) -> float:
    """Share of normal load on a day."""
    if day < SPRING_FESTIVAL - timedelta(days=7):
        return 1.0
    if day < SPRING_FESTIVAL - timedelta(days=3):
        return 0.6
    if day < restart:
        return 0.04
    if stalled:
        return 0.12
    ramp = min((day - restart).days / _RAMP_DAYS, 1.0)
    return 0.3 + 0.65 * ramp


def plan_power(plan: DistrictPlan) -> tuple[list[tuple[str, date, float]], list[str], str]:
    """Daily use per (credit code, day), the stalled enterprises and the idle spiker."""
    rng = random.Random(20260217)  # noqa: S311 - demo data
    rows: list[tuple[str, date, float]] = []
    stalled = [f.code for f in plan.firms if rng.random() < 0.05 and f.code != CHOKEPOINT]
    spiker = stalled[0] if stalled else ""
    gaps = {f.code: {FIRST_DAY + timedelta(days=rng.randrange(95, DAYS)) for _ in range(3)}
            for f in rng.sample(plan.firms, min(12, len(plan.firms)))}  # fmt: skip
    for firm in plan.firms:
        base = 300.0 + 4.0 * firm.employees * rng.uniform(0.7, 1.3)
        restart = _restart(firm.chain, firm.code)
        for offset in range(DAYS):
            day = FIRST_DAY + timedelta(days=offset)
            if day in gaps.get(firm.code, ()):
                continue  # the meter reading is missing
            level = _level(day, restart, firm.code in stalled)
            if firm.code == spiker and day == _SPIKE_DAY:
                level = 0.7  # machines run idle to look resumed
            weekly = 0.85 if day.weekday() == 6 else 1.0
            rows.append((firm.code, day, round(base * level * weekly * rng.uniform(0.92, 1.08), 1)))
    return rows, stalled, spiker


async def seed_monitor(db: Database, plan: DistrictPlan, now: datetime) -> None:
    """Write the power history, the lists and the cases through the monitor's services."""
    rows, stalled, _spiker = plan_power(plan)
    system = Principal.system("demo")
    async with db.session() as session:
        ids = dict((await session.execute(sa.select(Enterprise.credit_code, Enterprise.id))).all())
        values = [{"enterprise_id": ids[c], "day": d, "kwh": k, "source": "grid",
                   "updated_at": now} for c, d, k in rows if c in ids]  # fmt: skip
        for start in range(0, len(values), 10_000):
            await session.execute(sa.insert(PowerDay), values[start : start + 10_000])
        await refresh_columns(session)  # written around the import: build the day columns
        clock = FrozenClock(now - timedelta(days=10))
        monitor = MonitorService(session, clock=clock)
        key = await monitor.create_list(system, "重点企业", "区级重点监测企业")
        key_codes = [f.code for f in plan.firms if f.key_enterprise or f.chain_leader]
        await monitor.set_members(system, key.id, key_codes)
        supplies = await monitor.create_list(system, "防疫物资生产企业", "示范: 口罩、防护服面料")
        textile = [f.code for f in plan.firms if (f.segment or "").startswith("poly.")][:8]
        if textile:
            await monitor.set_members(system, supplies.id, textile)
        if len(stalled) > 1:  # says it has resumed; its power says otherwise
            await monitor.report_status(system, ids[stalled[1]], LAST_DAY, resumed=True,
                                        note="示范: 自报已复工")  # fmt: skip
        cases = CaseService(session, clock)
        officer = "analyst"
        if stalled:
            late = await cases.record(system, ids[stalled[0]], "labour", "外地员工返岗不足",
                                      "示范: 春节后返岗率不足三成")  # fmt: skip
            await cases.act(system, late.id, "assign", officer=officer,
                            deadline=clock.now().date() + timedelta(days=5))  # fmt: skip
        if len(stalled) > 1:
            await cases.record(system, ids[stalled[1]], "funds", "流动资金紧张",
                               "示范: 申请稳岗贷款")  # fmt: skip
        if len(stalled) > 2:
            done = await cases.record(system, ids[stalled[2]], "logistics", "原料运输车辆通行受阻")
            await cases.act(system, done.id, "assign", officer=officer,
                            deadline=clock.now().date() + timedelta(days=2))  # fmt: skip
            await cases.act(system, done.id, "close", comment="示范: 已办理通行证, 车辆已进园")
        fibre = {f.code for f in plan.firms if f.chain == "optical-fibre"}
        leaders = [f.code for f in plan.firms if f.chain_leader and f.code in fibre]
        if leaders:
            deadline = clock.now().date() + timedelta(days=14)
            await cases.open_unblock_cases(system, monitor, leaders[0], date(2026, 3, 10),
                                           officer=officer, deadline=deadline)  # fmt: skip
