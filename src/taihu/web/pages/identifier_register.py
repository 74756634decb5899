"""Console page that registers one identifier from its industry template.

The form is built from the template: one field per item with its label, unit, input kind and
choices. The server checks every field and shows each problem beside its field (the browser's
own checks are off, so what a person sees is what the API would answer).
"""

from __future__ import annotations

import secrets
from datetime import UTC
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from taihu.accounts import SessionInfo
from taihu.core import DbSession, RuntimeDep, TaihuError
from taihu.identifiers import (
    AdminPermission,
    TemplateService,
    form_fields,
    identifier_service,
    register_one,
    seckeys_for,
)
from taihu.web.clock_format import SAMPLE_DAY, read_day, when
from taihu.web.console import Signed, render_page
from taihu.web.i18n import current_language, gettext_
from taihu.web.pages.identifier_views import natural_key
from taihu.web.pages.imports import csv_download, csv_template

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


async def _writable(who: SessionInfo, session: DbSession, runtime: RuntimeDep) -> list[str]:
    service = identifier_service(session, runtime)
    writable = []
    prefixes = sorted(
        await service.list_prefixes(who.principal), key=lambda p: natural_key(p.prefix)
    )
    for prefix in prefixes:
        if prefix.status != "active":
            continue
        try:
            service.authorize(who.principal, prefix, None, AdminPermission.ADD_HANDLE)
        except TaihuError:
            continue
        writable.append(prefix.prefix)
    return writable


async def _render(
    request: Request,
    who: SessionInfo,
    session: DbSession,
    runtime: RuntimeDep,
    prefix: str,
    template: str,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    prefixes = await _writable(who, session, runtime)
    if not prefixes:
        message = gettext_("You may not register identifiers under any prefix.")
        return render_page(request, "denied.html", who, status_code=403, message=message)
    prefix = prefix if prefix in prefixes else prefixes[0]
    service = identifier_service(session, runtime)
    versions = sorted({t.version: t.name for t in await TemplateService(session).all()}.items())
    fields: list[Any] = []
    error = ""
    if template:
        try:
            fields = form_fields(await service.template_for(prefix, template))
        except TaihuError as exc:
            error, status_code = exc.text(gettext_), exc.status
    return render_page(
        request, "identifiers/register.html", who, status_code=status_code,
        prefixes=prefixes, prefix=prefix, versions=versions, template=template, fields=fields,
        values=values or {}, errors=errors or {}, error=error,
    )  # fmt: skip


@router.get("/identifiers/new", response_class=HTMLResponse)
async def register_form(
    request: Request,
    who: Signed,
    session: DbSession,
    runtime: RuntimeDep,
    prefix: Annotated[str, Query(max_length=128)] = "",
    template: Annotated[str, Query(max_length=128)] = "",
) -> HTMLResponse:
    return await _render(request, who, session, runtime, prefix, template)


@router.post("/identifiers/new", response_model=None)
async def register_submit(
    request: Request, who: Signed, session: DbSession, runtime: RuntimeDep
) -> Response:
    form = await request.form()
    data = {k: v for k, v in form.items() if isinstance(v, str) and len(v) <= 65536}
    if not secrets.compare_digest(data.get("csrf", ""), who.csrf_token):
        return Response(gettext_("Missing or wrong CSRF token."), status_code=403)
    prefix, template = data.get("prefix", ""), data.get("template", "")
    if prefix not in await _writable(who, session, runtime):
        message = gettext_("You may not register identifiers under this prefix.")
        return render_page(request, "denied.html", who, status_code=403, message=message)
    service = identifier_service(session, runtime)
    try:
        spec = await service.template_for(prefix, template)
    except TaihuError:
        return await _render(request, who, session, runtime, prefix, template, status_code=400)
    typed = {k.removeprefix("item:"): v for k, v in data.items() if k.startswith("item:")}
    fields, unreadable = _iso_dates(form_fields(spec), typed)
    suffix = data.get("suffix", "").strip()
    handle, problems = await register_one(
        session, who.principal, spec, f"{prefix}/{suffix}", fields, clock=runtime.clock,
        seckeys=seckeys_for(runtime.settings),
    )  # fmt: skip
    if handle is None:
        errors = {key: problem.render(gettext_) for key, problem in problems.items()}
        for key in unreadable & errors.keys():  # said in the form the field itself uses
            example = when(SAMPLE_DAY, UTC, current_language.get())
            errors[key] = gettext_("Not a date: write it as %(day)s") % {"day": example}
        return await _render(request, who, session, runtime, prefix, template,
                             values={**typed, "suffix": suffix}, errors=errors,
                             status_code=400)  # fmt: skip
    return RedirectResponse(f"/identifiers?handle={quote(handle)}", status_code=303)


def _iso_dates(fields: list[Any], typed: dict[str, str]) -> tuple[dict[str, str], set[str]]:
    """The values with date fields as ISO days (the record's form), and the unreadable ones.

    Date fields are written in the page language's form (templates/_date_input.html).
    """
    values, unreadable = dict(typed), set()
    for field in fields:
        text = typed.get(field.id_type, "").strip()
        if field.kind != "date" or not text:
            continue
        day = read_day(text)
        if day is None:
            unreadable.add(field.id_type)
        else:
            values[field.id_type] = day.isoformat()
    return values, unreadable


def _example(field: Any) -> str:
    if field.kind == "choice":
        return str(field.options[0])
    if field.kind == "date":
        return "2026-01-15"
    if field.kind == "number":
        return "1000"
    return f"{field.id_type}-1".ljust(max(field.min_length, 1), "0")[: field.max_length]


@router.get("/identifiers/import/template.csv")
async def import_template(
    _who: Signed,
    session: DbSession,
    runtime: RuntimeDep,
    template: Annotated[str, Query(max_length=128)],
) -> Response:
    """A CSV to fill for an import of identifiers of one template: its columns and one example."""
    found = [t for t in await TemplateService(session).all() if t.version == template]
    if not found:
        return Response(status_code=404)
    spec = await identifier_service(session, runtime).template_for(found[0].prefix, template)
    fields = form_fields(spec)
    header = ["suffix", "templateVersion", *(f.id_type for f in fields)]
    example = ["EXAMPLE-0001", template, *(_example(f) for f in fields)]
    return csv_download(csv_template(header, example), f"identifiers-{template}.csv")
