"""HTTP routes of applications to a programme and their staged review (included by ``api``)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile, status
from fastapi.responses import Response

from taihu.accounts import ERROR_RESPONSES, CurrentPrincipal, Principal
from taihu.core import MAX_ID, N_, DbSession, Id, InvalidInput, RuntimeDep
from taihu.identifiers import MAX_DOCUMENT
from taihu.programmes.applications import ApplicationForm, ProgrammeApplications
from taihu.programmes.documents import list_documents
from taihu.programmes.form_api import with_forms
from taihu.programmes.models import ProgrammeApplication
from taihu.programmes.schemas import ApplicationOut, DocumentOut, StepOut
from taihu.programmes.uploads import attachment, uploads_of

__all__ = ["application_out", "router"]

router = APIRouter()  # tagged "programmes" by ``api``'s router, which includes it
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    404: {"description": "No such application (or not yours)"},
}
_CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"description": "Not a valid step for the application's state"}
}


async def application_out(
    applications: ProgrammeApplications, actor: Principal, row: ProgrammeApplication
) -> ApplicationOut:
    """An application with its steps and documents."""
    out = ApplicationOut.model_validate(row)
    out.steps = [StepOut.model_validate(s) for s in await applications.steps(actor, row.id)]
    out.documents = [
        DocumentOut.model_validate(d) for d in await list_documents(applications.session, row.id)
    ]
    return out


@router.post(
    "/api/programmes/applications",
    summary="Apply to a programme",
    description="An enterprise's user (or admin), for an enterprise it acts for. Multipart: "
    "`programme_id`, `enterprise_id`, `contact_name`, `contact_phone`, `summary`, and one "
    "`kind` per `file` (the programme's document keys: `licence`, `application_form` …); "
    "every document the programme requires must be there. A programme with a survey form "
    "(`form_id`) also takes `instance_id`: the enterprise's submission of that form, whose "
    "answers are kept with the application (400 `form_required` without it)."
    f" PDF, PNG or JPEG of at most {MAX_DOCUMENT >> 20} MB. "
    "Nothing is kept when any part is refused.",
    status_code=status.HTTP_201_CREATED,
    response_model=ApplicationOut,
    responses={**ERROR_RESPONSES, 409: {"description": "Closed, or an open application exists"}},
)
async def apply(
    request: Request,
    principal: CurrentPrincipal,
    session: DbSession,
    runtime: RuntimeDep,
    programme_id: Annotated[int, Form(ge=1, le=MAX_ID, examples=[7])],
    enterprise_id: Annotated[int, Form(ge=1, le=MAX_ID, examples=[12])],
    # min_length 1: an empty form field arrives as no field at all, so the schema says so.
    contact_name: Annotated[str, Form(min_length=1, max_length=80, examples=["王敏"])],
    contact_phone: Annotated[str, Form(min_length=1, max_length=40, examples=["13800000000"])],
    summary: Annotated[
        str, Form(min_length=1, max_length=4000, examples=["设备上云 120 台、能耗管理上线。"])
    ],
    kind: Annotated[list[str], Form(examples=[["licence", "application_form"]])] = [],  # noqa: B006 - FastAPI copies defaults
    file: Annotated[list[UploadFile | str], File(description="The documents, one per kind")] = [],  # noqa: B006
    instance_id: Annotated[str, Form(max_length=100, examples=["uuid:6f1c0e0a"])] = "",
) -> ApplicationOut:
    applications = with_forms(request, session, runtime)
    row = await applications.apply(
        principal,
        programme_id,
        enterprise_id,
        ApplicationForm(contact_name, contact_phone, summary),
        await uploads_of(kind, file),
        instance_id,
    )
    return await application_out(applications, principal, row)


@router.get(
    "/api/programmes/applications",
    summary="List applications",
    description="Enterprise users see their enterprises' applications; staff see all.",
    response_model=list[ApplicationOut],
    responses=ERROR_RESPONSES,
)
async def list_applications(
    principal: CurrentPrincipal,
    session: DbSession,
    runtime: RuntimeDep,
    programme_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    status_: Annotated[str | None, Query(alias="status", pattern="^[a-z_]{1,16}$")] = None,
) -> list[ApplicationOut]:
    applications = ProgrammeApplications(session, runtime.clock)
    rows = await applications.all(principal, programme_id=programme_id, status=status_)
    return [await application_out(applications, principal, r) for r in rows[:200]]


@router.get(
    "/api/programmes/applications/{application_id}",
    summary="One application",
    description="Its stage, every step (decision, reviewer, comment, time) and documents.",
    response_model=ApplicationOut,
    responses=_NOT_FOUND,
)
async def get_application(
    application_id: Id, principal: CurrentPrincipal, session: DbSession, runtime: RuntimeDep
) -> ApplicationOut:
    applications = ProgrammeApplications(session, runtime.clock)
    return await application_out(
        applications, principal, await applications.get(principal, application_id)
    )


@router.post(
    "/api/programmes/decisions",
    summary="Record a stage's decision",
    description="Bureau. `pass` moves the application to the next stage, or at the last one "
    "approves it and enters the award (`grade` where the programme has grades, `since`, default "
    "today); `return` (district stage only) sends it back for changes; `reject` ends it. "
    "`return` and `reject` need a `comment`. A fixed path with `application_id` in the form, "
    "so the upload limit applies to it. Upper stages' outcomes are entered here, with the "
    "notice as an optional `file`.",
    response_model=ApplicationOut,
    responses={**_NOT_FOUND, **_CONFLICT},
)
async def decide(
    application_id: Annotated[int, Form(ge=1, le=MAX_ID, examples=[3])],
    principal: CurrentPrincipal,
    session: DbSession,
    runtime: RuntimeDep,
    decision: Annotated[str, Form(pattern="^(pass|return|reject)$", examples=["return"])],
    comment: Annotated[str, Form(max_length=1000, examples=["补充近一年能耗数据"])] = "",
    grade: Annotated[str, Form(max_length=32, examples=["4"])] = "",
    since: Annotated[str, Form(max_length=32, examples=["2026-12-01"])] = "",
    file: Annotated[UploadFile | str | None, File(description="The stage's notice")] = None,
) -> ApplicationOut:
    applications = ProgrammeApplications(session, runtime.clock)
    uploads = await uploads_of(["notice"], [file])
    try:  # text, not a date field: a multipart form cannot say null, and a bad date is a 400
        day = date.fromisoformat(since) if since else None
    except ValueError:
        raise InvalidInput(N_("{value} is not a date (YYYY-MM-DD)"), code="bad_date",
                           value=since) from None  # fmt: skip
    row = await applications.decide(
        principal, application_id, decision, comment, grade=grade, since=day, uploads=uploads
    )
    return await application_out(applications, principal, row)


@router.post(
    "/api/programmes/resubmissions",
    summary="Resubmit an application sent back",
    description="The enterprise's users, after the district sent it back: optional new form "
    "fields and documents (one `kind` per `file`).",
    response_model=ApplicationOut,
    responses={**_NOT_FOUND, **_CONFLICT},
)
async def resubmit(
    application_id: Annotated[int, Form(ge=1, le=MAX_ID, examples=[3])],
    principal: CurrentPrincipal,
    session: DbSession,
    runtime: RuntimeDep,
    comment: Annotated[str, Form(max_length=1000)] = "",
    summary: Annotated[str, Form(max_length=4000)] = "",
    kind: Annotated[list[str] | None, Form()] = None,
    file: Annotated[list[UploadFile | str] | None, File()] = None,
) -> ApplicationOut:
    applications = ProgrammeApplications(session, runtime.clock)
    row = await applications.get(principal, application_id)
    form = None
    if summary.strip():
        form = ApplicationForm(row.form["contact_name"], row.form["contact_phone"], summary)
    uploads = await uploads_of(kind or [], file or [])
    row = await applications.resubmit(principal, application_id, form, uploads, comment)
    return await application_out(applications, principal, row)


@router.post(
    "/api/programmes/applications/{application_id}/withdraw",
    summary="Withdraw an application",
    description="The enterprise's users, while the application is in review or sent back.",
    response_model=ApplicationOut,
    responses={**_NOT_FOUND, **_CONFLICT},
)
async def withdraw(
    application_id: Id, principal: CurrentPrincipal, session: DbSession, runtime: RuntimeDep
) -> ApplicationOut:
    applications = ProgrammeApplications(session, runtime.clock)
    row = await applications.withdraw(principal, application_id)
    return await application_out(applications, principal, row)


@router.get(
    "/api/programmes/applications/{application_id}/documents/{document_id}",
    summary="Read an application's document",
    response_class=Response,
    description="Bureau and auditor; each reading is audited.",
    responses=_NOT_FOUND,
)
async def read_document(
    application_id: Id,
    document_id: Id,
    principal: CurrentPrincipal,
    session: DbSession,
    runtime: RuntimeDep,
) -> Response:
    row = await ProgrammeApplications(session, runtime.clock).read_document(
        principal, application_id, document_id
    )
    return attachment(row.filename, row.content_type, row.content)
