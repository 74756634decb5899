"""Console pages of the operation monitor.

The district dashboard (gauges, trends, townships, warnings, overdue cases), the enterprise
drill-down (power curve against baseline and threshold, cases, suppliers, unblock list), the case
board, the key-enterprise lists with their weekly snapshot, and the grid-file upload. The
services enforce who may see and do what; these pages only shape their answers.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from taihu.accounts import Permission
from taihu.chains import ChainService
from taihu.core import (
    MAX_INT,
    Conflict,
    DbSession,
    Id,
    InvalidInput,
    Message,
    NotFound,
    PermissionDenied,
    RuntimeDep,
    TaihuError,
    read_upload,
)
from taihu.enterprises import EnterpriseService
from taihu.monitor import (
    CaseFilter,
    CaseOut,
    CaseService,
    Flag,
    MonitorService,
    State,
    clear_override,
    flag_ranges,
    import_power,
    list_overrides,
    set_override,
)
from taihu.web import clock_format
from taihu.web.console import Signed, guard, render_page
from taihu.web.flash import flash
from taihu.web.i18n import N_, gettext_

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
TREND_DAYS = 60
CURVE_DAYS = 120
FLAG_DAYS = 7  # the dashboard's flags: the week up to the day shown
RULE_LABELS = {
    "request": N_("the window chosen here"), "setting": N_("the server's setting"),
    "december": N_("the latest December with readings"),
    "first_month": N_("the first month with readings (no December before this day)"),
    "none": N_("no readings before this day"),
}  # fmt: skip
SOURCE_LABELS = {"grid": N_("grid-company file"), "meter": N_("device meters")}
BAND_LABELS = {"green": N_("Green"), "yellow": N_("Yellow"), "orange": N_("Orange"),
               "red": N_("Red")}  # fmt: skip
STATE_LABELS = {"open": N_("Open"), "assigned": N_("Assigned"), "in_progress": N_("In progress"),
                "closed": N_("Closed")}  # fmt: skip
CATEGORY_LABELS = {"supplier": N_("Supplier"), "logistics": N_("Logistics"),
                   "labour": N_("Labour"), "funds": N_("Funds"), "other": N_("Other")}  # fmt: skip
FLAG_LABELS = {"missing": N_("Missing day"), "spike": N_("Spike"),
               "mismatch": N_("Status mismatch")}  # fmt: skip


def _labels() -> dict[str, dict[str, str]]:
    return {
        "bands": {k: gettext_(v) for k, v in BAND_LABELS.items()},
        "states": {k: gettext_(v) for k, v in STATE_LABELS.items()},
        "categories": {k: gettext_(v) for k, v in CATEGORY_LABELS.items()},
        "flags": {k: gettext_(v) for k, v in FLAG_LABELS.items()},
    }


def _back(request: Request, path: str, error: Message | TaihuError) -> Response:
    """Back to a page, with the error to show there (a signed flash, never a query string)."""
    return flash(request, RedirectResponse(path, status_code=303), error)


def _monitor(session: DbSession, runtime: RuntimeDep) -> MonitorService:
    return MonitorService(session, runtime.settings.monitor, runtime.clock)


def _today(runtime: RuntimeDep) -> date:
    return runtime.clock.now().astimezone(runtime.settings.console.zone).date()


def _parse(text: str | None) -> date | None:
    """A day from a query or form field, in either language's form (the date fields' own)."""
    return clock_format.read_day(text)


async def _day(monitor: MonitorService, runtime: RuntimeDep, text: str | None) -> date:
    found = _parse(text)
    if found:
        return found
    latest = await monitor.latest_day()
    return latest or _today(runtime)


def _window(start: str | None, end: str | None) -> tuple[date, date] | None:
    first, last = _parse(start), _parse(end)
    return (first, last) if first and last else None


def _ranges(flags: list[Flag], names: dict[int, str]) -> list[dict[str, Any]]:
    """Flags as runs of days, each with its enterprise's name and text in the page language."""
    return [
        {"enterprise_id": r.enterprise_id, "name": names.get(r.enterprise_id, str(r.enterprise_id)),
         "kind": r.kind, "first": r.first, "last": r.last, "days": r.days,
         "detail": r.detail.render(gettext_)}
        for r in flag_ranges(flags)
    ]  # fmt: skip


