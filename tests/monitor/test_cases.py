"""Blocker cases: the workflow, who may do what, the audit trail, and the unblock list."""

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from taihu.accounts import AuditEntry, Principal, Role
from taihu.chains import ChainService, EdgeIn
from taihu.core import Conflict, Database, FrozenClock, InvalidInput, NotFound, PermissionDenied
from taihu.monitor import (
    Action,
    CaseFilter,
    CaseService,
    MonitorService,
    State,
    import_power,
    is_overdue,
    next_state,
)
from tests.monitor.helpers import DAY, SYSTEM, code, power_csv, registry

BUREAU = Principal("officer.wang", Role.BUREAU)
AUDITOR = Principal("auditor", Role.AUDITOR)


def _member(enterprise_id: int) -> Principal:
    return Principal("owner", Role.ENTERPRISE, enterprise_ids=frozenset({enterprise_id}))


def test_the_rules() -> None:
    assert next_state(State.OPEN, Action.ASSIGN, officer="w", deadline=DAY) is State.ASSIGNED
    assert next_state(State.ASSIGNED, Action.START) is State.IN_PROGRESS
    assert next_state(State.IN_PROGRESS, Action.ASSIGN, officer="x", deadline=DAY) is State.ASSIGNED
    assert next_state(State.IN_PROGRESS, Action.CLOSE, comment="done") is State.CLOSED
    assert next_state(State.CLOSED, Action.REOPEN) is State.IN_PROGRESS
    assert next_state(State.OPEN, Action.COMMENT, comment="hi") is State.OPEN
    with pytest.raises(Conflict):
        next_state(State.OPEN, Action.CLOSE, comment="done")  # never assigned
    with pytest.raises(Conflict):
        next_state(State.CLOSED, Action.COMMENT, comment="late")
    with pytest.raises(InvalidInput):
        next_state(State.ASSIGNED, Action.CLOSE, comment="  ")  # no report-back
    with pytest.raises(InvalidInput):
        next_state(State.OPEN, Action.ASSIGN, officer="w")  # no deadline
    assert is_overdue(State.ASSIGNED, DAY - timedelta(days=1), DAY)
    assert not is_overdue(State.ASSIGNED, DAY, DAY)
    assert not is_overdue(State.CLOSED, DAY - timedelta(days=9), DAY)


async def test_record_assign_supervise_close(db: Database, clock: FrozenClock) -> None:
    ids = await registry(db, clock)
    target = ids[code(0)]
    async with db.session() as session:
        cases = CaseService(session, clock)
        case = await cases.record(_member(target), target, "logistics", "物流车辆无法进园区")
        assert case.state == "open"
        today = clock.now().date()
        await cases.act(BUREAU, case.id, "assign", officer="wang.li",
                        deadline=today + timedelta(days=2))  # fmt: skip
        await cases.act(_member(target), case.id, "comment", comment="仍未解决")
        await cases.act(BUREAU, case.id, "start")
        clock.advance(timedelta(days=3))
        assert cases.overdue(case)
        overdue, total = await cases.find(AUDITOR, CaseFilter(overdue=True))
        assert (total, overdue[0].id) == (1, case.id)
        await cases.act(BUREAU, case.id, "close", comment="已协调通行证")
        assert case.state == "closed"
        assert case.report_back == "已协调通行证"
        assert not cases.overdue(case)
        events = await cases.events(AUDITOR, case.id)
        assert [e.action for e in events] == ["record", "assign", "comment", "start", "close"]
        query = select(AuditEntry.action).where(AuditEntry.entity_type == "case")
        actions = list(await session.scalars(query.order_by(AuditEntry.id)))
        assert actions == ["case.record", "case.assign", "case.comment", "case.start", "case.close"]


async def test_permissions(db: Database, clock: FrozenClock) -> None:
    ids = await registry(db, clock)
    mine, other = ids[code(0)], ids[code(1)]
    async with db.session() as session:
        cases = CaseService(session, clock)
        with pytest.raises(PermissionDenied):
            await cases.record(_member(mine), other, "funds", "贷款")  # not its enterprise
        with pytest.raises(PermissionDenied):
            await cases.record(AUDITOR, mine, "funds", "贷款")  # auditors only read
        theirs = await cases.record(BUREAU, other, "labour", "员工返岗不足")
        ours = await cases.record(_member(mine), mine, "supplier", "原料断供")
        with pytest.raises(PermissionDenied):  # enterprise users do not work cases
            await cases.act(_member(mine), ours.id, "assign", officer="x", deadline=DAY)
        with pytest.raises(NotFound):  # nor see other enterprises' cases
            await cases.act(_member(mine), theirs.id, "comment", comment="?")
        seen, total = await cases.find(_member(mine), CaseFilter())
        assert (total, [c.id for c in seen]) == (1, [ours.id])
        with pytest.raises(InvalidInput):
            await cases.record(BUREAU, mine, "weather", "台风")
        with pytest.raises(InvalidInput):
            await cases.act(BUREAU, ours.id, "assign", officer="x", deadline=date(2000, 1, 1))


async def test_the_unblock_list_opens_cases_for_non_resumed_critical_suppliers(
    db: Database, clock: FrozenClock
) -> None:
    # Key K buys from S1 (critical, down), which buys from S2 (critical, down); K also buys
    # from S3 (substitutable, down) and S4 (critical, resumed).
    ids = await registry(db, clock, n=5)
    key, s1, s2, s3, s4 = (code(i) for i in range(5))
    async with db.session() as session:
        chains = ChainService(session, clock)
        for supplier, buyer, item, sub in (
            (s1, key, "a", False),
            (s2, s1, "b", False),
            (s3, key, "c", True),
            (s4, key, "d", False),
        ):
            await chains.add_edge(SYSTEM, EdgeIn(buyer, item, 100.0, supplier_code=supplier,
                                                 substitutable=sub))  # fmt: skip
        rows: list[tuple[str, date | str, float]] = []
        for c in (key, s1, s2, s3, s4):
            rows.append((c, date(2025, 12, 1), 100.0))
        rows += [(key, DAY, 10.0), (s1, DAY, 5.0), (s2, DAY, 0.0), (s3, DAY, 0.0),
                 (s4, DAY, 90.0)]  # fmt: skip
        await import_power(session, clock, SYSTEM, "p.csv", power_csv(rows), max_kwh=1e6,
                           today=DAY)  # fmt: skip
    async with db.session() as session:
        cases, monitor = CaseService(session, clock), MonitorService(session, clock=clock)
        _, items = await cases.unblock_list(AUDITOR, monitor, key, DAY)
        # S3 may be substituted and S4 is resumed. S1 brought back alone would fall again for
        # want of S2, so it restores nothing yet: S2 first (itself), then S1 brings S1 and K.
        assert [(i.credit_code, i.depth, i.restores) for i in items] == [(s2, 2, 1), (s1, 1, 2)]
        with pytest.raises(PermissionDenied):
            await cases.open_unblock_cases(AUDITOR, monitor, key, DAY)
        deadline = clock.now().date() + timedelta(days=3)
        _, items, opened = await cases.open_unblock_cases(
            BUREAU, monitor, key, DAY, officer="wang.li", deadline=deadline
        )
        assert opened == 2
        _, again, opened = await cases.open_unblock_cases(BUREAU, monitor, key, DAY)
        assert opened == 0  # open cases are not opened twice
        assert [i.case_id for i in again] == [i.case_id for i in items]
        case = await cases.get(BUREAU, items[0].case_id or 0)
        assert (case.enterprise_id, case.category, case.state) == (ids[s2], "supplier", "assigned")
        assert case.origin_enterprise_id == ids[key]
