"""Blocker cases within one unit of work, and the chain unblock list that opens them.

Who may do what: the bureau and admins record cases for any enterprise and work them (assign,
start, close, reopen); an enterprise's own users record cases for it, read them and comment on
them; auditors read everything. Every step is audited and kept as a case event.

The unblock list of a key enterprise K on a day: walk up from K along supply edges that are not
substitutable (critical inputs), supplier after supplier, and keep every local supplier that is
not resumed that day (it has a baseline and a reading below theta · B). They are ranked by the
industry map's unblock order (``taihu.chains.simulate``: whose recovery restores the most
downstream value first).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from taihu.accounts import Principal, Role, record_audit
from taihu.chains import ChainService, SupplyGraph, simulate
from taihu.core import N_, Clock, InvalidInput, NotFound, SystemClock
from taihu.enterprises import CreditCode, Enterprise
from taihu.monitor.cases import Action, Category, State, is_overdue, next_state
from taihu.monitor.models import Case, CaseEvent
from taihu.monitor.service import MonitorService

__all__ = ["CaseFilter", "CaseService", "UnblockItem"]


@dataclass(frozen=True, slots=True)
class CaseFilter:
    """Which cases to list; empty fields match everything."""

    state: str | None = None
    enterprise_id: int | None = None
    officer: str | None = None
    overdue: bool = False
    open_only: bool = False


@dataclass(frozen=True, slots=True)
class UnblockItem:
    """A non-resumed critical supplier of a key enterprise, and what its recovery restores."""

    enterprise_id: int
    credit_code: str
    name: str
    depth: int  # 1 = a direct supplier of the key enterprise
    restores: int  # enterprises restored with it (the chains' unblock order)
    value: float  # annual supply value restored, 10k yuan
    case_id: int | None = None  # the open case for it (existing or just opened)


def _facts(case: Case) -> dict[str, object]:
    return {
        "enterprise_id": case.enterprise_id, "category": case.category, "state": case.state,
        "officer": case.officer, "deadline": case.deadline.isoformat() if case.deadline else None,
    }  # fmt: skip


class CaseService:
    """Cases and their history, scoped to what a principal may see and do."""

    def __init__(self, session: AsyncSession, clock: Clock | None = None) -> None:
        self.session = session
        self.clock = clock or SystemClock()

    def today(self) -> date:
        """Today, for overdue checks."""
        return self.clock.now().date()

    async def record(
        self, actor: Principal, enterprise_id: int, category: str, title: str,
        description: str = "", *, origin_enterprise_id: int | None = None,
    ) -> Case:  # fmt: skip
        """Record a problem of an enterprise (bureau, admin, or the enterprise's own users)."""
        if actor.role is not Role.BUREAU:
            actor.require_enterprise(enterprise_id)
        try:
            kind = Category(category)
        except ValueError:
            raise InvalidInput(N_("{category} is not a category ({choices})"),
                               code="bad_category", category=category,
                               choices=", ".join(c.value for c in Category)) from None  # fmt: skip
        title = " ".join(title.split())
        if not title or len(title) > 200:
            raise InvalidInput(N_("a case title needs 1 to 200 characters"), code="bad_title")
        if await self.session.get(Enterprise, enterprise_id) is None:
            raise NotFound(N_("no enterprise {id}"), code="enterprise_not_found", id=enterprise_id)
        now = self.clock.now()
        case = Case(enterprise_id=enterprise_id, category=kind.value, title=title,
                    description=description[:2000], state=State.OPEN.value,
                    reported_by=actor.name, origin_enterprise_id=origin_enterprise_id,
                    created_at=now, updated_at=now)  # fmt: skip
        self.session.add(case)
        await self.session.flush()
        self.session.add(CaseEvent(case_id=case.id, at=now, actor=actor.name, action="record",
                                   state=case.state, comment=description[:2000]))  # fmt: skip
        await record_audit(self.session, actor, "case.record", "case", case.id,
                           after=_facts(case), at=now)  # fmt: skip
        return case

    async def get(self, actor: Principal, case_id: int) -> Case:
        """A case the principal may see."""
        case = await self.session.get(Case, case_id)
        if case is None or not actor.can_see_enterprise(case.enterprise_id):
            raise NotFound(N_("no case {id}"), code="case_not_found", id=case_id)
        return case

    async def events(self, actor: Principal, case_id: int) -> list[CaseEvent]:
        """A case's history, oldest first."""
        await self.get(actor, case_id)
        rows = await self.session.scalars(
            sa.select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)
        )
        return list(rows)

    async def act(
        self, actor: Principal, case_id: int, action: str, *, comment: str = "",
        officer: str | None = None, deadline: date | None = None,
    ) -> Case:  # fmt: skip
        """Assign, start, comment, close (with the report-back) or reopen a case."""
        try:
            step = Action(action)
        except ValueError:
            raise InvalidInput(N_("{action} is not an action ({choices})"), code="bad_action",
                               action=action,
                               choices=", ".join(a.value for a in Action)) from None  # fmt: skip
        case = await self.get(actor, case_id)
        if step is Action.COMMENT:
            if actor.role not in (Role.ADMIN, Role.BUREAU):
                actor.require_enterprise(case.enterprise_id)
        else:
            actor.require_role(Role.BUREAU)
        if deadline is not None and step is Action.ASSIGN and deadline < self.today():
            raise InvalidInput(N_("the deadline {deadline} has passed"), code="bad_deadline",
                               deadline=deadline.isoformat())  # fmt: skip
        before = _facts(case)
        state = next_state(State(case.state), step, officer=officer, deadline=deadline,
                           comment=comment)  # fmt: skip
        now = self.clock.now()
        case.state, case.updated_at = state.value, now
        if step is Action.ASSIGN:
            case.officer, case.deadline = (officer or "").strip()[:128], deadline
        elif step is Action.CLOSE:
            case.report_back, case.closed_at = comment.strip()[:2000], now
        elif step is Action.REOPEN:
            case.closed_at = None
        self.session.add(CaseEvent(case_id=case.id, at=now, actor=actor.name, action=step.value,
                                   state=state.value, comment=comment.strip()[:2000]))  # fmt: skip
        await self.session.flush()
        after = {**_facts(case), **({"comment": comment.strip()[:200]} if comment else {})}
        await record_audit(self.session, actor, f"case.{step.value}", "case", case.id,
                           before=before, after=after, at=now)  # fmt: skip
        return case

    async def find(
        self, actor: Principal, where: CaseFilter, *, limit: int = 100, offset: int = 0
    ) -> tuple[list[Case], int]:
        """Cases, newest first; enterprise users see their own enterprises' cases."""
        clauses: list[sa.ColumnElement[bool]] = []
        if where.state:
            clauses.append(Case.state == where.state)
        if where.open_only or where.overdue:
            clauses.append(Case.state != State.CLOSED.value)
        if where.overdue:
            clauses.append(Case.deadline < self.today())
        if where.enterprise_id is not None:
            clauses.append(Case.enterprise_id == where.enterprise_id)
        if where.officer:
            clauses.append(Case.officer == where.officer)
        if not actor.sees_all_enterprises:
            clauses.append(Case.enterprise_id.in_(sorted(actor.enterprise_ids)))
        total = await self.session.scalar(
            sa.select(sa.func.count()).select_from(Case).where(*clauses)
        )
        rows = await self.session.scalars(
            sa.select(Case).where(*clauses).order_by(Case.id.desc()).limit(limit).offset(offset)
        )
        return list(rows), int(total or 0)

    def overdue(self, case: Case) -> bool:
        """Whether a case is past its deadline and open."""
        return is_overdue(case.state, case.deadline, self.today())

    # -- the chain unblock list (以点带线扩面) ---------------------------------------------

    async def unblock_list(
        self, actor: Principal, monitor: MonitorService, key_code: str, day: date
    ) -> tuple[Enterprise, list[UnblockItem]]:
        """A key enterprise's non-resumed critical suppliers, transitively, best first."""
        actor.require_role(Role.BUREAU, Role.AUDITOR)
        code = CreditCode(key_code).value
        key = await self.session.scalar(sa.select(Enterprise).where(Enterprise.credit_code == code))
        if key is None:
            raise NotFound(N_("no enterprise {credit_code} is registered"),
                           code="enterprise_not_found", credit_code=code)  # fmt: skip
        graph = await ChainService(self.session, self.clock).graph(actor)
        down_ids = await monitor.down(actor, day)
        ids = dict(
            list(await self.session.execute(sa.select(Enterprise.credit_code, Enterprise.id)))
        )
        down = {c for c, i in ids.items() if i in down_ids}
        depth = _upstream(graph, code)
        candidates = sorted(k for k in depth if k in down)
        if not candidates:
            return key, []
        ranking = simulate(graph, candidates).unblock
        open_cases = dict(list(await self.session.execute(
            sa.select(Case.enterprise_id, sa.func.max(Case.id)).where(
                Case.state != State.CLOSED.value, Case.origin_enterprise_id == key.id
            ).group_by(Case.enterprise_id)
        )))  # fmt: skip
        items = [
            UnblockItem(
                ids[u.key],
                u.key,
                graph.firms[u.key].name,
                depth[u.key],
                len(u.restores),
                u.value,
                open_cases.get(ids[u.key]),
            )
            for u in ranking
        ]
        return key, items

    async def open_unblock_cases(
        self, actor: Principal, monitor: MonitorService, key_code: str, day: date, *,
        officer: str | None = None, deadline: date | None = None,
    ) -> tuple[Enterprise, list[UnblockItem], int]:  # fmt: skip
        """Open a supplier case for every unblock-list entry without one (bureau or admin)."""
        actor.require_role(Role.BUREAU)
        key, items = await self.unblock_list(actor, monitor, key_code, day)
        opened = 0
        out = []
        for item in items:
            if item.case_id is None:
                case = await self.record(
                    actor, item.enterprise_id, Category.SUPPLIER.value,
                    (f"复工受阻: {key.name} 的关键供应商未复工 / critical supplier of "
                     f"{key.name} not resumed")[:200],
                    f"Unblock list of {key.name} ({key.credit_code}) on {day}: depth "
                    f"{item.depth}, restores {item.restores} enterprise(s), "
                    f"{item.value:.0f} (10k yuan) a year.",
                    origin_enterprise_id=key.id,
                )  # fmt: skip
                if officer and deadline:
                    await self.act(actor, case.id, Action.ASSIGN.value, officer=officer,
                                   deadline=deadline)  # fmt: skip
                opened += 1
                out.append(replace(item, case_id=case.id))
            else:
                out.append(item)
        return key, out, opened


def _upstream(graph: SupplyGraph, key: str) -> dict[str, int]:
    """Local suppliers reachable upstream over non-substitutable edges, with their depth."""
    depth: dict[str, int] = {}
    frontier = [key]
    level = 0
    while frontier:
        level += 1
        following = []
        for buyer in frontier:
            for edge in graph.by_buyer.get(buyer, ()):
                supplier = edge.supplier
                firm = graph.firms.get(supplier)
                if edge.substitutable or firm is None or not firm.local:
                    continue
                if supplier not in depth and supplier != key:
                    depth[supplier] = level
                    following.append(supplier)
        frontier = following
    return depth