def _scale(values: list[float | None]) -> float:
    """The gauges' upper end in percent: 100, or above the largest value in steps of 50."""
    top = max((v for v in values if v is not None), default=0.0) * 100
    return 100.0 if top <= 100 else float(math.ceil(top / 50) * 50)


@router.get("/monitor", dependencies=guard(Permission.VIEW_MONITOR), response_class=HTMLResponse)
async def dashboard(
    request: Request,
    who: Signed,
    session: DbSession,
    runtime: RuntimeDep,
    day: Annotated[str | None, Query(alias="date", max_length=32)] = None,
    baseline_start: Annotated[str | None, Query(max_length=32)] = None,
    baseline_end: Annotated[str | None, Query(max_length=32)] = None,
) -> HTMLResponse:
    monitor = _monitor(session, runtime)
    chosen = _parse(day)
    window = _window(baseline_start, baseline_end)
    try:
        opening = None if chosen else await monitor.opening_day(who.principal, _today(runtime))
        when = chosen or (opening.day if opening else _today(runtime))
        report = await monitor.index(who.principal, when, ["township"], baseline=window)
    except PermissionDenied:
        return render_page(request, "denied.html", who, status_code=403)
    except InvalidInput as exc:
        return HTMLResponse(exc.text(gettext_), status_code=400)
    _, series = await monitor.series(who.principal, when - timedelta(days=TREND_DAYS - 1), when,
                                     baseline=window)  # fmt: skip
    ratios = await monitor.enterprise_ratios(who.principal, when, window)
    warnings = sorted(
        (r for r in ratios if r[5] in ("red", "orange") and r[3] is not None and r[4]),
        key=lambda r: (r[3] or 0) / (r[4] or 1),
    )[:30]
    flags = await monitor.flags(who.principal, when - timedelta(days=FLAG_DAYS - 1), when, window)
    names = {r[0]: r[2] for r in ratios}
    share = monitor.settings.open_coverage
    opening_text = opening.message(share).render(gettext_) if opening else ""
    later = opening.later() if opening else None
    cases = CaseService(session, runtime.clock)
    overdue, overdue_total = await cases.find(who.principal, CaseFilter(overdue=True), limit=20)
    d = report.district
    chart = {
        "gauges": [
            {"name": gettext_("Resumption rate"), "value": d.resumption_rate},
            {"name": gettext_("Production rate"), "value": d.production_rate},
            {"name": gettext_("Composite index"), "value": d.composite_index},
        ],
        "max": _scale([d.resumption_rate, d.production_rate, d.composite_index]),
        "over": gettext_("above 100 %"),
        "bands": [
            monitor.settings.band_orange,
            monitor.settings.band_yellow,
            monitor.settings.band_green,
        ],
        "days": [x.isoformat() for x, _ in series],
        "series": [
            {"name": gettext_("Resumption rate"), "values": [v.resumption_rate for _, v in series]},
            {"name": gettext_("Production rate"), "values": [v.production_rate for _, v in series]},
            {"name": gettext_("Composite index"), "values": [v.composite_index for _, v in series]},
        ],
    }
    towns = sorted(report.groups.get("township", {}).items(),
                   key=lambda item: (item[1][1].composite_index or 0))  # fmt: skip
    ranges = _ranges(flags, names)
    return render_page(
        request, "monitor/dashboard.html", who, day=when, report=report, chart=chart,
        towns=towns, warnings=warnings, flags=ranges[:50], flag_total=len(ranges), names=names,
        overdue=[CaseOut.of(c, overdue=True) for c in overdue], overdue_total=overdue_total,
        case_names=names, labels=_labels(), opening=opening_text,
        later=later.render(gettext_) if later else "", window=window,
        rule=gettext_(RULE_LABELS.get(report.rule, report.rule)), flag_days=FLAG_DAYS,
    )  # fmt: skip


