"""Report templates and their bindings, and report tasks: the parts a period's run is made of."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from taihu.accounts import Principal, Role, record_audit
from taihu.core import N_, Clock, InvalidInput, NotFound, SystemClock
from taihu.reporting.figures import check_params
from taihu.reporting.models import ReportTask, ReportTemplate
from taihu.reporting.periods import Cadence
from taihu.reporting.workbook import Anchor, check_template, sheet_names
from taihu.settings import MonitorSettings

__all__ = ["Binding", "TaskBook", "TaskSpec", "cadence_of", "sha256_of"]


MAX_BINDINGS = 200


@dataclass(frozen=True, slots=True)
class Binding:
    """A bound place of a template: sheet, cell or range, figure and its parameters."""

    sheet: str
    ref: str
    figure: str
    params: Mapping[str, str] = field(default_factory=dict)
    label: str = ""

    def as_json(self) -> dict[str, Any]:
        """The binding as stored with the template."""
        return {
            "sheet": self.sheet,
            "ref": self.ref.upper(),
            "figure": self.figure,
            "params": dict(self.params),
            "label": self.label,
        }


@dataclass(frozen=True, slots=True)
class TaskSpec:
    """What a new report task says."""

    title: str
    issuing_body: str
    cadence: str
    template_id: int
    owner: str
    due_day: int = 1
    due_on: date | None = None
    lead_days: int = 0


def cadence_of(task: ReportTask) -> Cadence:
    """The task's cadence rule."""
    return Cadence(task.cadence, task.due_day, task.due_on, task.lead_days)


def sha256_of(content: bytes) -> str:
    """The hex SHA-256 of a file."""
    return hashlib.sha256(content).hexdigest()


class TaskBook:
    """Templates and tasks, for the bureau (the runs: ``service.ReportingService``)."""

    def __init__(
        self,
        session: AsyncSession,
        clock: Clock | None = None,
        monitor: MonitorSettings | None = None,
    ) -> None:
        self.session = session
        self.clock = clock or SystemClock()
        self.monitor = monitor or MonitorSettings()

    @staticmethod
    def _allow(actor: Principal) -> None:
        actor.require_role(Role.BUREAU)

    # -- templates -----------------------------------------------------------------------

    async def add_template(
        self, actor: Principal, name: str, filename: str, content: bytes
    ) -> ReportTemplate:
        """Keep an upper level's workbook (refused unless it is an xlsx openpyxl keeps whole)."""
        self._allow(actor)
        if not name.strip():
            raise InvalidInput(N_("a template needs a name"), code="bad_template")
        sheet_names(content)
        now = self.clock.now()
        row = ReportTemplate(
            name=name.strip()[:200],
            filename=filename.strip()[:255] or "template.xlsx",
            size=len(content),
            sha256=sha256_of(content),
            content=content,
            bindings=[],
            created_by=actor.name,
            created_at=now,
            updated_at=now,
        )
        self.session.add(row)
        await self.session.flush()
        await record_audit(
            self.session,
            actor,
            "report_template.create",
            "report_template",
            row.id,
            after={"name": row.name, "filename": row.filename, "sha256": row.sha256},
            at=now,
        )
        return row

    async def templates(self, actor: Principal) -> list[ReportTemplate]:
        """Every template, newest first."""
        self._allow(actor)
        return list(
            await self.session.scalars(sa.select(ReportTemplate).order_by(ReportTemplate.id.desc()))
        )

    async def template(self, actor: Principal, template_id: int) -> ReportTemplate:
        """One template (404 ``template_not_found``)."""
        self._allow(actor)
        row = await self.session.get(ReportTemplate, template_id)
        if row is None:
            raise NotFound(N_("no report template {id}"), code="template_not_found", id=template_id)
        return row

    async def bind(
        self, actor: Principal, template_id: int, bindings: Sequence[Binding]
    ) -> ReportTemplate:
        """Replace a template's bindings; all are checked first, none kept if one is bad."""
        row = await self.template(actor, template_id)
        if len(bindings) > MAX_BINDINGS:
            raise InvalidInput(
                N_("at most {top} bindings per template"), code="bad_binding", top=MAX_BINDINGS
            )
        anchors, seen = [], set[tuple[str, int, int]]()
        for b in bindings:
            anchor = Anchor(b.sheet, b.ref)
            check_params(b.figure, b.params, cell=anchor.is_cell)
            c1, r1, c2, r2 = anchor.region
            cells = {(b.sheet, c, r) for c in range(c1, c2 + 1) for r in range(r1, r2 + 1)}
            if cells & seen:
                raise InvalidInput(
                    N_("{sheet}!{ref} overlaps another binding"),
                    code="bad_binding",
                    sheet=b.sheet[:60],
                    ref=b.ref[:40],
                )
            seen |= cells
            anchors.append(anchor)
        check_template(row.content, anchors)
        before = list(row.bindings)
        row.bindings = [b.as_json() for b in bindings]
        row.updated_at = self.clock.now()
        await record_audit(
            self.session,
            actor,
            "report_template.bind",
            "report_template",
            row.id,
            before={"bindings": before},
            after={"bindings": row.bindings},
            at=row.updated_at,
        )
        return row

    # -- tasks ---------------------------------------------------------------------------

    async def add_task(self, actor: Principal, spec: TaskSpec) -> ReportTask:
        """A new report task (its cadence and template checked)."""
        self._allow(actor)
        if not spec.title.strip() or not spec.issuing_body.strip() or not spec.owner.strip():
            raise InvalidInput(
                N_("a report task needs a title, an issuing body and an owner"), code="bad_task"
            )
        Cadence(spec.cadence, spec.due_day, spec.due_on, spec.lead_days)
        await self.template(actor, spec.template_id)
        row = ReportTask(
            title=spec.title.strip()[:200],
            issuing_body=spec.issuing_body.strip()[:200],
            cadence=spec.cadence,
            due_day=spec.due_day,
            due_on=spec.due_on,
            lead_days=spec.lead_days,
            template_id=spec.template_id,
            owner=spec.owner.strip()[:128],
            active=True,
            created_by=actor.name,
            created_at=self.clock.now(),
        )
        self.session.add(row)
        await self.session.flush()
        await record_audit(
            self.session,
            actor,
            "report_task.create",
            "report_task",
            row.id,
            after={"title": row.title, "cadence": row.cadence, "template_id": row.template_id},
            at=row.created_at,
        )
        return row

    async def set_active(self, actor: Principal, task_id: int, active: bool) -> ReportTask:
        """Pause or resume a task's drafts."""
        row = await self.task(actor, task_id)
        before, row.active = row.active, active
        await record_audit(
            self.session,
            actor,
            "report_task.update",
            "report_task",
            row.id,
            before={"active": before},
            after={"active": active},
            at=self.clock.now(),
        )
        return row

    async def tasks(self, actor: Principal, *, active_only: bool = False) -> list[ReportTask]:
        """The report tasks, by id."""
        self._allow(actor)
        query = sa.select(ReportTask).order_by(ReportTask.id)
        if active_only:
            query = query.where(ReportTask.active.is_(True))
        return list(await self.session.scalars(query))

    async def task(self, actor: Principal, task_id: int) -> ReportTask:
        """One task (404 ``task_not_found``)."""
        self._allow(actor)
        row = await self.session.get(ReportTask, task_id)
        if row is None:
            raise NotFound(N_("no report task {id}"), code="task_not_found", id=task_id)
        return row
