"""Identifier pages: the console's prefixes, applications and statistics; the public label page.

``/r/{handle}`` is public (what someone sees after scanning the label on an elevator) and
``/r/{handle}.svg`` is that label as a QR code.
"""

from __future__ import annotations

import io
import secrets
from datetime import timedelta
from typing import Annotated, Any

import segno
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from taihu.accounts import Role
from taihu.core import DbSession, RuntimeDep, TaihuError
from taihu.identifiers import (
    ApplicationService,
    HierarchyService,
    IdentifierService,
    TemplateService,
    parse_handle,
    value_to_json,
)
from taihu.web.console import Signed, _page
from taihu.web.i18n import gettext_

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
_DAYS = 14


@router.get("/identifiers", response_class=HTMLResponse)
async def identifiers_page(
    request: Request,
    who: Signed,
    session: DbSession,
    runtime: RuntimeDep,
    handle: Annotated[str | None, Query(max_length=2048)] = None,
) -> HTMLResponse:
    principal = who.principal
    service = IdentifierService(session, runtime.clock)
    prefixes = await service.list_prefixes(principal)
    mine = None if principal.sees_all_enterprises else [p.prefix for p in prefixes]
    today = runtime.clock.now().date()
    since = today - timedelta(days=_DAYS - 1)
    stats = await service.daily_stats(since, prefixes=mine)
    days = [since + timedelta(days=n) for n in range(_DAYS)]
    chart = {
        "title": gettext_("Registrations and resolutions per day"),
        "days": [d.strftime("%m-%d") for d in days],
        "series": [
            {"name": gettext_("Registrations"), "data": [stats.get(d, (0, 0))[0] for d in days]},
            {"name": gettext_("Resolutions"), "data": [stats.get(d, (0, 0))[1] for d in days]},
        ],
    }
    applications = await ApplicationService(session, runtime.clock).all(principal)
    hierarchy = HierarchyService(session, runtime.clock)
    link = await hierarchy.link() if principal.sees_all_enterprises else None
    filings = {f.prefix: f for f in await hierarchy.filings()} if link else {}
    found: dict[str, Any] | None = None
    if handle:
        try:
            parsed = parse_handle(handle.strip())
            values = await service.values(parsed)
            if not await service.is_admin_of(principal, parsed):
                values = [v for v in values if v.public_read]
            found = {"handle": parsed.text, "values": [value_to_json(v) for v in values]}
        except TaihuError as exc:
            found = {"handle": handle, "error": exc.message}
    return _page(
        request, "identifiers/index.html", who,
        prefixes=prefixes, applications=applications[:50], chart=chart,
        handles=await service.count_handles(mine), found=found, query=handle or "",
        templates=await TemplateService(session, runtime.clock).all(),
        reviewer=principal.role in (Role.ADMIN, Role.AUDITOR), link=link, filings=filings,
    )  # fmt: skip


@router.post("/identifiers/applications/{application_id}/{decision}", response_model=None)
async def decide_application(
    request: Request,
    application_id: int,
    decision: str,
    who: Signed,
    session: DbSession,
    runtime: RuntimeDep,
    csrf: Annotated[str, Form(max_length=128)] = "",
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    if not secrets.compare_digest(csrf, who.csrf_token):
        return Response(gettext_("Missing or wrong CSRF token."), status_code=403)
    applications = ApplicationService(session, runtime.clock)
    try:
        if decision == "approve":
            await applications.approve(who.principal, application_id)
        elif decision == "reject":
            await applications.reject(who.principal, application_id, reason)
        else:
            return Response(status_code=404)
    except TaihuError as exc:
        return _page(request, "denied.html", who, status_code=exc.status, message=exc.message)
    return RedirectResponse("/identifiers#applications", status_code=303)


@router.get("/r/{handle:path}", response_model=None)
async def public_page(
    request: Request, handle: str, session: DbSession, runtime: RuntimeDep
) -> Response:
    if handle.endswith(".svg"):
        return await _label(request, handle.removesuffix(".svg"), session, runtime)
    service = IdentifierService(session, runtime.clock)
    try:
        parsed = parse_handle(handle)
        values = [v for v in await service.values(parsed) if v.public_read]
    except TaihuError as exc:
        return _page(request, "identifiers/public.html", None, status_code=exc.status,
                     handle=handle, error=exc.message, rows=[], template=None)  # fmt: skip
    template_version = next((v.text for v in values if v.type == "TEMPLATE"), None)
    items: dict[str, str] = {}
    template = None
    if template_version:
        try:
            template = await service.template_for(parsed.prefix, template_version)
            items = {i.id_type: i.name for i in template.items}
        except TaihuError:
            template = None
    shown = [v for v in values if not v.type.startswith("HS_") and v.type != "TEMPLATE"]
    order = list(items)
    shown.sort(key=lambda v: (order.index(v.type) if v.type in items else len(order), v.index))
    rows = [
        {"label": items.get(v.type, v.type), "value": v.text or gettext_("(binary data)"),
         "link": v.type == "URL" and (v.text or "").startswith(("https://", "http://"))}
        for v in shown
    ]  # fmt: skip
    return _page(request, "identifiers/public.html", None, handle=parsed.text, rows=rows,
                 template=template, error=None)  # fmt: skip


async def _label(
    request: Request, handle: str, session: DbSession, runtime: RuntimeDep
) -> Response:
    try:
        parsed = parse_handle(handle)
        await IdentifierService(session, runtime.clock).values(parsed)
    except TaihuError as exc:
        return Response(exc.message, status_code=exc.status, media_type="text/plain")
    url = str(request.url_for("public_page", handle=parsed.text))
    out = io.BytesIO()
    # Error correction M survives a scuffed label; the caption names the identifier.
    segno.make(url, error="m").save(out, kind="svg", scale=4, border=2, title=parsed.text)
    return Response(out.getvalue(), media_type="image/svg+xml",
                    headers={"Cache-Control": "public, max-age=86400"})  # fmt: skip