@router.get("/monitor/enterprises/{enterprise_id}", response_class=HTMLResponse)
async def enterprise_page(
    request: Request,
    enterprise_id: Id,
    who: Signed,
    session: DbSession,
    runtime: RuntimeDep,
    day: Annotated[str | None, Query(alias="date", max_length=32)] = None,
    opened: Annotated[int | None, Query(ge=0, le=MAX_INT)] = None,
    baseline_start: Annotated[str | None, Query(max_length=32)] = None,
    baseline_end: Annotated[str | None, Query(max_length=32)] = None,
) -> HTMLResponse:
    monitor = _monitor(session, runtime)
    when = await _day(monitor, runtime, day)
    try:
        view = await monitor.enterprise(who.principal, enterprise_id,
                                        when - timedelta(days=CURVE_DAYS - 1), when,
                                        _window(baseline_start, baseline_end))  # fmt: skip
        override = await list_overrides(session, who.principal, enterprise_id)
    except NotFound:
        return render_page(request, "denied.html", who, status_code=404)
    except PermissionDenied:
        return render_page(request, "denied.html", who, status_code=403)
    cases = CaseService(session, runtime.clock)
    rows, _ = await cases.find(who.principal, CaseFilter(enterprise_id=enterprise_id), limit=100)
    edges, _ = await ChainService(session, runtime.clock).edges(
        who.principal, enterprise_id=enterprise_id, limit=500
    )
    suppliers = [e for e in edges if e.buyer_id == enterprise_id]
    down: set[int] = set()
    unblock: list[Any] = []
    if who.principal.sees_all_enterprises:
        down = await monitor.down(who.principal, when)
        _, unblock = await cases.unblock_list(who.principal, monitor, view.credit_code, when)
    theta = monitor.settings.theta
    chart = {
        "days": [d.isoformat() for d, _ in view.days],
        "kwh": [k for _, k in view.days],
        "baseline": view.baselines,
        "threshold": [None if b is None else b * theta for b in view.baselines],
        "labels": {"kwh": gettext_("Daily use (kWh)"), "baseline": gettext_("Baseline"),
                   "threshold": gettext_("Resumption threshold")},
    }  # fmt: skip
    sources = {s for s in view.sources if s}
    return render_page(
        request, "monitor/enterprise.html", who, view=view, day=when, chart=chart,
        cases=[CaseOut.of(c, cases.overdue(c)) for c in rows], suppliers=suppliers, down=down,
        unblock=unblock, opened=opened, labels=_labels(),
        flags=_ranges(view.flags, {view.enterprise_id: view.name}),
        override=override[0][0] if override else None,
        sources=sorted(gettext_(SOURCE_LABELS[s]) for s in sources),
    )  # fmt: skip


