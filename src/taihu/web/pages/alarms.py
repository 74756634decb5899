"""Console pages of alarms: the alarm list (filters, ack with a comment, clear), rule editor."""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from taihu.alarms import (
    KINDS,
    OPERATORS,
    SEVERITIES,
    STATUSES,
    AlarmEngine,
    AlarmFilter,
    AlarmService,
)
from taihu.core import DbSession, Id, InvalidInput, NotFound, PageNumber, RuntimeDep, TaihuError
from taihu.devices import INACTIVITY_TIMEOUT_RANGE, DeviceService
from taihu.web.console import Signed, render_page
from taihu.web.i18n import N_, gettext_

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
_PAGE_SIZE = 50
STATUS_LABELS = {
    "ACTIVE_UNACK": N_("Active, not acknowledged"),
    "ACTIVE_ACK": N_("Active, acknowledged"),
    "CLEARED_UNACK": N_("Cleared, not acknowledged"),
    "CLEARED_ACK": N_("Cleared, acknowledged"),
}
SEVERITY_LABELS = {
    "critical": N_("Critical"),
    "major": N_("Major"),
    "minor": N_("Minor"),
    "warning": N_("Warning"),
    "indeterminate": N_("Indeterminate"),
}
KIND_LABELS = {
    "threshold": N_("Threshold"),
    "duration": N_("Duration"),
    "repeating": N_("Repeating"),
    "no_data": N_("No data"),
}


def _engine(request: Request) -> AlarmEngine | None:
    engine: AlarmEngine | None = getattr(request.app.state, "alarm_engine", None)
    return engine


