"""Each period's run of a report task: its draft, corrections, approval and submission.

A run goes draft → approved → submitted. The draft's cells are read from the figures (kept as
``generated``); a person's corrections are kept beside them, never over them; the filled
workbook is the template with the generated values, corrected where corrected. Submission
freezes the run and its file. Only the bureau (and admins) see or do any of it; every write is
audited in the same unit of work.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from openpyxl.utils.cell import get_column_letter

from taihu.accounts import Principal, record_audit
from taihu.core import N_, Conflict, InvalidInput, Message, NotFound, TaihuError
from taihu.reporting.figures import CATALOGUE, Scope
from taihu.reporting.models import ReportRun, ReportTask, ReportTemplate
from taihu.reporting.periods import Period
from taihu.reporting.problems import (
    problem_json,
    region_overflow,
    unknown_figure,
    unreadable_figure,
)
from taihu.reporting.tasks import TaskBook, cadence_of, sha256_of
from taihu.reporting.workbook import Anchor, CellValue, fill

__all__ = ["Deadline", "ReportingService", "cell_value"]


@dataclass(frozen=True, slots=True)
class Deadline:
    """A period of a task near today: due, and its run if one exists."""

    task: ReportTask
    period: Period
    run: ReportRun | None
    overdue: bool


def cell_value(text: str) -> CellValue:
    """A value typed by a person: a number where it reads as one, else the text (empty: none)."""
    text = text.strip()
    if not text:
        return None
    try:
        number = float(text.replace(",", ""))
    except ValueError:
        return text
    return int(number) if number.is_integer() and abs(number) < 2**53 else number


def _key(sheet: str, coordinate: str) -> str:
    return f"{sheet}!{coordinate}"


def _place(key: str) -> tuple[str, str]:
    sheet, _, coordinate = key.rpartition("!")
    return sheet, coordinate


class ReportingService(TaskBook):
    """Each period's run of a task: generated, corrected, approved, submitted (bureau)."""

    # -- runs ----------------------------------------------------------------------------

    async def runs(self, actor: Principal, task_id: int) -> list[ReportRun]:
        """A task's history, latest period first."""
        await self.task(actor, task_id)
        return list(
            await self.session.scalars(
                sa.select(ReportRun)
                .where(ReportRun.task_id == task_id)
                .order_by(ReportRun.period_start.desc())
            )
        )

    async def run(self, actor: Principal, run_id: int) -> ReportRun:
        """One run (404 ``run_not_found``)."""
        self._allow(actor)
        row = await self.session.get(ReportRun, run_id)
        if row is None:
            raise NotFound(N_("no report run {id}"), code="run_not_found", id=run_id)
        return row

    async def _read(
        self, actor: Principal, template: ReportTemplate, period: Period
    ) -> tuple[dict[str, CellValue], list[Message]]:
        """Every bound cell's value for the period, and what could not be read."""
        scope = Scope(self.session, self.clock, period, actor, self.monitor)
        values: dict[str, CellValue] = {}
        problems: list[Message] = []
        for b in template.bindings:
            anchor = Anchor(b["sheet"], b["ref"])
            c1, r1, c2, r2 = anchor.region
            for r in range(r1, r2 + 1):
                for c in range(c1, c2 + 1):
                    values[_key(anchor.sheet, _coordinate(c, r))] = None
            figure = CATALOGUE.get(b["figure"])
            where = f"{anchor.sheet}!{anchor.ref}"
            if figure is None:
                problems.append(unknown_figure(where, b["figure"]))
                continue
            try:
                async with self.session.begin_nested():  # a failed read leaves the session usable
                    got = await figure.read(scope, b.get("params", {}))
            except TaihuError as exc:
                problems.append(unreadable_figure(where, b["figure"], exc))
                continue
            if not isinstance(got, list):
                values[_key(anchor.sheet, _coordinate(c1, r1))] = got
                continue
            if len(got) > r2 - r1 + 1:
                problems.append(region_overflow(where, b["figure"], len(got), r2 - r1 + 1))
            for i, line in enumerate(got[: r2 - r1 + 1]):
                for j, value in enumerate(line[: c2 - c1 + 1]):
                    values[_key(anchor.sheet, _coordinate(c1 + j, r1 + i))] = value
        return values, problems

    def _refill(self, run: ReportRun, template: ReportTemplate) -> None:
        values = {_place(k): v for k, v in run.generated.items()}
        for k, c in run.corrections.items():
            values[_place(k)] = c["value"]
        run.content = fill(template.content, values)
        run.sha256 = sha256_of(run.content)
        run.template_sha256 = template.sha256

    async def generate(
        self,
        actor: Principal,
        task_id: int,
        period_key: str | None = None,
        *,
        today: date | None = None,
        refresh: bool = False,
    ) -> tuple[ReportRun, bool]:
        """The period's draft, made if missing (or read again with ``refresh``); made or not.

        Without ``period_key``, the period due for generation by ``today``. Idempotent per task
        and period: a second call returns the run (a refresh keeps the corrections).
        """
        task = await self.task(actor, task_id)
        cadence = cadence_of(task)
        if period_key:
            period = cadence.parse(period_key)
        else:
            due = cadence.due_now(today or self.clock.now().date())
            if due is None:
                raise InvalidInput(N_("no period of this task is due yet"), code="not_due")
            period = due
        run = await self.session.scalar(
            sa.select(ReportRun).where(
                ReportRun.task_id == task.id, ReportRun.period_key == period.key
            )
        )
        if run is not None and not refresh:
            return run, False
        if run is not None and run.status != "draft":
            raise Conflict(
                N_("the {period} report is {status}: no longer a draft"),
                code="not_draft",
                period=period.key,
                status=run.status,
            )
        template = await self.template(actor, task.template_id)
        values, problems = await self._read(actor, template, period)
        now, made = self.clock.now(), run is None
        if run is None:
            run = ReportRun(
                task_id=task.id,
                period_key=period.key,
                period_start=period.start,
                period_end=period.end,
                due_on=period.due,
                status="draft",
                corrections={},
                note="",
            )
            self.session.add(run)
        run.generated, run.problems = values, [problem_json(p) for p in problems]
        run.corrections = {k: c for k, c in run.corrections.items() if k in values}
        run.generated_at, run.generated_by = now, actor.name
        self._refill(run, template)
        await self.session.flush()
        await record_audit(
            self.session,
            actor,
            "report_run.generate",
            "report_run",
            run.id,
            after={
                "task_id": task.id,
                "period": period.key,
                "sha256": run.sha256,
                "problems": len(problems),
                "refresh": not made,
            },
            at=now,
        )
        return run, made

    async def _draft(self, actor: Principal, run_id: int) -> ReportRun:
        run = await self.run(actor, run_id)
        if run.status != "draft":
            raise Conflict(
                N_("the {period} report is {status}: no longer a draft"),
                code="not_draft",
                period=run.period_key,
                status=run.status,
            )
        return run

    async def correct(
        self, actor: Principal, run_id: int, cell: str, text: str, note: str = ""
    ) -> ReportRun:
        """Correct one bound cell of a draft (empty text with ``clear``: see :meth:`uncorrect`)."""
        run = await self._draft(actor, run_id)
        if cell not in run.generated:
            raise InvalidInput(
                N_("{cell} is no bound cell of this report"), code="bad_cell", cell=cell[:80]
            )
        before = run.corrections.get(cell)
        entry = {
            "value": cell_value(text),
            "by": actor.name,
            "at": self.clock.now().isoformat(),
            "note": note.strip()[:500],
        }
        run.corrections = {**run.corrections, cell: entry}
        await self._save(
            actor,
            run,
            "report_run.correct",
            {"cell": cell, "correction": before},
            {"cell": cell, "generated": run.generated[cell], "correction": entry},
        )
        return run

    async def uncorrect(self, actor: Principal, run_id: int, cell: str) -> ReportRun:
        """Drop a correction: the generated value stands again."""
        run = await self._draft(actor, run_id)
        if cell not in run.corrections:
            raise InvalidInput(N_("{cell} has no correction"), code="bad_cell", cell=cell[:80])
        before = run.corrections[cell]
        run.corrections = {k: v for k, v in run.corrections.items() if k != cell}
        await self._save(
            actor, run, "report_run.uncorrect", {"cell": cell, "correction": before}, {"cell": cell}
        )
        return run

    async def _save(
        self,
        actor: Principal,
        run: ReportRun,
        action: str,
        before: dict[str, Any],
        after: dict[str, Any],
    ) -> None:
        task = await self.task(actor, run.task_id)
        self._refill(run, await self.template(actor, task.template_id))
        await record_audit(
            self.session,
            actor,
            action,
            "report_run",
            run.id,
            before=before,
            after={**after, "sha256": run.sha256},
            at=self.clock.now(),
        )

    async def approve(self, actor: Principal, run_id: int) -> ReportRun:
        """The reviewer approves the draft as it stands."""
        run = await self._draft(actor, run_id)
        run.status, run.approved_by, run.approved_at = "approved", actor.name, self.clock.now()
        await record_audit(
            self.session,
            actor,
            "report_run.approve",
            "report_run",
            run.id,
            before={"status": "draft"},
            after={"status": "approved", "sha256": run.sha256},
            at=run.approved_at,
        )
        return run

    async def submit(self, actor: Principal, run_id: int, note: str = "") -> ReportRun:
        """Mark an approved report submitted upwards; its file is archived as it is."""
        run = await self.run(actor, run_id)
        if run.status != "approved":
            raise Conflict(
                N_("only an approved report is submitted; this one is {status}"),
                code="not_approved",
                status=run.status,
            )
        run.status, run.submitted_by, run.submitted_at = "submitted", actor.name, self.clock.now()
        run.note = note.strip()[:1000]
        await record_audit(
            self.session,
            actor,
            "report_run.submit",
            "report_run",
            run.id,
            before={"status": "approved"},
            after={"status": "submitted", "sha256": run.sha256, "note": run.note},
            at=run.submitted_at,
        )
        return run

    # -- deadlines -----------------------------------------------------------------------

    async def deadlines(self, actor: Principal, today: date, ahead_days: int) -> list[Deadline]:
        """Unsubmitted periods of active tasks: overdue, or due within ``ahead_days``."""
        out = []
        for task in await self.tasks(actor, active_only=True):
            cadence = cadence_of(task)
            runs = {
                r.period_key: r
                for r in await self.session.scalars(
                    sa.select(ReportRun).where(ReportRun.task_id == task.id)
                )
            }
            created = task.created_at.date()
            for period in cadence.around(today):
                run = runs.get(period.key)
                if run is not None and run.status == "submitted":
                    continue
                if period.due < created and run is None:
                    continue  # owed before the task was set up: not this platform's deadline
                if period.due < today or (period.due - today).days <= ahead_days:
                    out.append(Deadline(task, period, run, period.due < today))
        return sorted(out, key=lambda d: (d.period.due, d.task.id))


def _coordinate(column: int, row: int) -> str:
    return f"{get_column_letter(column)}{row}"