@router.post("/monitor/enterprises/{enterprise_id}/baseline", response_model=None)
async def change_baseline(
    request: Request,
    enterprise_id: Id,
    who: Signed,
    session: DbSession,
    runtime: RuntimeDep,
    start: Annotated[str, Form(max_length=32)] = "",
    end: Annotated[str, Form(max_length=32)] = "",
    reason: Annotated[str, Form(max_length=300)] = "",
    clear: Annotated[str, Form(max_length=8)] = "",
    csrf: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    if csrf != who.csrf_token:
        return HTMLResponse(gettext_("Missing or wrong CSRF token."), status_code=403)
    page = f"/monitor/enterprises/{enterprise_id}"
    try:
        if clear:
            await clear_override(session, who.principal, enterprise_id, now=runtime.clock.now())
        else:
            first, last = _parse(start), _parse(end)
            if first is None or last is None:
                raise InvalidInput(N_("give both ends of the baseline window, or neither"),
                                   code="bad_window")  # fmt: skip
            await set_override(session, who.principal, enterprise_id, first, last, reason,
                               now=runtime.clock.now())  # fmt: skip
    except PermissionDenied:
        return render_page(request, "denied.html", who, status_code=403)
    except (InvalidInput, NotFound) as exc:
        await session.rollback()
        return _back(request, page, exc)
    return RedirectResponse(page, status_code=303)


@router.post("/monitor/enterprises/{enterprise_id}/unblock", response_model=None)
async def open_unblock(
    request: Request,
    enterprise_id: Id,
    who: Signed,
    session: DbSession,
    runtime: RuntimeDep,
    day: Annotated[str, Form(alias="date", max_length=32)],
    csrf: Annotated[str, Form(max_length=128)] = "",
    officer: Annotated[str, Form(max_length=128)] = "",
    deadline: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    if csrf != who.csrf_token:
        return HTMLResponse(gettext_("Missing or wrong CSRF token."), status_code=403)
    monitor = _monitor(session, runtime)
    page = f"/monitor/enterprises/{enterprise_id}"
    when, due = _parse(day), _parse(deadline)
    if when is None or (deadline.strip() and due is None):
        return _back(request, page, clock_format.not_a_day(N_("Deadline") if when else N_("Day")))
    try:
        key = await EnterpriseService(session, runtime.clock).get(who.principal, enterprise_id)
        _, _, opened = await CaseService(session, runtime.clock).open_unblock_cases(
            who.principal, monitor, key.credit_code, when, officer=officer or None, deadline=due,
        )  # fmt: skip
    except (PermissionDenied, NotFound):
        return render_page(request, "denied.html", who, status_code=403)
    except InvalidInput as exc:
        return HTMLResponse(exc.text(gettext_), status_code=400)
    return RedirectResponse(f"{page}?date={when.isoformat()}&opened={opened}", status_code=303)


@router.get("/monitor/cases", response_class=HTMLResponse)
async def case_board(
    request: Request, who: Signed, session: DbSession, runtime: RuntimeDep
) -> HTMLResponse:
    cases = CaseService(session, runtime.clock)
    rows, total = await cases.find(who.principal, CaseFilter(), limit=500)
    columns: dict[str, list[CaseOut]] = {s.value: [] for s in State}
    for case in rows:
        columns[case.state].append(CaseOut.of(case, cases.overdue(case)))
    # Names of the cases' enterprises only: the form picks from the whole registry by search.
    names = await _monitor(session, runtime).names({c.enterprise_id for c in rows})
    mine = None
    if not who.principal.sees_all_enterprises and len(who.principal.enterprise_ids) == 1:
        (only,) = who.principal.enterprise_ids
        mine = await EnterpriseService(session, runtime.clock).get(who.principal, only)
    return render_page(
        request, "monitor/cases.html", who, columns=columns, total=total, names=names,
        mine=mine, staff=who.principal.role.value in ("admin", "bureau"), labels=_labels(),
    )  # fmt: skip


async def _chosen(who: Signed, session: DbSession, runtime: RuntimeDep, text: str) -> int:
    """The enterprise a form names: by credit code, or by its exact name when that is unique."""
    text = text.strip()
    rows, _ = await EnterpriseService(session, runtime.clock).list(
        who.principal, search=text, limit=50
    )
    exact = [e for e in rows if text in (e.name, e.name_en) or text.upper() == e.credit_code]
    if len(exact) == 1:
        return exact[0].id
    raise InvalidInput(
        N_("Choose the enterprise from the suggestions, by name or credit code: {text}"),
        text=text, code="enterprise_ambiguous",
    )  # fmt: skip


@router.post("/monitor/cases", response_model=None)
async def record_case(
    request: Request,
    who: Signed,
    session: DbSession,
    runtime: RuntimeDep,
    category: Annotated[str, Form(max_length=16)],
    title: Annotated[str, Form(max_length=200)],
    enterprise: Annotated[str, Form(max_length=100)] = "",
    enterprise_id: Annotated[Id | None, Form()] = None,
    description: Annotated[str, Form(max_length=2000)] = "",
    csrf: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    if csrf != who.csrf_token:
        return HTMLResponse(gettext_("Missing or wrong CSRF token."), status_code=403)
    try:
        if enterprise_id is None:
            enterprise_id = await _chosen(who, session, runtime, enterprise)
        await CaseService(session, runtime.clock).record(
            who.principal, enterprise_id, category, title, description
        )
    except (InvalidInput, PermissionDenied, NotFound) as exc:
        await session.rollback()
        return _back(request, "/monitor/cases", exc)
    return RedirectResponse("/monitor/cases", status_code=303)


@router.post("/monitor/cases/{case_id}", response_model=None)
async def act_on_case(
    request: Request,
    case_id: Id,
    who: Signed,
    session: DbSession,
    runtime: RuntimeDep,
    action: Annotated[str, Form(max_length=16)],
    comment: Annotated[str, Form(max_length=2000)] = "",
    officer: Annotated[str, Form(max_length=128)] = "",
    deadline: Annotated[str, Form(max_length=32)] = "",
    csrf: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    if csrf != who.csrf_token:
        return HTMLResponse(gettext_("Missing or wrong CSRF token."), status_code=403)
    when = _parse(deadline)
    if deadline.strip() and when is None:
        return _back(request, "/monitor/cases", clock_format.not_a_day(N_("Deadline")))
    try:
        await CaseService(session, runtime.clock).act(
            who.principal, case_id, action, comment=comment, officer=officer or None,
            deadline=when,
        )  # fmt: skip
    except (InvalidInput, PermissionDenied, NotFound, Conflict) as exc:
        await session.rollback()
        return _back(request, "/monitor/cases", exc)
    return RedirectResponse("/monitor/cases", status_code=303)


@router.get(
    "/monitor/lists", dependencies=guard(Permission.VIEW_MONITOR), response_class=HTMLResponse
)
async def lists_page(
    request: Request, who: Signed, session: DbSession, runtime: RuntimeDep
) -> HTMLResponse:
    monitor = _monitor(session, runtime)
    try:
        found = await monitor.lists(who.principal)
    except PermissionDenied:
        return render_page(request, "denied.html", who, status_code=403)
    members = {k.id: await monitor.members(who.principal, k.id) for k, _ in found}
    return render_page(
        request, "monitor/lists.html", who, lists=found, members=members,
        week=await _day(monitor, runtime, None),
        staff=who.principal.role.value in ("admin", "bureau"),
    )  # fmt: skip


@router.post("/monitor/lists", response_model=None)
async def change_list(
    request: Request,
    who: Signed,
    session: DbSession,
    runtime: RuntimeDep,
    name: Annotated[str, Form(max_length=100)] = "",
    list_id: Annotated[Id | None, Form()] = None,
    codes: Annotated[str, Form(max_length=100_000)] = "",
    csrf: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    if csrf != who.csrf_token:
        return HTMLResponse(gettext_("Missing or wrong CSRF token."), status_code=403)
    monitor = _monitor(session, runtime)
    try:
        if list_id is None:
            await monitor.create_list(who.principal, name)
        else:
            await monitor.set_members(who.principal, list_id, codes.replace(",", " ").split())
    except (InvalidInput, PermissionDenied, NotFound, Conflict) as exc:
        await session.rollback()
        return _back(request, "/monitor/lists", exc)
    return RedirectResponse("/monitor/lists", status_code=303)


@router.get(
    "/monitor/import", dependencies=guard(Permission.IMPORT_POWER), response_class=HTMLResponse
)
async def import_form(request: Request, who: Signed) -> HTMLResponse:
    if who.principal.role.value not in ("admin", "bureau"):
        return render_page(request, "denied.html", who, status_code=403)
    return render_page(request, "monitor/import.html", who, report=None, error="")


@router.post(
    "/monitor/import", dependencies=guard(Permission.IMPORT_POWER), response_class=HTMLResponse
)
async def import_upload(
    request: Request,
    who: Signed,
    session: DbSession,
    runtime: RuntimeDep,
    file: Annotated[UploadFile, File()],
    csrf: Annotated[str, Form(max_length=128)] = "",
    skip_invalid: Annotated[bool, Form()] = False,
) -> HTMLResponse:
    if csrf != who.csrf_token:
        return HTMLResponse(gettext_("Missing or wrong CSRF token."), status_code=403)
    settings = runtime.settings
    try:
        content = await read_upload(file)
        report = await import_power(
            session, runtime.clock, who.principal, file.filename or "upload.csv", content,
            max_kwh=settings.monitor.max_daily_kwh,
            today=runtime.clock.now().astimezone(settings.console.zone).date(),
            skip_invalid=skip_invalid,
        )  # fmt: skip
    except PermissionDenied:
        return render_page(request, "denied.html", who, status_code=403)
    except InvalidInput as exc:
        return render_page(request, "monitor/import.html", who, report=None,
                           error=exc.text(gettext_), status_code=400)  # fmt: skip
    return render_page(request, "monitor/import.html", who, report=report, error="",
                       skip_invalid=skip_invalid)  # fmt: skip
