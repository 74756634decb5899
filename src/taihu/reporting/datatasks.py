"""Data tasks to enterprises (企业报表任务): periodic data owed to the bureau, through surveys.

A data task is an XLSForm, an audience (the surveys' scopes) and a cadence with its deadline
rule (``periods.Cadence``, as report tasks have). Each period gets a survey of its own, opened
``lead_days`` before the period is due: the task's form with the period's form id
(``monthly_ops_2026_11``), title ("2026-11 月度经营数据") and a ``taihu_period`` answer, published
and assigned to the audience with the period's deadline. Enterprises then see it in their survey
list, the survey reminders chase the overdue, and the figures ``datatasks.*`` read the answers.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from taihu.accounts import Principal, Role, record_audit
from taihu.chains import SegmentTag, TagStatus, TemplateStore
from taihu.core import (
    N_,
    Clock,
    Conflict,
    Database,
    InvalidInput,
    NotFound,
    SystemClock,
    TaihuError,
)
from taihu.reporting.data_form import monthly_form_xlsx, period_xlsform
from taihu.reporting.models import DataPeriod, DataTask
from taihu.reporting.periods import Cadence, Period
from taihu.settings import Settings
from taihu.surveys import ResponseRate, Survey, SurveyService, convert_xlsform

__all__ = [
    "BUILTIN",
    "DATA_CADENCES",
    "DataTaskService",
    "DataTaskSpec",
    "OpenRound",
    "PeriodRow",
    "data_cadence",
    "open_due_periods",
    "period_form_id",
]

log = logging.getLogger("taihu.reporting")
BUILTIN = "builtin"
DATA_CADENCES = ("weekly", "monthly", "quarterly")
SCOPES = ("all", "township", "industry", "chain", "selected")
_KEY = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
SYSTEM = "data-tasks"


@dataclass(frozen=True, slots=True)
class DataTaskSpec:
    """What a new data task says: its form (``builtin`` or a survey's form id) and audience."""

    key: str
    title: str
    form: str
    cadence: str
    scope: str = "all"
    scope_value: str = ""
    due_day: int = 10
    lead_days: int = 10


@dataclass(frozen=True, slots=True)
class PeriodRow:
    """An opened period of a data task, with its survey's form id and response rate."""

    period: DataPeriod
    form_id: str
    rate: ResponseRate


@dataclass(slots=True)
class OpenRound:
    """What one round of the job did: periods opened, already open, tasks that failed."""

    opened: list[str] = field(default_factory=list)
    existing: int = 0
    failed: list[int] = field(default_factory=list)


def data_cadence(task: DataTask) -> Cadence:
    """The task's cadence rule (the report tasks' own)."""
    return Cadence(task.cadence, task.due_day, None, task.lead_days)


def period_form_id(task: DataTask, period: Period) -> str:
    """The form id of a period's survey: the task's key and the period's."""
    return f"{task.key}_{period.key.replace('-', '_').lower()}"


class DataTaskService:
    """Data tasks and their periods' surveys (the bureau and admins only, as all of reporting)."""

    def __init__(self, session: AsyncSession, clock: Clock | None = None) -> None:
        self.session = session
        self.clock = clock or SystemClock()

    async def create(self, actor: Principal, spec: DataTaskSpec) -> DataTask:
        """A new data task, its form checked by converting the current period's copy."""
        actor.require_role(Role.BUREAU)
        if not _KEY.match(spec.key):
            raise InvalidInput(
                N_("a data task's key is 2 to 40 lower-case letters, digits or _, not {value}"),
                code="bad_data_task_key",
                value=spec.key[:40],
            )
        if spec.cadence not in DATA_CADENCES:
            raise InvalidInput(
                N_("cadence must be one of {allowed}, not {value}"),
                code="bad_cadence",
                allowed=", ".join(DATA_CADENCES),
                value=spec.cadence[:20],
            )
        cadence = Cadence(spec.cadence, spec.due_day, None, spec.lead_days)
        if spec.scope not in SCOPES:
            raise InvalidInput(
                N_("{scope} is not a scope ({choices})"),
                code="bad_scope",
                scope=spec.scope[:20],
                choices=", ".join(SCOPES),
            )
        if spec.scope != "all" and not spec.scope_value.strip():
            raise InvalidInput(N_("this scope needs a value"), code="bad_scope_value")
        if spec.scope == "chain":
            await self._chain_members(spec.scope_value.strip())
        if not spec.title.strip():
            raise InvalidInput(N_("a data task needs a title"), code="bad_data_task")
        if await self.session.scalar(sa.select(DataTask.id).where(DataTask.key == spec.key)):
            raise Conflict(
                N_("there is a data task {key} already"), code="data_task_exists", key=spec.key
            )
        content = await self._form(actor, spec.form)
        now = self.clock.now()
        task = DataTask(
            key=spec.key,
            title=spec.title.strip()[:200],
            xlsform=content,
            source=spec.form[:120],
            scope=spec.scope,
            scope_value=spec.scope_value.strip()[:2000],
            cadence=spec.cadence,
            due_day=spec.due_day,
            lead_days=spec.lead_days,
            active=True,
            created_by=actor.name,
            created_at=now,
        )
        period = cadence.containing(now.date())
        # Refused now rather than at the first period: a form pyxform cannot convert.
        convert_xlsform(
            period_xlsform(content, period_form_id(task, period), task.title, period.key),
            "form.xlsx",
        )
        self.session.add(task)
        await self.session.flush()
        await record_audit(
            self.session,
            actor,
            "data_task.create",
            "data_task",
            task.id,
            after={
                "key": task.key,
                "form": task.source,
                "cadence": task.cadence,
                "due_day": task.due_day,
                "lead_days": task.lead_days,
                "scope": task.scope,
                "value": task.scope_value,
            },
            at=now,
        )
        return task

    async def _form(self, actor: Principal, form: str) -> bytes:
        if form == BUILTIN:
            return monthly_form_xlsx()
        service = SurveyService(self.session, self.clock)
        survey = await service.get(actor, form)
        version = next(
            (v for v in await service.versions(actor, form) if v.id == survey.published_version_id),
            None,
        )
        if version is None:
            raise Conflict(
                N_("survey {form_id} has no published version"),
                code="not_published",
                form_id=form,
            )
        if not version.xlsform_name.lower().endswith(".xlsx"):
            raise InvalidInput(
                N_("a data task's form is an .xlsx XLSForm"), code="bad_xlsform_file"
            )
        return version.xlsform

    async def _chain_members(self, key: str) -> list[int]:
        """The enterprises confirmed in a segment of the chain (400 ``bad_scope_value``)."""
        chain = next((c for c in await TemplateStore(self.session).current() if c.key == key), None)
        if chain is None:
            raise InvalidInput(N_("no chain {key}"), code="bad_scope_value", key=key[:64] or "-")
        return sorted(
            set(
                await self.session.scalars(
                    sa.select(SegmentTag.enterprise_id).where(
                        SegmentTag.segment_key.in_([s.key for s in chain.segments]),
                        SegmentTag.status == TagStatus.CONFIRMED,
                    )
                )
            )
        )

    async def tasks(self, actor: Principal) -> list[DataTask]:
        """Every data task, newest first."""
        actor.require_role(Role.BUREAU)
        return list(await self.session.scalars(sa.select(DataTask).order_by(DataTask.id.desc())))

    async def task(self, actor: Principal, task_id: int) -> DataTask:
        """One data task (404 ``data_task_not_found``)."""
        actor.require_role(Role.BUREAU)
        row = await self.session.get(DataTask, task_id)
        if row is None:
            raise NotFound(N_("no data task {id}"), code="data_task_not_found", id=task_id)
        return row

    async def set_active(self, actor: Principal, task_id: int, active: bool) -> DataTask:
        """Pause (no more periods open) or resume a task; opened periods stay as they are."""
        actor.require_role(Role.BUREAU)
        task = await self.task(actor, task_id)
        before, task.active = task.active, active
        await record_audit(
            self.session,
            actor,
            "data_task.update",
            "data_task",
            task.id,
            before={"active": before},
            after={"active": active},
        )
        return task

    async def periods(self, actor: Principal, task_id: int) -> list[PeriodRow]:
        """A task's opened periods, latest first, each with its response rate."""
        await self.task(actor, task_id)
        surveys = SurveyService(self.session, self.clock)
        rows = []
        for period in await self.session.scalars(
            sa.select(DataPeriod)
            .where(DataPeriod.task_id == task_id)
            .order_by(DataPeriod.period_start.desc())
        ):
            form_id = await self._form_id(period)
            rows.append(PeriodRow(period, form_id, await surveys.response_rate(actor, form_id)))
        return rows

    async def _form_id(self, period: DataPeriod) -> str:
        survey = await self.session.get(Survey, period.survey_id)
        assert survey is not None  # the period's row goes with its survey
        return survey.form_id

    async def open_period(
        self, actor: Principal, task_id: int, key: str
    ) -> tuple[DataPeriod, bool]:
        """Open a period's survey and ask the audience (the period and whether it is new)."""
        actor.require_role(Role.BUREAU)
        task = await self.task(actor, task_id)
        period = data_cadence(task).parse(key)
        existing = await self.session.scalar(
            sa.select(DataPeriod).where(
                DataPeriod.task_id == task.id, DataPeriod.period_key == period.key
            )
        )
        if existing is not None:
            return existing, False
        today = self.clock.now().date()
        if period.due < today:  # refused before any conversion: nothing to undo
            raise InvalidInput(
                N_("the deadline {deadline} has passed"),
                code="bad_deadline",
                deadline=period.due.isoformat(),
            )
        # No asking for data of a month that has not begun (unless the lead already opens it).
        if today < min(period.start, period.generate_on):
            raise InvalidInput(
                N_("the period {key} has not begun"), code="not_begun", key=period.key
            )
        form_id = period_form_id(task, period)
        title = f"{period.key} {task.title}"
        surveys = SurveyService(self.session, self.clock)
        content = period_xlsform(task.xlsform, form_id, title, period.key)
        await surveys.upload(actor, content, f"{form_id}.xlsx")
        await surveys.publish(actor, form_id)
        scope, value = task.scope, task.scope_value
        if scope == "chain":  # the surveys know no chains: its enterprises, by id
            scope, value = "selected", " ".join(map(str, await self._chain_members(value)))
        _, asked = await surveys.assign(actor, form_id, scope, value, period.due)
        survey = await surveys.get(actor, form_id)
        now = self.clock.now()
        row = DataPeriod(
            task_id=task.id,
            period_key=period.key,
            period_start=period.start,
            period_end=period.end,
            due_on=period.due,
            survey_id=survey.id,
            asked=asked,
            opened_by=actor.name,
            opened_at=now,
        )
        self.session.add(row)
        await self.session.flush()
        await record_audit(
            self.session,
            actor,
            "data_task.open",
            "data_task",
            task.id,
            after={"period": period.key, "form_id": form_id, "due": period.due.isoformat(),
                   "enterprises": asked},
            at=now,
        )  # fmt: skip
        return row, True


async def open_due_periods(
    db: Database, settings: Settings, clock: Clock, today: date | None = None
) -> OpenRound:
    """Open each active task's due period once (a failing task does not stop the others)."""
    system = Principal.system(SYSTEM)
    day = today or clock.now().astimezone(settings.console.zone).date()
    result = OpenRound()
    async with db.session() as session:
        due = []
        for task in await DataTaskService(session, clock).tasks(system):
            period = data_cadence(task).due_now(day) if task.active else None
            # A period already past its deadline is not opened late by the job (by hand only).
            if period is not None and period.due >= day:
                due.append((task.id, period.key))
    for task_id, key in due:
        try:
            async with db.session() as session:
                row, made = await DataTaskService(session, clock).open_period(system, task_id, key)
                if made:
                    result.opened.append(f"{task_id}:{row.period_key}")
                else:
                    result.existing += 1
        except IntegrityError:
            result.existing += 1  # another process opened it between our look and our write
        except TaihuError as exc:
            log.warning("data task %s: period %s not opened: %s", task_id, key, exc.message)
            result.failed.append(task_id)
    return result
