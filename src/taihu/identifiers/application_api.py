"""HTTP routes of prefix applications: an enterprise applies with its documents, reviewers decide.

POST /api/identifiers/applications                         enterprise user (multipart)
GET  /api/identifiers/applications[/{id}]                  the applicant, reviewers, bureau
POST /api/identifiers/applications/{id}/approve|reject     auditor (admin)
GET  /api/identifiers/applications/{id}/documents/{doc}    auditor (admin): the file itself
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, UploadFile, status
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from taihu.accounts import ERROR_RESPONSES, CurrentPrincipal
from taihu.core import DbSession, Id, RuntimeDep, read_upload
from taihu.identifiers.models import PrefixApplication
from taihu.identifiers.prefixes import ApplicationService
from taihu.identifiers.prefixes.documents import (
    MAX_DOCUMENT,
    ApplicationDocument,
    DocumentUpload,
    PrefixApplicationForm,
    apply_with_documents,
    documents_of,
    read_document,
)

__all__ = ["ApplicationOut", "DocumentOut", "application_out", "attachment", "router"]

router = APIRouter(tags=["identifiers: prefix applications"])
_EXAMPLE: dict[str, Any] = {
    "id": 7,
    "enterprise_id": 12,
    "prefix": "88.118.31",
    "contact": "王敏 13800000000",
    "industry_class": "3435",
    "status": "pending",
    "reason": None,
    "created_at": "2026-12-06T04:10:00Z",
    "timeline": [{"at": "2026-12-06T04:10:00+00:00", "actor": "wang", "action": "applied"}],
    "documents": [
        {"id": 3, "kind": "business_licence", "filename": "licence.pdf",
         "content_type": "application/pdf", "size": 181224, "sha256": "9f86d0…"}
    ],
}  # fmt: skip
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    404: {"description": "No such application (or not visible to you)"},
}


class DocumentOut(BaseModel):
    """A document of an application, without its bytes."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    filename: str
    content_type: str
    size: int
    sha256: str


class ApplicationOut(BaseModel):
    """A prefix application with its review timeline and documents."""

    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE]})

    id: int
    enterprise_id: int
    prefix: str
    contact: str
    industry_class: str
    status: str = Field(description="pending, approved or rejected")
    reason: str | None = Field(description="Why it was rejected")
    created_at: datetime
    timeline: list[dict[str, Any]]
    documents: list[DocumentOut]


