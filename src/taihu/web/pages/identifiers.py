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
from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from taihu.accounts import Permission, Principal, SessionInfo, may
from taihu.core import (
    DbSession,
    Id,
    InvalidInput,
    PageNumber,
    PermissionDenied,
    RuntimeDep,
    TaihuError,
    read_upload,
)
from taihu.devices import Device, DeviceService
from taihu.identifiers import (
    AdminPermission,
    ApplicationService,
    DayCount,
    HierarchyService,
    IdentifierService,
    StatisticsService,
    TemplateService,
    identifier_service,
    import_rows,
    parse_handle,
    read_table_bytes,
    seckeys_for,
    value_to_json,
)
from taihu.nameplates import NameplateService
from taihu.web.console import Signed, _page
from taihu.web.i18n import N_, gettext_
from taihu.web.pages import identifier_applications, identifier_register
from taihu.web.pages.identifier_views import (
    enterprise_names,
    example_handle,
    item_labels,
    natural_key,
)
from taihu.web.pages.imports import may as optional
from taihu.web.pages.imports import need

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
# Before the routes below: /identifiers/applications/new is not an application id.
router.include_router(identifier_applications.router)
router.include_router(identifier_register.router)
_DAYS = 14
_TOP_PREFIXES = 30
_TOP_ENTERPRISES = 10
_MAX_IMPORT_ROWS = 20_000
_PREFIX_PAGE = 50
# The columns of an identifier import beside the template's own items.
_ID_COLUMNS = (
    need("suffix", "ELV-0001", N_("the identifier under the prefix (or a handle column)")),
    optional("templateVersion", "elevator-1.0", N_("the row's template, else the one chosen")),
    optional("…", "", N_("one column per item of the template (its idType)")),
)


