"""Console pages of reports to upper departments (bureau and admins only).

The tasks with their deadlines and the templates; a template with its bindings and the figure
catalogue; a task's history; a period's report with the generated values and the corrections
beside them, approval, submission and the workbook to download. A refused form comes back to
its page with the reason (post/redirect/get, the reason in a signed flash cookie). The data
tasks to enterprises: their list, a new task, a task's periods with their response rates.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from taihu.accounts import Permission, SessionInfo
from taihu.core import N_, DbSession, Id, InvalidInput, RuntimeDep, TaihuError, read_upload
from taihu.reporting import (
    BUILTIN,
    CADENCES,
    CATALOGUE,
    DATA_CADENCES,
    MAX_TEMPLATE,
    Binding,
    DataTaskService,
    DataTaskSpec,
    PeriodRow,
    ReportingService,
    TaskSpec,
    run_problems,
)
from taihu.reporting.api import run_filename, workbook_download
from taihu.web.clock_format import read_day
from taihu.web.console import Signed, guard, render_page
from taihu.web.flash import flash
from taihu.web.i18n import gettext_

__all__ = ["CADENCE_LABELS", "SCOPE_LABELS", "STATUS_LABELS", "router", "status_label"]

router = APIRouter(include_in_schema=False, dependencies=guard(Permission.FILE_REPORTS))
STATUS_LABELS = {"draft": N_("Draft"), "approved": N_("Approved"), "submitted": N_("Submitted")}
CADENCE_LABELS = {
    "weekly": N_("Weekly"),
    "monthly": N_("Monthly"),
    "quarterly": N_("Quarterly"),
    "once": N_("One-off"),
}
Text = Annotated[str, Form(max_length=500)]


def status_label(key: str) -> str:
    """A run's state in the reader's language."""
    return gettext_(STATUS_LABELS[key]) if key in STATUS_LABELS else key


def _service(session: DbSession, runtime: RuntimeDep) -> ReportingService:
    return ReportingService(session, runtime.clock, runtime.settings.monitor)


def _page(request: Request, name: str, who: SessionInfo, **context: Any) -> HTMLResponse:
    return render_page(
        request, name, who,
        status_label=status_label,
        cadence_label=lambda key: gettext_(CADENCE_LABELS[key]) if key in CADENCE_LABELS else key,
        **context,
    )  # fmt: skip


async def _write(
    request: Request, who: SessionInfo, session: DbSession, csrf: str, back: str,
    work: Callable[[], Awaitable[str | None]],
) -> Response:  # fmt: skip
    """Do a form's write (nothing of it kept when refused); redirect to its page or back."""
    if not secrets.compare_digest(csrf, who.csrf_token):
        return Response(gettext_("Missing or wrong CSRF token."), status_code=403)
    try:
        async with session.begin_nested():
            target = await work()
    except TaihuError as exc:
        return flash(request, RedirectResponse(back, status_code=303), exc)
    return RedirectResponse(target or back, status_code=303)


@router.get("/reporting", response_class=HTMLResponse)
async def reporting_page(
    request: Request, who: Signed, session: DbSession, runtime: RuntimeDep
) -> HTMLResponse:
    service = _service(session, runtime)
    today = runtime.clock.now().astimezone(runtime.settings.console.zone).date()
    return _page(
        request, "reporting/index.html", who,
        tasks=await service.tasks(who.principal),
        templates=await service.templates(who.principal),
        deadlines=await service.deadlines(who.principal, today,
                                          runtime.settings.reporting.upcoming_days),
        cadences=CADENCES, max_mb=MAX_TEMPLATE >> 20,
    )  # fmt: skip


