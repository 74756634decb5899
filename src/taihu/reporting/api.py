"""HTTP routes of reporting: figures, templates and bindings, tasks, runs, deadlines (bureau)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, UploadFile, status
from fastapi.responses import Response

from taihu.accounts import ERROR_RESPONSES, CurrentPrincipal
from taihu.core import DbSession, Id, RuntimeDep, read_upload
from taihu.reporting.bureau_api import NOT_FOUND, bureau_today, refused_in_state
from taihu.reporting.figures import CATALOGUE
from taihu.reporting.models import ReportRun
from taihu.reporting.schemas import (
    BindingsIn,
    CorrectionIn,
    DeadlineOut,
    FigureOut,
    GenerateIn,
    RunOut,
    SubmitIn,
    TaskIn,
    TaskOut,
    TemplateOut,
)
from taihu.reporting.service import ReportingService
from taihu.reporting.tasks import Binding, TaskSpec
from taihu.reporting.workbook import MAX_TEMPLATE

__all__ = ["XLSX", "router", "run_filename", "workbook_download"]

router = APIRouter(tags=["reporting"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_STATE = refused_in_state("Not a valid step for the report's state")
_WORKBOOK: dict[int | str, dict[str, Any]] = {**NOT_FOUND, 200: {"content": {XLSX: {}}}}
_BUREAU = "Bureau and admins only (enterprises never see reporting)."


def _service(session: DbSession, runtime: RuntimeDep) -> ReportingService:
    return ReportingService(session, runtime.clock, runtime.settings.monitor)


def workbook_download(filename: str, content: bytes) -> Response:
    """An xlsx as a download (never rendered in the console's origin)."""
    quoted = "".join(ch if ch.isascii() and ch not in '"\\;' else "_" for ch in filename)
    return Response(
        content,
        media_type=XLSX,
        headers={
            "Content-Disposition": f'attachment; filename="{quoted}"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )


def run_filename(run: ReportRun) -> str:
    """The download name of a run's workbook."""
    return f"report-{run.task_id}-{run.period_key}-{run.status}.xlsx"


@router.get(
    "/api/reporting/figures",
    summary="The figure catalogue",
    response_model=list[FigureOut],
    description="Every figure a template cell or region can be bound to, with its "
    f"parameters. {_BUREAU}",
    responses=ERROR_RESPONSES,
)
async def figures(principal: CurrentPrincipal) -> list[FigureOut]:
    ReportingService._allow(principal)
    return [
        FigureOut(
            name=f.name, doc=f.doc, params=dict(f.params), table=f.table, required=list(f.required)
        )
        for f in CATALOGUE.values()
    ]


@router.get(
    "/api/reporting/templates",
    summary="List report templates",
    response_model=list[TemplateOut],
    description=_BUREAU,
    responses=ERROR_RESPONSES,
)
async def list_templates(
    principal: CurrentPrincipal, session: DbSession, runtime: RuntimeDep
) -> list[TemplateOut]:
    rows = await _service(session, runtime).templates(principal)
    return [TemplateOut.model_validate(r) for r in rows]


@router.post(
    "/api/reporting/templates",
    summary="Upload an upper level's template",
    status_code=status.HTTP_201_CREATED,
    response_model=TemplateOut,
    description=f"Multipart: `name` and `file` (xlsx, at most {MAX_TEMPLATE >> 20} MB, "
    f"without charts or pictures, which filling would lose). {_BUREAU}",
    responses=ERROR_RESPONSES,
)
async def upload_template(
    principal: CurrentPrincipal,
    session: DbSession,
    runtime: RuntimeDep,
    name: Annotated[str, Form(min_length=1, max_length=200, examples=["市工信局复工复产周报表"])],
    file: Annotated[UploadFile, File(description="The xlsx workbook")],
) -> TemplateOut:
    content = await read_upload(file, MAX_TEMPLATE)
    row = await _service(session, runtime).add_template(
        principal, name, file.filename or "template.xlsx", content
    )
    return TemplateOut.model_validate(row)


@router.get(
    "/api/reporting/templates/{template_id}",
    summary="One report template",
    response_model=TemplateOut,
    description=_BUREAU,
    responses=NOT_FOUND,
)
async def get_template(
    template_id: Id, principal: CurrentPrincipal, session: DbSession, runtime: RuntimeDep
) -> TemplateOut:
    return TemplateOut.model_validate(
        await _service(session, runtime).template(principal, template_id)
    )


@router.get(
    "/api/reporting/templates/{template_id}/file",
    summary="Download a template",
    response_class=Response,
    description=_BUREAU,
    responses=_WORKBOOK,
)
async def template_file(
    template_id: Id, principal: CurrentPrincipal, session: DbSession, runtime: RuntimeDep
) -> Response:
    row = await _service(session, runtime).template(principal, template_id)
    return workbook_download(row.filename, row.content)


@router.put(
    "/api/reporting/templates/{template_id}/bindings",
    summary="Bind cells to figures",
    response_model=TemplateOut,
    description="Replaces the template's bindings; each "
    "is checked against the workbook (sheet, cell or region, not merged, no formula) and "
    f"the figure catalogue; none is kept when one is refused. {_BUREAU}",
    responses=NOT_FOUND,
)
async def bind(
    template_id: Id,
    body: BindingsIn,
    principal: CurrentPrincipal,
    session: DbSession,
    runtime: RuntimeDep,
) -> TemplateOut:
    bindings = [Binding(b.sheet, b.ref, b.figure, b.params, b.label) for b in body.bindings]
    row = await _service(session, runtime).bind(principal, template_id, bindings)
    return TemplateOut.model_validate(row)


@router.get(
    "/api/reporting/tasks",
    summary="List report tasks",
    response_model=list[TaskOut],
    description=_BUREAU,
    responses=ERROR_RESPONSES,
)
async def list_tasks(
    principal: CurrentPrincipal, session: DbSession, runtime: RuntimeDep
) -> list[TaskOut]:
    return [TaskOut.model_validate(t) for t in await _service(session, runtime).tasks(principal)]


@router.post(
    "/api/reporting/tasks",
    summary="Add a report task",
    response_model=TaskOut,
    status_code=status.HTTP_201_CREATED,
    description="Cadence `weekly` (due on weekday "
    "`due_day`, 1 = Monday, of the week reported), `monthly` or `quarterly` (due on the "
    "`due_day`-th of the month after), or `once` (due on `due_on`); the draft is made "
    f"`lead_days` before. {_BUREAU}",
    responses=NOT_FOUND,
)
async def add_task(
    body: TaskIn, principal: CurrentPrincipal, session: DbSession, runtime: RuntimeDep
) -> TaskOut:
    row = await _service(session, runtime).add_task(principal, TaskSpec(**body.model_dump()))
    return TaskOut.model_validate(row)


@router.get(
    "/api/reporting/tasks/{task_id}/runs",
    summary="A task's history",
    response_model=list[RunOut],
    description=f"Latest period first. {_BUREAU}",
    responses=NOT_FOUND,
)
async def task_runs(
    task_id: Id, principal: CurrentPrincipal, session: DbSession, runtime: RuntimeDep
) -> list[RunOut]:
    rows = await _service(session, runtime).runs(principal, task_id)
    return [RunOut.model_validate(r) for r in rows]


@router.post(
    "/api/reporting/tasks/{task_id}/runs",
    summary="Generate a period's draft",
    response_model=RunOut,
    description="Idempotent per task and period: an existing "
    "run is returned as it is, or (`refresh`, drafts only) read again with its "
    f"corrections kept. {_BUREAU}",
    responses=_STATE,
)
async def generate(
    task_id: Id,
    body: GenerateIn,
    principal: CurrentPrincipal,
    session: DbSession,
    runtime: RuntimeDep,
) -> RunOut:
    today = bureau_today(runtime)
    run, _ = await _service(session, runtime).generate(
        principal, task_id, body.period, today=today, refresh=body.refresh
    )
    return RunOut.model_validate(run)


@router.get(
    "/api/reporting/runs/{run_id}",
    summary="One period's report",
    response_model=RunOut,
    description=_BUREAU,
    responses=NOT_FOUND,
)
async def get_run(
    run_id: Id, principal: CurrentPrincipal, session: DbSession, runtime: RuntimeDep
) -> RunOut:
    return RunOut.model_validate(await _service(session, runtime).run(principal, run_id))


@router.get(
    "/api/reporting/runs/{run_id}/file",
    summary="Download a period's workbook",
    response_class=Response,
    description=f"The filled template. {_BUREAU}",
    responses=_WORKBOOK,
)
async def run_file(
    run_id: Id, principal: CurrentPrincipal, session: DbSession, runtime: RuntimeDep
) -> Response:
    run = await _service(session, runtime).run(principal, run_id)
    return workbook_download(run_filename(run), run.content)


@router.post(
    "/api/reporting/runs/{run_id}/corrections",
    summary="Correct a bound cell",
    response_model=RunOut,
    description=f"Drafts only; the generated value is kept beside the correction. {_BUREAU}",
    responses=_STATE,
)
async def correct(
    run_id: Id,
    body: CorrectionIn,
    principal: CurrentPrincipal,
    session: DbSession,
    runtime: RuntimeDep,
) -> RunOut:
    run = await _service(session, runtime).correct(
        principal, run_id, body.cell, body.value, body.note
    )
    return RunOut.model_validate(run)


@router.post(
    "/api/reporting/runs/{run_id}/approve",
    summary="Approve a draft",
    response_model=RunOut,
    description=_BUREAU,
    responses=_STATE,
)
async def approve(
    run_id: Id, principal: CurrentPrincipal, session: DbSession, runtime: RuntimeDep
) -> RunOut:
    return RunOut.model_validate(await _service(session, runtime).approve(principal, run_id))


@router.post(
    "/api/reporting/runs/{run_id}/submit",
    summary="Mark a report submitted",
    response_model=RunOut,
    description=f"Approved reports only; the file is archived as it stands. {_BUREAU}",
    responses=_STATE,
)
async def submit(
    run_id: Id,
    body: SubmitIn,
    principal: CurrentPrincipal,
    session: DbSession,
    runtime: RuntimeDep,
) -> RunOut:
    run = await _service(session, runtime).submit(principal, run_id, body.note)
    return RunOut.model_validate(run)


@router.get(
    "/api/reporting/deadlines",
    summary="Overdue and upcoming report deadlines",
    response_model=list[DeadlineOut],
    description="Unsubmitted periods of active tasks: "
    "overdue, and due within `TAIHU_REPORTING_UPCOMING_DAYS`. " + _BUREAU,
    responses=ERROR_RESPONSES,
)
async def deadlines(
    principal: CurrentPrincipal, session: DbSession, runtime: RuntimeDep
) -> list[DeadlineOut]:
    today = bureau_today(runtime)
    rows = await _service(session, runtime).deadlines(
        principal, today, runtime.settings.reporting.upcoming_days
    )
    return [
        DeadlineOut(
            task_id=d.task.id,
            title=d.task.title,
            issuing_body=d.task.issuing_body,
            period=d.period.key,
            due=d.period.due,
            overdue=d.overdue,
            run_id=d.run.id if d.run else None,
            status=d.run.status if d.run else None,
        )
        for d in rows
    ]
