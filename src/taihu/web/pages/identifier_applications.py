"""Console pages of prefix applications: apply with the licence scan, follow the review, decide.

An enterprise's user applies and follows its application's timeline; reviewers (admin, auditor)
open the documents and approve or reject with a reason.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from taihu.accounts import Principal, Role, SessionInfo
from taihu.core import DbSession, Id, RuntimeDep, TaihuError, read_upload
from taihu.enterprises import EnterpriseService
from taihu.identifiers import (
    MAX_DOCUMENT,
    ApplicationService,
    DocumentUpload,
    PrefixApplicationForm,
    apply_with_documents,
    document_response,
    documents_of,
    read_document,
)
from taihu.web.console import Signed, render_page
from taihu.web.i18n import N_, gettext_

__all__ = ["ACTION_LABELS", "router"]

router = APIRouter(include_in_schema=False)
# The steps of an application's timeline, as its readers see them.
ACTION_LABELS = {
    "applied": N_("applied"),
    "approved": N_("approved"),
    "rejected": N_("rejected"),
    "activated": N_("activated"),
    "suspended": N_("suspended"),
    "revoked": N_("revoked"),
}
STATUS_LABELS = {
    "pending": N_("pending review"),
    "approved": N_("approved"),
    "rejected": N_("rejected"),
}


def _reviewer(principal: Principal) -> bool:
    return principal.role in (Role.ADMIN, Role.AUDITOR)


async def _enterprises(session: DbSession, runtime: RuntimeDep, who: SessionInfo) -> list[Any]:
    """The enterprises the user may apply for: its own; an admin may apply for any."""
    service = EnterpriseService(session, runtime.clock)
    principal = who.principal
    if principal.enterprise_ids:
        return [await service.get(principal, e) for e in sorted(principal.enterprise_ids)]
    if principal.is_admin:
        rows, _ = await service.list(principal, limit=1000)
        return list(rows)
    return []


async def _form(
    request: Request, who: SessionInfo, session: DbSession, runtime: RuntimeDep, **context: Any
) -> HTMLResponse:
    enterprises = await _enterprises(session, runtime, who)
    if not enterprises:
        message = gettext_("Only an enterprise's users apply for its prefix.")
        return render_page(request, "denied.html", who, status_code=403, message=message)
    context.setdefault("error", "")
    context.setdefault("chosen", {})
    context.setdefault("status_code", 200)
    return render_page(
        request, "identifiers/apply.html", who, enterprises=enterprises,
        max_mb=MAX_DOCUMENT // (1024 * 1024), **context,
    )  # fmt: skip


@router.get("/identifiers/applications/new", response_class=HTMLResponse)
async def application_form(
    request: Request, who: Signed, session: DbSession, runtime: RuntimeDep
) -> HTMLResponse:
    return await _form(request, who, session, runtime)


@router.post("/identifiers/applications/new", response_model=None)
async def application_submit(
    request: Request,
    who: Signed,
    session: DbSession,
    runtime: RuntimeDep,
    licence: Annotated[UploadFile, File()],
    csrf: Annotated[str, Form(max_length=128)] = "",
    enterprise_id: Annotated[int, Form(ge=0)] = 0,
    contact_name: Annotated[str, Form(max_length=80)] = "",
    contact_phone: Annotated[str, Form(max_length=40)] = "",
    industry_class: Annotated[str, Form(max_length=8)] = "",
    prefix: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    if not secrets.compare_digest(csrf, who.csrf_token):
        return Response(gettext_("Missing or wrong CSRF token."), status_code=403)
    chosen = {"enterprise_id": enterprise_id, "contact_name": contact_name,
              "contact_phone": contact_phone, "industry_class": industry_class,
              "prefix": prefix}  # fmt: skip
    try:
        upload = DocumentUpload(
            licence.filename or "licence", await read_upload(licence, MAX_DOCUMENT)
        )
        form = PrefixApplicationForm(
            enterprise_id, contact_name, contact_phone, industry_class, upload, prefix or None
        )
        async with session.begin_nested():  # a refusal leaves nothing of the application
            row = await apply_with_documents(session, who.principal, form, runtime.clock)
    except TaihuError as exc:
        return await _form(request, who, session, runtime, status_code=exc.status,
                           error=exc.text(gettext_), chosen=chosen)  # fmt: skip
    return RedirectResponse(f"/identifiers/applications/{row.id}", status_code=303)


@router.get("/identifiers/applications/{application_id}", response_class=HTMLResponse)
async def application_page(
    request: Request, application_id: Id, who: Signed, session: DbSession, runtime: RuntimeDep
) -> HTMLResponse:
    try:
        row = await ApplicationService(session, runtime.clock).get(who.principal, application_id)
    except TaihuError as exc:
        return render_page(request, "denied.html", who, status_code=exc.status,
                           message=exc.text(gettext_))  # fmt: skip
    enterprise = await EnterpriseService(session, runtime.clock).get(
        who.principal, row.enterprise_id
    )
    steps = [{**s, "at": datetime.fromisoformat(s["at"]),
              "label": gettext_(ACTION_LABELS.get(s["action"], s["action"]))}
             for s in row.timeline]  # fmt: skip
    return render_page(
        request, "identifiers/application.html", who, application=row, enterprise=enterprise,
        status_label=gettext_(STATUS_LABELS.get(row.status, row.status)), steps=steps,
        documents=await documents_of(session, who.principal, row.id),
        reviewer=_reviewer(who.principal),
    )  # fmt: skip


@router.get("/identifiers/applications/{application_id}/documents/{document_id}",
            response_model=None)  # fmt: skip
async def application_document(
    request: Request,
    application_id: Id,
    document_id: Id,
    who: Signed,
    session: DbSession,
    runtime: RuntimeDep,
) -> Response:
    try:
        document = await read_document(
            session, who.principal, application_id, document_id, runtime.clock
        )
    except TaihuError as exc:
        return render_page(request, "denied.html", who, status_code=exc.status,
                           message=exc.text(gettext_))  # fmt: skip
    return document_response(document)