@router.post("/reporting/templates", response_model=None)
async def upload_template(
    request: Request, who: Signed, session: DbSession, runtime: RuntimeDep,
    file: Annotated[UploadFile | str, File()] = "", csrf: Annotated[str, Form(max_length=128)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
) -> Response:  # fmt: skip
    async def work() -> str:
        if isinstance(file, str):
            raise InvalidInput(N_("choose the template's xlsx file"), code="bad_template")
        content = await read_upload(file, MAX_TEMPLATE)
        row = await _service(session, runtime).add_template(
            who.principal, name, file.filename or "template.xlsx", content
        )
        return f"/reporting/templates/{row.id}"

    return await _write(request, who, session, csrf, "/reporting", work)


@router.post("/reporting/tasks", response_model=None)
async def add_task(
    request: Request, who: Signed, session: DbSession, runtime: RuntimeDep,
    csrf: Annotated[str, Form(max_length=128)] = "", title: Text = "", issuing_body: Text = "",
    cadence: Annotated[str, Form(max_length=16)] = "weekly", due_day: Text = "1",
    due_on: Text = "", lead_days: Text = "0", template_id: Text = "", owner: Text = "",
) -> Response:  # fmt: skip
    async def work() -> str:
        numbers = {}
        for field, text in (("due_day", due_day), ("lead_days", lead_days),
                            ("template_id", template_id)):  # fmt: skip
            if not text.strip().isdigit() or len(text.strip()) > 9:
                raise InvalidInput(N_("{field} must be a whole number"), code="bad_task",
                                   field=field)  # fmt: skip
            numbers[field] = int(text)
        day = read_day(due_on) if due_on.strip() else None
        if due_on.strip() and day is None:
            raise InvalidInput(N_("{text} is not a date"), code="bad_date", text=due_on[:32])
        row = await _service(session, runtime).add_task(who.principal, TaskSpec(
            title, issuing_body, cadence, numbers["template_id"], owner or who.principal.name,
            due_day=numbers["due_day"], due_on=day, lead_days=numbers["lead_days"]))  # fmt: skip
        return f"/reporting/tasks/{row.id}"

    return await _write(request, who, session, csrf, "/reporting", work)


@router.get("/reporting/templates/{template_id}", response_class=HTMLResponse)
async def template_page(
    request: Request, template_id: Id, who: Signed, session: DbSession, runtime: RuntimeDep
) -> HTMLResponse:
    try:
        row = await _service(session, runtime).template(who.principal, template_id)
    except TaihuError as exc:
        return render_page(request, "denied.html", who, status_code=exc.status,
                           message=exc.text(gettext_))  # fmt: skip
    return _page(request, "reporting/template.html", who, template=row,
                 figures=list(CATALOGUE.values()))  # fmt: skip


def _params(text: str) -> dict[str, str]:
    """``group=township, key=320509102`` as parameters."""
    out = {}
    for part in text.replace("，", ",").split(","):  # noqa: RUF001 - a Chinese comma typed too
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise InvalidInput(N_("write parameters as name=value, separated by commas"),
                               code="bad_param")  # fmt: skip
        out[key.strip()] = value.strip()
    return out


@router.post("/reporting/templates/{template_id}/bindings", response_model=None)
async def add_binding(
    request: Request, template_id: Id, who: Signed, session: DbSession, runtime: RuntimeDep,
    csrf: Annotated[str, Form(max_length=128)] = "", sheet: Text = "", ref: Text = "",
    figure: Text = "", params: Text = "", label: Text = "", remove: Text = "",
) -> Response:  # fmt: skip
    back = f"/reporting/templates/{template_id}"

    async def work() -> None:
        service = _service(session, runtime)
        row = await service.template(who.principal, template_id)
        bindings = [Binding(b["sheet"], b["ref"], b["figure"], b.get("params", {}),
                            b.get("label", "")) for b in row.bindings]  # fmt: skip
        if remove.strip():
            bindings = [b for b in bindings if f"{b.sheet}!{b.ref}" != remove.strip()]
        else:
            bindings.append(Binding(sheet.strip(), ref.strip(), figure.strip(), _params(params),
                                    label.strip()))  # fmt: skip
        await service.bind(who.principal, template_id, bindings)

    return await _write(request, who, session, csrf, back, work)


@router.get("/reporting/templates/{template_id}/download", response_model=None)
async def template_download(
    template_id: Id, who: Signed, session: DbSession, runtime: RuntimeDep
) -> Response:
    row = await _service(session, runtime).template(who.principal, template_id)
    return workbook_download(row.filename, row.content)


@router.get("/reporting/tasks/{task_id}", response_class=HTMLResponse)
async def task_page(
    request: Request, task_id: Id, who: Signed, session: DbSession, runtime: RuntimeDep
) -> HTMLResponse:
    service = _service(session, runtime)
    try:
        task = await service.task(who.principal, task_id)
    except TaihuError as exc:
        return render_page(request, "denied.html", who, status_code=exc.status,
                           message=exc.text(gettext_))  # fmt: skip
    return _page(request, "reporting/task.html", who, task=task,
                 template=await service.template(who.principal, task.template_id),
                 runs=await service.runs(who.principal, task_id))  # fmt: skip


@router.post("/reporting/tasks/{task_id}/generate", response_model=None)
async def generate(
    request: Request, task_id: Id, who: Signed, session: DbSession, runtime: RuntimeDep,
    csrf: Annotated[str, Form(max_length=128)] = "", period: Text = "",
) -> Response:  # fmt: skip
    async def work() -> str:
        today = runtime.clock.now().astimezone(runtime.settings.console.zone).date()
        run, _ = await _service(session, runtime).generate(
            who.principal, task_id, period.strip() or None, today=today
        )
        return f"/reporting/runs/{run.id}"

    return await _write(request, who, session, csrf, f"/reporting/tasks/{task_id}", work)


@router.post("/reporting/tasks/{task_id}/active", response_model=None)
async def set_active(
    request: Request, task_id: Id, who: Signed, session: DbSession, runtime: RuntimeDep,
    csrf: Annotated[str, Form(max_length=128)] = "", active: Text = "",
) -> Response:  # fmt: skip
    async def work() -> None:
        await _service(session, runtime).set_active(who.principal, task_id, active == "yes")

    return await _write(request, who, session, csrf, f"/reporting/tasks/{task_id}", work)


@router.get("/reporting/runs/{run_id}", response_class=HTMLResponse)
async def run_page(
    request: Request, run_id: Id, who: Signed, session: DbSession, runtime: RuntimeDep
) -> HTMLResponse:
    service = _service(session, runtime)
    try:
        run = await service.run(who.principal, run_id)
    except TaihuError as exc:
        return render_page(request, "denied.html", who, status_code=exc.status,
                           message=exc.text(gettext_))  # fmt: skip
    task = await service.task(who.principal, run.task_id)
    template = await service.template(who.principal, task.template_id)
    labels = {}
    for b in template.bindings:
        labels[f"{b['sheet']}!{b['ref'].split(':')[0]}"] = b.get("label") or b["figure"]
    return _page(
        request,
        "reporting/run.html",
        who,
        run=run,
        task=task,
        labels=labels,
        problems=run_problems(run),
    )


@router.post("/reporting/runs/{run_id}/{action}", response_model=None)
async def run_action(
    request: Request, run_id: Id, action: str, who: Signed, session: DbSession,
    runtime: RuntimeDep, csrf: Annotated[str, Form(max_length=128)] = "", cell: Text = "",
    value: Text = "", note: Text = "",
) -> Response:  # fmt: skip
    service = _service(session, runtime)
    steps: dict[str, Callable[[], Awaitable[Any]]] = {
        "correct": lambda: service.correct(who.principal, run_id, cell, value, note),
        "uncorrect": lambda: service.uncorrect(who.principal, run_id, cell),
        "refresh": lambda: _refresh(service, who, run_id),
        "approve": lambda: service.approve(who.principal, run_id),
        "submit": lambda: service.submit(who.principal, run_id, note),
    }
    if action not in steps:
        return Response(gettext_("No such action."), status_code=404)

    async def work() -> None:
        await steps[action]()

    return await _write(request, who, session, csrf, f"/reporting/runs/{run_id}", work)


async def _refresh(service: ReportingService, who: SessionInfo, run_id: int) -> None:
    run = await service.run(who.principal, run_id)
    await service.generate(who.principal, run.task_id, run.period_key, refresh=True)


@router.get("/reporting/runs/{run_id}/download", response_model=None)
async def run_download(
    run_id: Id, who: Signed, session: DbSession, runtime: RuntimeDep
) -> Response:
    run = await _service(session, runtime).run(who.principal, run_id)
    return workbook_download(run_filename(run), run.content)


# -- data tasks to enterprises ---------------------------------------------------------------

SCOPE_LABELS = {
    "all": N_("All enterprises"),
    "township": N_("A township"),
    "industry": N_("An industry class"),
    "chain": N_("A chain (its key)"),
    "selected": N_("Selected enterprises (ids)"),
}


@router.get("/reporting/data-tasks", response_class=HTMLResponse)
async def data_tasks_page(
    request: Request, who: Signed, session: DbSession, runtime: RuntimeDep
) -> HTMLResponse:
    service = DataTaskService(session, runtime.clock)
    return _page(request, "reporting/data_tasks.html", who,
                 tasks=await service.tasks(who.principal), cadences=DATA_CADENCES,
                 scopes=SCOPE_LABELS, builtin=BUILTIN)  # fmt: skip


@router.post("/reporting/data-tasks", response_model=None)
async def add_data_task(
    request: Request, who: Signed, session: DbSession, runtime: RuntimeDep,
    csrf: Annotated[str, Form(max_length=128)] = "", key: Text = "", title: Text = "",
    form: Text = BUILTIN, cadence: Annotated[str, Form(max_length=16)] = "monthly",
    due_day: Text = "10", lead_days: Text = "10", scope: Text = "all", scope_value: Text = "",
) -> Response:  # fmt: skip
    async def work() -> str:
        numbers = {}
        for field, text in (("due_day", due_day), ("lead_days", lead_days)):
            if not text.strip().isdigit() or len(text.strip()) > 9:
                raise InvalidInput(N_("{field} must be a whole number"), code="bad_task",
                                   field=field)  # fmt: skip
            numbers[field] = int(text)
        spec = DataTaskSpec(key.strip(), title, form.strip() or BUILTIN, cadence, scope.strip(),
                            scope_value, numbers["due_day"], numbers["lead_days"])  # fmt: skip
        row = await DataTaskService(session, runtime.clock).create(who.principal, spec)
        return f"/reporting/data-tasks/{row.id}"

    return await _write(request, who, session, csrf, "/reporting/data-tasks", work)


@router.get("/reporting/data-tasks/{task_id}", response_class=HTMLResponse)
async def data_task_page(
    request: Request, task_id: Id, who: Signed, session: DbSession, runtime: RuntimeDep
) -> HTMLResponse:
    service = DataTaskService(session, runtime.clock)
    try:
        task = await service.task(who.principal, task_id)
    except TaihuError as exc:
        return render_page(request, "denied.html", who, status_code=exc.status,
                           message=exc.text(gettext_))  # fmt: skip
    today = runtime.clock.now().astimezone(runtime.settings.console.zone).date()
    periods = await service.periods(who.principal, task_id)
    return _page(request, "reporting/data_task.html", who, task=task, today=today,
                 periods=periods, chart=_rates_chart(periods), scopes=SCOPE_LABELS,
                 builtin=BUILTIN)  # fmt: skip


def _rates_chart(periods: list[PeriodRow]) -> dict[str, Any]:
    """What the periods' chart draws, oldest first (the table beside it holds the same)."""
    shown = list(reversed(periods))
    return {
        "asked": gettext_("Asked"),
        "answered": gettext_("Answered"),
        "rate": gettext_("Response rate"),
        "periods": [p.period.period_key for p in shown],
        "asked_counts": [p.rate.asked for p in shown],
        "answered_counts": [p.rate.answered for p in shown],
        "rates": [round(p.rate.rate * 100) for p in shown],
    }


@router.post("/reporting/data-tasks/{task_id}/periods", response_model=None)
async def open_data_period(
    request: Request, task_id: Id, who: Signed, session: DbSession, runtime: RuntimeDep,
    csrf: Annotated[str, Form(max_length=128)] = "", period: Text = "",
) -> Response:  # fmt: skip
    async def work() -> None:
        await DataTaskService(session, runtime.clock).open_period(
            who.principal, task_id, period.strip()
        )

    return await _write(request, who, session, csrf, f"/reporting/data-tasks/{task_id}", work)


@router.post("/reporting/data-tasks/{task_id}/active", response_model=None)
async def set_data_task_active(
    request: Request, task_id: Id, who: Signed, session: DbSession, runtime: RuntimeDep,
    csrf: Annotated[str, Form(max_length=128)] = "", active: Text = "",
) -> Response:  # fmt: skip
    async def work() -> None:
        await DataTaskService(session, runtime.clock).set_active(
            who.principal, task_id, active == "yes"
        )

    return await _write(request, who, session, csrf, f"/reporting/data-tasks/{task_id}", work)
