"""Console side of device nameplates: a device's public page, its identifier and sharing forms."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from taihu.core import DbSession, Id, RuntimeDep, TaihuError
from taihu.devices import DeviceService
from taihu.identifiers import identifier_service
from taihu.nameplates import NameplateService, base_url, forget_resolved
from taihu.web.console import Signed, _page, render_page
from taihu.web.i18n import gettext_
from taihu.web.pages.alarm_feed import PRESENCE_LABELS

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/public/devices/{device_id}", response_class=HTMLResponse)
async def public_device_page(
    request: Request, device_id: Id, session: DbSession, runtime: RuntimeDep
) -> HTMLResponse:
    nameplates = NameplateService(session, identifier_service(session, runtime), runtime.clock)
    try:
        view = await nameplates.public(runtime.db, device_id)
    except TaihuError as exc:
        return _page(request, "devices/public.html", None, status_code=exc.status, view=None,
                     error=exc.text(gettext_))  # fmt: skip
    return _page(request, "devices/public.html", None, view=view, error=None,
                 presence_labels={k: gettext_(v) for k, v in PRESENCE_LABELS.items()})  # fmt: skip


@router.post("/devices/{device_id}/identifier", response_model=None)
async def identifier_submit(
    request: Request, device_id: Id, who: Signed, session: DbSession, runtime: RuntimeDep,
    csrf: Annotated[str, Form(max_length=128)] = "",
    identifier: Annotated[str, Form(max_length=255)] = "",
) -> Response:  # fmt: skip
    if not secrets.compare_digest(csrf, who.csrf_token):
        return Response(gettext_("Missing or wrong CSRF token."), status_code=403)
    nameplates = NameplateService(session, identifier_service(session, runtime), runtime.clock)
    try:
        async with session.begin_nested():  # a refusal leaves nothing behind
            before = (await DeviceService(session).get(who.principal, device_id)).identifier
            if identifier.strip():
                device = await nameplates.link(
                    who.principal, device_id, identifier, base_url(request)
                )
            else:
                device = await nameplates.unlink(who.principal, device_id)
    except TaihuError as exc:
        return render_page(request, "denied.html", who, status_code=exc.status,
                           message=exc.text(gettext_))  # fmt: skip
    forget_resolved(request, before)
    forget_resolved(request, device.identifier)
    return RedirectResponse(f"/devices/{device_id}#nameplate", status_code=303)


@router.post("/devices/{device_id}/public-state", response_model=None)
async def public_state_submit(
    request: Request, device_id: Id, who: Signed, session: DbSession, runtime: RuntimeDep,
    csrf: Annotated[str, Form(max_length=128)] = "",
    public_state: Annotated[int, Form(ge=0, le=1)] = 0,
) -> Response:  # fmt: skip
    if not secrets.compare_digest(csrf, who.csrf_token):
        return Response(gettext_("Missing or wrong CSRF token."), status_code=403)
    try:
        await DeviceService(session, runtime.clock).set_public_state(
            who.principal, device_id, bool(public_state)
        )
    except TaihuError as exc:
        return render_page(request, "denied.html", who, status_code=exc.status,
                           message=exc.text(gettext_))  # fmt: skip
    return RedirectResponse(f"/devices/{device_id}#nameplate", status_code=303)