@router.get("/alarms", response_class=HTMLResponse)
async def alarms_page(
    request: Request, who: Signed, session: DbSession, runtime: RuntimeDep,
    status: Annotated[str | None, Query(max_length=16)] = None,
    severity: Annotated[str | None, Query(max_length=16)] = None,
    device_id: Annotated[Id | None, Query()] = None,
    enterprise_id: Annotated[Id | None, Query()] = None,
    page: PageNumber = 1,
) -> HTMLResponse:  # fmt: skip
    status = status if status in {*STATUSES, "ACTIVE", "CLEARED"} else None
    severity = severity if severity in SEVERITIES else None
    wanted = AlarmFilter(device_id=device_id, severity=severity, status=status,
                         enterprise_id=enterprise_id,
                         limit=_PAGE_SIZE, offset=(page - 1) * _PAGE_SIZE)  # fmt: skip
    rows, total = await AlarmService(session, runtime.clock).alarms(who.principal, wanted)
    principal = who.principal
    return render_page(
        request, "alarms/list.html", who, rows=rows, total=total, page=page,
        pages=max(1, -(-total // _PAGE_SIZE)), status=status or "", severity=severity or "",
        device_id=device_id or "", enterprise_id=enterprise_id or "",
        pager_query="".join(f"{k}={v}&" for k, v in (("status", status), ("severity", severity),
                            ("device_id", device_id), ("enterprise_id", enterprise_id)) if v),
        statuses=["ACTIVE", "CLEARED", *STATUSES],
        status_labels={k: gettext_(v) for k, v in STATUS_LABELS.items()},
        severity_labels={k: gettext_(v) for k, v in SEVERITY_LABELS.items()},
        may_act={a.id for a in rows
                 if principal.is_admin or a.enterprise_id in principal.enterprise_ids},
    )  # fmt: skip


@router.post("/alarms/{alarm_id}/{action}", response_model=None)
async def alarm_action(
    request: Request, alarm_id: Id, action: str, who: Signed, session: DbSession,
    runtime: RuntimeDep,
    csrf: Annotated[str, Form(max_length=128)] = "",
    comment: Annotated[str, Form(max_length=500)] = "",
) -> Response:  # fmt: skip
    if not secrets.compare_digest(csrf, who.csrf_token):
        return Response(gettext_("Missing or wrong CSRF token."), status_code=403)
    alarms = AlarmService(session, runtime.clock)
    try:
        if action == "ack":
            await alarms.acknowledge(who.principal, alarm_id, comment)
        elif action == "clear":
            alarm = await alarms.clear(who.principal, alarm_id, comment)
            engine = _engine(request)
            if engine is not None:
                engine.forget(alarm.device_id, alarm.rule_id)
        else:
            raise NotFound(N_("no alarm {alarm_id}"), alarm_id=alarm_id, code="alarm_not_found")
    except TaihuError as exc:
        return render_page(request, "denied.html", who, status_code=exc.status,
                           message=exc.text(gettext_))  # fmt: skip
    return RedirectResponse("/alarms", status_code=303)


@router.get("/device-profiles/{profile_id}/rules", response_class=HTMLResponse)
async def rules_page(
    request: Request, profile_id: Id, who: Signed, session: DbSession, runtime: RuntimeDep
) -> HTMLResponse:
    return await _rules(request, profile_id, who, session, runtime)


async def _rules(
    request: Request, profile_id: int, who: Signed, session: DbSession, runtime: RuntimeDep,
    error: str = "", status_code: int = 200,
) -> HTMLResponse:  # fmt: skip
    """A profile's rules and the editor (for admin and bureau)."""
    try:
        profile = await DeviceService(session, runtime.clock).profile(profile_id)
    except NotFound:
        return render_page(request, "denied.html", who, status_code=404)
    rules = await AlarmService(session, runtime.clock).rules(who.principal, profile_id=profile_id)
    principal = who.principal
    return render_page(
        request, "alarms/rules.html", who, status_code=status_code, profile=profile, rules=rules,
        error=error, kinds=KINDS, operators=list(OPERATORS), severities=SEVERITIES,
        kind_labels={k: gettext_(v) for k, v in KIND_LABELS.items()},
        severity_labels={k: gettext_(v) for k, v in SEVERITY_LABELS.items()},
        may_edit=principal.is_admin or principal.role.value == "bureau",
        default_timeout=int(runtime.settings.alarms.inactivity_timeout),
        timeout_range=INACTIVITY_TIMEOUT_RANGE,
    )  # fmt: skip


@router.post("/device-profiles/{profile_id}/inactivity-timeout", response_model=None)
async def timeout_submit(
    request: Request, profile_id: Id, who: Signed, session: DbSession, runtime: RuntimeDep,
    csrf: Annotated[str, Form(max_length=128)] = "",
    inactivity_timeout: Annotated[str, Form(max_length=16)] = "",
) -> Response:  # fmt: skip
    if not secrets.compare_digest(csrf, who.csrf_token):
        return Response(gettext_("Missing or wrong CSRF token."), status_code=403)
    text = inactivity_timeout.strip()
    try:
        async with session.begin_nested():
            if text and not text.isdigit():
                raise InvalidInput(
                    N_("the inactivity timeout is {low} to {high} seconds"),
                    low=INACTIVITY_TIMEOUT_RANGE[0], high=INACTIVITY_TIMEOUT_RANGE[1],
                    code="bad_inactivity_timeout",
                )  # fmt: skip
            await DeviceService(session, runtime.clock).set_inactivity_timeout(
                who.principal, profile_id, int(text) if text else None
            )
    except TaihuError as exc:
        return await _rules(request, profile_id, who, session, runtime,
                            error=exc.text(gettext_), status_code=exc.status)  # fmt: skip
    engine = _engine(request)
    if engine is not None:
        engine.request_reload()
    return RedirectResponse(f"/device-profiles/{profile_id}/rules", status_code=303)


def _spec(fields: dict[str, str]) -> dict[str, Any]:
    """The rule's spec from the editor's fields (empty fields left out, numbers as numbers)."""
    spec: dict[str, Any] = {}
    for name, raw in fields.items():
        text = raw.strip()
        if not text:
            continue
        if name in {"op", "clear_op", "escalate_to"}:
            spec[name] = text
            continue
        try:
            spec[name] = int(text) if text.lstrip("-").isdigit() else float(text)
        except ValueError:
            spec[name] = text  # refused by the rule check, naming the field
    return spec


@router.post("/device-profiles/{profile_id}/rules", response_model=None)
async def rule_submit(
    request: Request, profile_id: Id, who: Signed, session: DbSession, runtime: RuntimeDep,
    csrf: Annotated[str, Form(max_length=128)] = "",
    name: Annotated[str, Form(max_length=100)] = "",
    kind: Annotated[str, Form(max_length=16)] = "threshold",
    key: Annotated[str, Form(max_length=255)] = "",
    severity: Annotated[str, Form(max_length=16)] = "major",
    op: Annotated[str, Form(max_length=2)] = "",
    value: Annotated[str, Form(max_length=32)] = "",
    clear_op: Annotated[str, Form(max_length=2)] = "",
    clear_value: Annotated[str, Form(max_length=32)] = "",
    hold_seconds: Annotated[str, Form(max_length=32)] = "",
    hold_readings: Annotated[str, Form(max_length=32)] = "",
    repeat_count: Annotated[str, Form(max_length=32)] = "",
    repeat_window_seconds: Annotated[str, Form(max_length=32)] = "",
    silent_minutes: Annotated[str, Form(max_length=32)] = "",
    delete: Annotated[int, Form(ge=0)] = 0,
) -> Response:  # fmt: skip
    if not secrets.compare_digest(csrf, who.csrf_token):
        return Response(gettext_("Missing or wrong CSRF token."), status_code=403)
    alarms = AlarmService(session, runtime.clock)
    fields = {"op": op, "value": value, "clear_op": clear_op, "clear_value": clear_value,
              "hold_seconds": hold_seconds, "hold_readings": hold_readings,
              "repeat_count": repeat_count, "repeat_window_seconds": repeat_window_seconds,
              "silent_minutes": silent_minutes}  # fmt: skip
    try:
        async with session.begin_nested():  # a refusal leaves nothing behind
            if delete:
                await alarms.delete_rule(who.principal, delete)
            else:
                await alarms.create_rule(who.principal, profile_id=profile_id, name=name,
                                         kind=kind, key=key, severity=severity,
                                         spec=_spec(fields))  # fmt: skip
    except TaihuError as exc:
        return await _rules(request, profile_id, who, session, runtime,
                                error=exc.text(gettext_), status_code=exc.status)  # fmt: skip
    engine = _engine(request)
    if engine is not None:
        engine.request_reload()
    return RedirectResponse(f"/device-profiles/{profile_id}/rules", status_code=303)