class RejectIn(BaseModel):
    """A rejection's reason, shown to the applicant."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"reason": "营业执照扫描件不清晰"}]})

    reason: str = Field(min_length=2, max_length=500, examples=["营业执照扫描件不清晰"])


def application_out(row: PrefixApplication, documents: list[ApplicationDocument]) -> ApplicationOut:
    """The API form of an application."""
    return ApplicationOut(
        id=row.id, enterprise_id=row.enterprise_id, prefix=row.prefix, contact=row.contact,
        industry_class=row.industry_class, status=row.status, reason=row.reason,
        created_at=row.created_at, timeline=row.timeline,
        documents=[DocumentOut.model_validate(d) for d in documents],
    )  # fmt: skip


def attachment(document: ApplicationDocument) -> Response:
    """A stored document as a download the browser never renders in the console's origin."""
    quoted = "".join(ch if ch.isascii() and ch not in '"\\' else "_" for ch in document.filename)
    return Response(
        document.content,
        media_type=document.content_type,
        headers={
            "Content-Disposition": f'attachment; filename="{quoted}"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )


@router.post(
    "/api/identifiers/applications",
    summary="Apply for an enterprise prefix",
    description="An enterprise user (or admin) for an enterprise it acts for. Multipart form: "
    "`enterprise_id`, `contact_name`, `contact_phone`, `industry_class` (GB/T 4754), optional "
    f"`prefix` (else the next free one), and `licence`: the business licence scan, PDF, PNG or "
    f"JPEG of at most {MAX_DOCUMENT // (1024 * 1024)} MB. The application waits for real-name "
    "review; nothing is stored when any part is refused.",
    status_code=status.HTTP_201_CREATED,
    response_model=ApplicationOut,
    responses={
        **ERROR_RESPONSES,
        201: {"content": {"application/json": {"example": _EXAMPLE}}},
        404: {"description": "No such enterprise"},
        409: {"description": "The prefix is taken or applied for"},
    },
)
async def apply(
    principal: CurrentPrincipal,
    session: DbSession,
    runtime: RuntimeDep,
    enterprise_id: Annotated[int, Form(ge=1, examples=[12])],
    contact_name: Annotated[str, Form(min_length=1, max_length=80, examples=["王敏"])],
    contact_phone: Annotated[str, Form(min_length=1, max_length=40, examples=["13800000000"])],
    industry_class: Annotated[str, Form(min_length=1, max_length=8, examples=["3435"])],
    licence: Annotated[UploadFile, File(description="Business licence scan (PDF, PNG, JPEG)")],
    prefix: Annotated[str, Form(max_length=128, examples=["88.118.31"])] = "",
) -> ApplicationOut:
    upload = DocumentUpload(licence.filename or "licence", await read_upload(licence, MAX_DOCUMENT))
    form = PrefixApplicationForm(
        enterprise_id, contact_name, contact_phone, industry_class, upload, prefix or None
    )
    row = await apply_with_documents(session, principal, form, runtime.clock)
    return application_out(row, await documents_of(session, principal, row.id))


@router.get(
    "/api/identifiers/applications",
    summary="List prefix applications",
    description="Enterprise users see their enterprises' applications; staff see all. Newest "
    "first.",
    response_model=list[ApplicationOut],
    responses=ERROR_RESPONSES,
)
async def list_applications(
    principal: CurrentPrincipal,
    session: DbSession,
    runtime: RuntimeDep,
    status_: Annotated[
        str | None,
        Query(alias="status", pattern="^(pending|approved|rejected)$", description="Only these"),
    ] = None,
) -> list[ApplicationOut]:
    rows = await ApplicationService(session, runtime.clock).all(principal, status=status_)
    return [application_out(r, await documents_of(session, principal, r.id)) for r in rows[:500]]


@router.get(
    "/api/identifiers/applications/{application_id}",
    summary="One prefix application and its review timeline",
    description="The applicant follows its review here: `status`, `reason` and `timeline`.",
    response_model=ApplicationOut,
    responses={**_NOT_FOUND, 200: {"content": {"application/json": {"example": _EXAMPLE}}}},
)
async def get_application(
    application_id: Id, principal: CurrentPrincipal, session: DbSession, runtime: RuntimeDep
) -> ApplicationOut:
    row = await ApplicationService(session, runtime.clock).get(principal, application_id)
    return application_out(row, await documents_of(session, principal, row.id))


@router.post(
    "/api/identifiers/applications/{application_id}/approve",
    summary="Approve a prefix application",
    description="Auditor (or admin), after reading the documents: the prefix becomes active, "
    "owned by the enterprise. 409 when the application is decided already.",
    response_model=ApplicationOut,
    responses={**_NOT_FOUND, 409: {"description": "Not pending"}},
)
async def approve(
    application_id: Id, principal: CurrentPrincipal, session: DbSession, runtime: RuntimeDep
) -> ApplicationOut:
    row = await ApplicationService(session, runtime.clock).approve(principal, application_id)
    return application_out(row, await documents_of(session, principal, row.id))


@router.post(
    "/api/identifiers/applications/{application_id}/reject",
    summary="Reject a prefix application with a reason",
    description="Auditor (or admin). The reason is shown to the applicant.",
    response_model=ApplicationOut,
    responses={**_NOT_FOUND, 409: {"description": "Not pending"}},
)
async def reject(
    application_id: Id,
    body: RejectIn,
    principal: CurrentPrincipal,
    session: DbSession,
    runtime: RuntimeDep,
) -> ApplicationOut:
    service = ApplicationService(session, runtime.clock)
    row = await service.reject(principal, application_id, body.reason)
    return application_out(row, await documents_of(session, principal, row.id))


@router.get(
    "/api/identifiers/applications/{application_id}/documents/{document_id}",
    summary="Download an application's document",
    description="Auditor (or admin) only; each download is audited. Sent as an attachment.",
    response_class=Response,
    responses={
        **_NOT_FOUND,
        200: {"content": {"application/pdf": {}, "image/png": {}, "image/jpeg": {}}},
    },
)
async def download_document(
    application_id: Id,
    document_id: Id,
    principal: CurrentPrincipal,
    session: DbSession,
    runtime: RuntimeDep,
) -> Response:
    document = await read_document(session, principal, application_id, document_id, runtime.clock)
    return attachment(document)