@router.get("/identifiers", response_class=HTMLResponse)
async def identifiers_page(
    request: Request,
    who: Signed,
    session: DbSession,
    runtime: RuntimeDep,
    handle: Annotated[str | None, Query(max_length=2048)] = None,
    page: PageNumber = 1,
) -> HTMLResponse:
    principal = who.principal
    service = identifier_service(session, runtime)
    prefixes = sorted(await service.list_prefixes(principal), key=lambda p: natural_key(p.prefix))
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
    by_prefix = _by_prefix(await StatisticsService(session).daily(principal, since, today))
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
            shown = [value_to_json(v) for v in values]
            labels = await item_labels(service, parsed.prefix, shown)
            found = {"handle": parsed.text, "values": shown, "labels": labels}
            device = (await _linked_devices(session, runtime, [parsed.text])).get(parsed.text)
            if device is not None and principal.can_see_enterprise(device.enterprise_id):
                readable = DeviceService.may_read_data(principal, device)
                found |= {"device": device, "device_readable": readable}
        except TaihuError as exc:
            found = {"handle": handle, "error": exc.text(gettext_)}
    pages = max(1, -(-len(prefixes) // _PREFIX_PAGE))
    shown_prefixes = prefixes[(page - 1) * _PREFIX_PAGE : page * _PREFIX_PAGE]
    names = await enterprise_names(
        session, [p.enterprise_id for p in shown_prefixes] + [a.enterprise_id for a in applications]
    )
    return _page(
        request, "identifiers/index.html", who,
        prefixes=shown_prefixes, prefix_count=len(prefixes), page=page, pages=pages, names=names,
        example=await example_handle(session, prefixes), applications=applications[:50],
        chart=chart,
        by_prefix=by_prefix[:_TOP_PREFIXES], by_enterprise=_enterprise_chart(by_prefix),
        handles=await service.count_handles(mine), found=found, query=handle or "",
        templates=await TemplateService(session, runtime.clock).all(),
        reviewer=may(principal, Permission.REVIEW_PREFIXES), link=link, filings=filings,
        can_import=bool(await _writable_prefixes(service, principal)),
    )  # fmt: skip


def _by_prefix(counts: list[DayCount]) -> list[dict[str, Any]]:
    """Totals over the period per prefix, with its enterprise, busiest first."""
    totals: dict[str, dict[str, Any]] = {}
    for c in counts:
        row = totals.setdefault(c.prefix, {"prefix": c.prefix, "enterprise": c.enterprise or "",
                                           "registrations": 0, "resolutions": 0})  # fmt: skip
        row["registrations"] += c.registrations
        row["resolutions"] += c.resolutions
    return sorted(totals.values(), key=lambda r: (-r["resolutions"] - r["registrations"],
                                                  r["prefix"]))  # fmt: skip


def _enterprise_chart(by_prefix: list[dict[str, Any]]) -> dict[str, Any]:
    """The busiest enterprises of the period, for a bar chart."""
    totals: dict[str, list[int]] = {}
    for row in by_prefix:
        name = row["enterprise"] or gettext_("Node (no enterprise)")
        pair = totals.setdefault(name, [0, 0])
        pair[0] += row["registrations"]
        pair[1] += row["resolutions"]
    top = sorted(totals.items(), key=lambda kv: -kv[1][0] - kv[1][1])[:_TOP_ENTERPRISES]
    top.reverse()  # the busiest at the top of a horizontal bar chart
    return {
        "title": gettext_("Busiest enterprises, last %(days)d days") % {"days": _DAYS},
        "names": [name for name, _ in top],
        "series": [
            {"name": gettext_("Registrations"), "data": [pair[0] for _, pair in top]},
            {"name": gettext_("Resolutions"), "data": [pair[1] for _, pair in top]},
        ],
    }


@router.post("/identifiers/applications/{application_id}/{decision}", response_model=None)
async def decide_application(
    request: Request,
    application_id: Id,
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
        return _page(request, "denied.html", who, status_code=exc.status,
                     message=exc.text(gettext_))  # fmt: skip
    return RedirectResponse(f"/identifiers/applications/{application_id}", status_code=303)


async def _writable_prefixes(service: IdentifierService, principal: Principal) -> list[str]:
    """The active prefixes the principal may register under."""
    writable = []
    for prefix in await service.list_prefixes(principal):
        if prefix.status != "active":
            continue
        try:
            service.authorize(principal, prefix, None, AdminPermission.ADD_HANDLE)
        except PermissionDenied:
            continue
        writable.append(prefix.prefix)
    return writable


async def _import_page(
    request: Request, who: SessionInfo, session: DbSession, runtime: RuntimeDep, **context: Any
) -> HTMLResponse:
    service = identifier_service(session, runtime)
    prefixes = await _writable_prefixes(service, who.principal)
    if not prefixes:
        message = gettext_("You may not register identifiers under any prefix.")
        return _page(request, "denied.html", who, status_code=403, message=message)
    versions = sorted({t.version for t in await TemplateService(session, runtime.clock).all()})
    context.setdefault("report", None)
    context.setdefault("error", "")
    context.setdefault("chosen", {})
    return _page(request, "identifiers/import.html", who, prefixes=prefixes, versions=versions,
                 max_rows=_MAX_IMPORT_ROWS, id_columns=_ID_COLUMNS, **context)  # fmt: skip


@router.get("/identifiers/import", response_class=HTMLResponse)
async def import_form(
    request: Request, who: Signed, session: DbSession, runtime: RuntimeDep
) -> HTMLResponse:
    return await _import_page(request, who, session, runtime)


@router.post("/identifiers/import", response_class=HTMLResponse)
async def import_upload(
    request: Request,
    who: Signed,
    session: DbSession,
    runtime: RuntimeDep,
    file: Annotated[UploadFile, File()],
    csrf: Annotated[str, Form(max_length=128)] = "",
    prefix: Annotated[str, Form(max_length=128)] = "",
    template: Annotated[str, Form(max_length=64)] = "",
    write_valid: Annotated[bool, Form()] = False,
) -> HTMLResponse:
    if not secrets.compare_digest(csrf, who.csrf_token):
        return HTMLResponse(gettext_("Missing or wrong CSRF token."), status_code=403)
    chosen = {"prefix": prefix, "template": template, "write_valid": write_valid}
    service = identifier_service(session, runtime)
    if prefix not in await _writable_prefixes(service, who.principal):
        message = gettext_("You may not register identifiers under this prefix.")
        return _page(request, "denied.html", who, status_code=403, message=message)
    name = file.filename or "upload.csv"
    try:
        rows = read_table_bytes(name, await read_upload(file))
        if len(rows) > _MAX_IMPORT_ROWS:
            raise InvalidInput(
                gettext_("The file has %(rows)d rows; the console imports at most %(max)d "
                         "(use `taihu id import` for larger files).")
                % {"rows": len(rows), "max": _MAX_IMPORT_ROWS},
                code="too_many_rows",
            )  # fmt: skip
        if not rows:
            raise InvalidInput(gettext_("The file has no rows below its header."), code="bad_file")
        report = await import_rows(
            runtime.db, who.principal, prefix, rows, template=template or None,
            clock=runtime.clock, source=name, seckeys=seckeys_for(runtime.settings),
            write_valid=write_valid,
        )  # fmt: skip
    except TaihuError as exc:
        return await _import_page(request, who, session, runtime, status_code=400,
                                  error=exc.text(gettext_), chosen=chosen)  # fmt: skip
    return await _import_page(request, who, session, runtime, report=report, file=name,
                              chosen=chosen)  # fmt: skip


@router.get("/r/{handle:path}", response_model=None)
async def public_page(
    request: Request, handle: str, session: DbSession, runtime: RuntimeDep
) -> Response:
    if handle.endswith(".svg"):
        return await _label(request, handle.removesuffix(".svg"), session, runtime)
    service = identifier_service(session, runtime)
    try:
        parsed = parse_handle(handle)
        values = [v for v in await service.values(parsed) if v.public_read]
    except TaihuError as exc:
        return _page(request, "identifiers/public.html", None, status_code=exc.status,
                     handle=handle, error=exc.text(gettext_), rows=[], template=None)  # fmt: skip
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
    device = (await _linked_devices(session, runtime, [parsed.text])).get(parsed.text)
    return _page(request, "identifiers/public.html", None, handle=parsed.text, rows=rows,
                 template=template, error=None, device=device)  # fmt: skip


async def _linked_devices(
    session: DbSession, runtime: RuntimeDep, handles: list[str]
) -> dict[str, Device]:
    nameplates = NameplateService(session, identifier_service(session, runtime), runtime.clock)
    return await nameplates.devices_of(handles)


async def _label(
    request: Request, handle: str, session: DbSession, runtime: RuntimeDep
) -> Response:
    try:
        parsed = parse_handle(handle)
        await identifier_service(session, runtime).values(parsed)
    except TaihuError as exc:
        return Response(exc.text(gettext_), status_code=exc.status, media_type="text/plain")
    url = str(request.url_for("public_page", handle=parsed.text))
    out = io.BytesIO()
    # Error correction M survives a scuffed label; the caption names the identifier.
    segno.make(url, error="m").save(out, kind="svg", scale=4, border=2, title=parsed.text)
    return Response(out.getvalue(), media_type="image/svg+xml",
                    headers={"Cache-Control": "public, max-age=86400"})  # fmt: skip
