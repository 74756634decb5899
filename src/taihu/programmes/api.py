"""HTTP routes of programmes, applications with staged review, and the award registries."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile, status
from fastapi.responses import Response

from taihu.accounts import ERROR_RESPONSES, CurrentPrincipal, Principal
from taihu.core import (
    MAX_ID,
    N_,
    DbSession,
    DryRun,
    Id,
    ImportFile,
    ImportReportOut,
    InvalidInput,
    RuntimeDep,
    SkipInvalid,
    import_upload,
)
from taihu.identifiers import MAX_DOCUMENT
from taihu.programmes.applications import ApplicationForm, ProgrammeApplications
from taihu.programmes.catalogue import LEVELS, ProgrammeSpec
from taihu.programmes.documents import list_documents
from taihu.programmes.form_api import FORMS_STATE, with_forms
from taihu.programmes.form_api import router as form_router
from taihu.programmes.models import ProgrammeApplication
from taihu.programmes.registry import AwardFilter, AwardRow, RegistryService
from taihu.programmes.registry_import import import_awards
from taihu.programmes.schemas import (
    ApplicationOut,
    AwardIn,
    AwardOut,
    CountOut,
    DocumentOut,
    FormIn,
    HolderCountOut,
    ProgrammeIn,
    ProgrammeOut,
    StepOut,
)
from taihu.programmes.service import ProgrammeService
from taihu.programmes.statistics import BREAKDOWNS, holders_by
from taihu.programmes.uploads import XLSX, attachment, uploads_of

__all__ = ["FORMS_STATE", "application_out", "award_out", "router"]

router = APIRouter(tags=["programmes"])
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


def award_out(row: AwardRow) -> AwardOut:
    """A registry entry with the names of its programme and enterprise."""
    a = row.award
    return AwardOut(
        id=a.id,
        programme=row.programme.key,
        programme_name=row.programme.name_zh,
        enterprise_id=a.enterprise_id,
        enterprise_name=row.enterprise.name,
        credit_code=row.enterprise.credit_code,
        level=a.level,
        grade=a.grade,
        year=a.year,
        since=a.since,
        until=a.until,
        source=a.source,
        note=a.note,
    )


@router.get(
    "/api/programmes",
    summary="List programmes",
    response_model=list[ProgrammeOut],
    description="Every programme (public in the district): the built-ins "
    "(试点示范, 标杆工厂, 星级上云, 两化融合, 专精特新 …) and the bureau's own.",
    responses=ERROR_RESPONSES,
)
async def list_programmes(
    _principal: CurrentPrincipal, session: DbSession, runtime: RuntimeDep
) -> list[ProgrammeOut]:
    rows = await ProgrammeService(session, runtime.clock).all()
    return [ProgrammeOut.model_validate(r) for r in rows]


@router.post(
    "/api/programmes",
    summary="Add a programme",
    status_code=status.HTTP_201_CREATED,
    description="Bureau. Stages start with `enterprise` and go upwards through "
    f"`district`, `city`, `province`, `national`; levels: {', '.join(LEVELS)}.",
    response_model=ProgrammeOut,
    responses={**ERROR_RESPONSES, 409: {"description": "The key is taken"}},
)
async def create_programme(
    body: ProgrammeIn, principal: CurrentPrincipal, session: DbSession, runtime: RuntimeDep
) -> ProgrammeOut:
    spec = ProgrammeSpec(
        **{
            **body.model_dump(),
            "stages": tuple(body.stages),
            "documents": tuple(body.documents),
            "grades": tuple(body.grades),
        }
    )
    row = await ProgrammeService(session, runtime.clock).create(principal, spec)
    return ProgrammeOut.model_validate(row)


@router.get(
    "/api/programmes/{programme_id:int}",
    summary="One programme",
    description="Its names, level, issuing body, criteria, documents, stages, grades, validity "
    "and subsidy.",
    response_model=ProgrammeOut,
    responses=ERROR_RESPONSES,
)
async def get_programme(
    programme_id: Id, _principal: CurrentPrincipal, session: DbSession, runtime: RuntimeDep
) -> ProgrammeOut:
    return ProgrammeOut.model_validate(
        await ProgrammeService(session, runtime.clock).get(programme_id)
    )


@router.put(
    "/api/programmes/{programme_id:int}/form",
    summary="Set a programme's survey form",
    description="Bureau. A survey form (its `form_id` in the surveys) that applicants fill "
    "through its web form, besides the built-in fields; `null` goes back to the built-in form "
    "only. Applications already made keep what they were made with.",
    response_model=ProgrammeOut,
    responses=ERROR_RESPONSES,
)
async def set_programme_form(
    programme_id: Id,
    body: FormIn,
    principal: CurrentPrincipal,
    session: DbSession,
    runtime: RuntimeDep,
) -> ProgrammeOut:
    row = await ProgrammeService(session, runtime.clock).set_form(
        principal, programme_id, body.form_id
    )
    return ProgrammeOut.model_validate(row)


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


@router.get(
    "/api/programmes/awards",
    summary="The award registry",
    description="Who holds what, at which level and grade, since/until. Enterprise users see "
    "their own. `expiring_days` lists the awards still valid that lapse within that many days.",
    response_model=list[AwardOut],
    responses=ERROR_RESPONSES,
)
async def list_awards(
    principal: CurrentPrincipal,
    session: DbSession,
    runtime: RuntimeDep,
    programme_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    level: Annotated[str | None, Query(pattern="^(national|provincial|city|district)$")] = None,
    year: Annotated[int | None, Query(ge=1990, le=2100)] = None,
    enterprise_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    expiring_days: Annotated[int | None, Query(ge=0, le=3660)] = None,
) -> list[AwardOut]:
    where = AwardFilter(programme_id, level, year, enterprise_id)
    rows = await RegistryService(session, runtime.clock).awards(
        principal, where, expiring_days=expiring_days
    )
    return [award_out(r) for r in rows]


@router.post(
    "/api/programmes/awards",
    summary="Register a historical award",
    status_code=status.HTTP_201_CREATED,
    response_model=AwardOut,
    description="Bureau: an award won before the platform; `until` defaults to the "
    "programme's validity.",
    responses={**ERROR_RESPONSES, 409: {"description": "Held for that year already"}},
)
async def register_award(
    body: AwardIn, principal: CurrentPrincipal, session: DbSession, runtime: RuntimeDep
) -> AwardOut:
    registry = RegistryService(session, runtime.clock)
    award = await registry.register(
        principal,
        body.programme_id,
        body.enterprise_id,
        grade=body.grade,
        since=body.since,
        until=body.until,
        note=body.note,
    )
    rows = await registry.awards(principal, AwardFilter(enterprise_id=award.enterprise_id))
    return award_out(next(r for r in rows if r.award.id == award.id))


@router.get(
    "/api/programmes/awards/counts",
    summary="Awards per programme, level and year",
    description="Bureau and auditor: the figures the district's reports quote.",
    response_model=list[CountOut],
    responses=ERROR_RESPONSES,
)
async def award_counts(
    principal: CurrentPrincipal, session: DbSession, runtime: RuntimeDep
) -> list[CountOut]:
    rows = await RegistryService(session, runtime.clock).counts(principal)
    return [CountOut(**r) for r in rows]


@router.get(
    "/api/programmes/awards/breakdown",
    summary="Award holders per township, industry class or chain",
    description=(
        "Bureau and auditor: enterprises holding each programme's title per group (`by`: "
        "township, industry, chain). An enterprise counts once per programme in each of its "
        "groups (every chain it is confirmed in); without a township or class it counts under "
        "the empty group. `current` (default true): only awards in force today."
    ),
    response_model=list[HolderCountOut],
    responses=ERROR_RESPONSES,
)
async def award_breakdown(
    principal: CurrentPrincipal,
    session: DbSession,
    runtime: RuntimeDep,
    by: Annotated[str, Query(pattern="^(" + "|".join(BREAKDOWNS) + ")$", examples=["township"])],
    programme_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    current: bool = True,
) -> list[HolderCountOut]:
    rows = await holders_by(
        session, principal, by, today=runtime.clock.now().date(), programme_id=programme_id,
        current=current,
    )  # fmt: skip
    return [
        HolderCountOut(
            group=r.group,
            name_zh=r.name_zh,
            name_en=r.name_en,
            programme=r.programme,
            count=r.count,
        )
        for r in rows
    ]


@router.get(
    "/api/programmes/awards/export",
    summary="Export the registry as xlsx",
    description="Bureau and auditor; the layout imports back.",
    response_class=Response,
    responses=ERROR_RESPONSES,
)
async def export_awards(
    principal: CurrentPrincipal,
    session: DbSession,
    runtime: RuntimeDep,
    programme_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    year: Annotated[int | None, Query(ge=1990, le=2100)] = None,
) -> Response:
    content = await RegistryService(session, runtime.clock).export_xlsx(
        principal, AwardFilter(programme_id=programme_id, year=year)
    )
    return Response(
        content,
        media_type=XLSX,
        headers={"Content-Disposition": 'attachment; filename="programme-awards.xlsx"'},
    )


@router.post(
    "/api/programmes/awards/import",
    summary="Import awards from xlsx or CSV",
    description="Bureau. Columns `programme` (key or name), `credit_code`, `since` "
    "(YYYY-MM-DD), optional `grade`, `until`, `level`, `year`, `note` (or the Chinese headers "
    "项目, 统一社会信用代码, 认定日期, 等级, 有效期至 …). All-or-nothing unless `skip_invalid`.",
    response_model=ImportReportOut,
    responses={**ERROR_RESPONSES, 400: {"description": "Not a readable xlsx or CSV file"}},
)
async def import_registry(
    file: ImportFile,
    principal: CurrentPrincipal,
    session: DbSession,
    runtime: RuntimeDep,
    skip_invalid: SkipInvalid = False,
    dry_run: DryRun = False,
) -> ImportReportOut:
    return await import_upload(
        file,
        lambda name, content: import_awards(
            session,
            runtime.clock,
            principal,
            name,
            content,
            skip_invalid=skip_invalid,
            dry_run=dry_run,
        ),
    )


# A programme's own application form (its XForm and the applicant's submission).
router.include_router(form_router)
