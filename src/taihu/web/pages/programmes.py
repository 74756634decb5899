"""Console pages of programmes, applications with their stage actions, the award registry.

The list; a programme with its applications; an application with its stage actions; the award
registry with import, export and expiry reminders.

Enterprise users apply and follow their own applications; the bureau reviews (the district's
stage on the platform, the upper stages' outcomes entered from their notices).
"""

from __future__ import annotations

import secrets
from datetime import UTC
from typing import Annotated, Any, cast

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from taihu.accounts import Permission, SessionInfo, may
from taihu.core import DbSession, Id, RuntimeDep, TaihuError, read_upload
from taihu.enterprises import EnterpriseService
from taihu.identifiers import MAX_DOCUMENT
from taihu.programmes import (
    BREAKDOWNS,
    DECISION_LABELS,
    LEVEL_LABELS,
    STAGE_LABELS,
    STATUS_LABELS,
    XLSX,
    ApplicationForm,
    AwardFilter,
    ProgrammeApplications,
    ProgrammeService,
    RegistryService,
    attachment,
    holders_by,
    import_awards,
    list_documents,
    uploads_of,
)
from taihu.surveys import Review, SubmissionFilter
from taihu.web import clock_format
from taihu.web.console import Signed, guard, render_page
from taihu.web.i18n import current_language, gettext_
from taihu.web.survey_answers import SurveyAnswers, label_in

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


def _labels() -> dict[str, Any]:
    def label(table: dict[str, str]) -> Any:
        return lambda key: gettext_(table[key]) if key in table else key

    return {
        "zh": current_language.get() == "zh_CN",
        "level_label": label(LEVEL_LABELS),
        "stage_label": label(STAGE_LABELS),
        "status_label": label(STATUS_LABELS),
        "decision_label": label(DECISION_LABELS),
        "question": lambda row: (
            label_in(row.get("label") or {}, current_language.get()) or row["path"]
        ),
    }


def _page(request: Request, name: str, who: SessionInfo, **context: Any) -> HTMLResponse:
    return render_page(request, name, who, **_labels(), **context)


def _denied(request: Request, who: SessionInfo, exc: TaihuError) -> HTMLResponse:
    return render_page(
        request, "denied.html", who, status_code=exc.status, message=exc.text(gettext_)
    )


def _csrf_ok(who: SessionInfo, csrf: str) -> bool:
    return secrets.compare_digest(csrf, who.csrf_token)


async def _browser_uploads(request: Request) -> list[tuple[str, Any]]:
    """The form's (kind, file) pairs in order, empty file fields included.

    A browser sends a file field left empty as a part with an empty file name, which FastAPI's
    ``list[UploadFile]`` parameter leaves out: the kinds and files would no longer pair up. The
    parsed form (cached on the request) still holds every part.
    """
    form = await request.form()
    kinds = [k for k in form.getlist("kind") if isinstance(k, str)]
    files = cast("list[UploadFile | str]", form.getlist("file"))
    return await uploads_of(kinds, files)


async def _names(session: DbSession, runtime: RuntimeDep, who: SessionInfo) -> dict[int, Any]:
    rows, _ = await EnterpriseService(session, runtime.clock).list(who.principal, limit=5000)
    return {e.id: e for e in rows}


async def _submissions(
    session: DbSession, runtime: RuntimeDep, who: SessionInfo, form_id: str | None, own: list[Any]
) -> list[tuple[Any, Any]]:
    """The applicant's enterprises' submissions of a programme's survey form, newest first."""
    if form_id is None or not own:
        return []
    review = Review(session, runtime.clock)
    found = []
    for enterprise in own:
        try:
            rows, _ = await review.find(
                who.principal, form_id, SubmissionFilter(enterprise_id=enterprise.id),
                limit=20, offset=0,
            )  # fmt: skip
        except TaihuError:
            return []  # the form is not (or no longer) a survey: the page says how to fill it
        found += [(enterprise, submission) for submission, _ in rows]
    return found


@router.get("/programmes", response_class=HTMLResponse)
async def programmes_page(
    request: Request, who: Signed, session: DbSession, runtime: RuntimeDep
) -> HTMLResponse:
    programmes = await ProgrammeService(session, runtime.clock).all()
    applications = await ProgrammeApplications(session, runtime.clock).all(who.principal)
    return _page(
        request,
        "programmes/list.html",
        who,
        programmes=programmes,
        applications=applications[:100],
        by_id={p.id: p for p in programmes},
        enterprises=await _names(session, runtime, who),
        reviewer=may(who.principal, Permission.REVIEW_PROGRAMMES),
    )


@router.get("/programmes/{programme_id:int}", response_class=HTMLResponse)
async def programme_page(
    request: Request,
    programme_id: Id,
    who: Signed,
    session: DbSession,
    runtime: RuntimeDep,
    error: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    try:
        programme = await ProgrammeService(session, runtime.clock).get(programme_id)
    except TaihuError as exc:
        return _denied(request, who, exc)
    applications = await ProgrammeApplications(session, runtime.clock).all(
        who.principal, programme_id=programme_id
    )
    enterprises = await _names(session, runtime, who)
    own = [enterprises[e] for e in sorted(who.principal.enterprise_ids) if e in enterprises]
    return _page(
        request,
        "programmes/programme.html",
        who,
        submissions=await _submissions(session, runtime, who, programme.form_id, own),
        programme=programme,
        applications=applications,
        enterprises=enterprises,
        own=own,
        error=error,
        status_code=status_code,
        max_mb=MAX_DOCUMENT >> 20,
    )


@router.post("/programmes/apply", response_model=None)
async def apply_submit(
    request: Request,
    who: Signed,
    session: DbSession,
    runtime: RuntimeDep,
    # Declared so that the body limit of uploads applies; read with _browser_uploads.
    file: Annotated[list[UploadFile | str] | None, File()] = None,
    kind: Annotated[list[str] | None, Form()] = None,
    csrf: Annotated[str, Form(max_length=128)] = "",
    programme_id: Annotated[int, Form(ge=0)] = 0,
    enterprise_id: Annotated[int, Form(ge=0)] = 0,
    contact_name: Annotated[str, Form(max_length=80)] = "",
    contact_phone: Annotated[str, Form(max_length=40)] = "",
    summary: Annotated[str, Form(max_length=4000)] = "",
    instance_id: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    del file, kind  # every part in order from the parsed form (_browser_uploads)
    if not _csrf_ok(who, csrf):
        return Response(gettext_("Missing or wrong CSRF token."), status_code=403)
    forms = SurveyAnswers(session, runtime.clock)
    applications = ProgrammeApplications(session, runtime.clock, forms)
    try:
        async with session.begin_nested():  # a refusal leaves nothing of the application
            row = await applications.apply(
                who.principal,
                programme_id,
                enterprise_id,
                ApplicationForm(contact_name, contact_phone, summary),
                await _browser_uploads(request),
                instance_id,
            )
    except TaihuError as exc:
        return await programme_page(
            request,
            programme_id,
            who,
            session,
            runtime,
            error=exc.text(gettext_),
            status_code=exc.status,
        )
    return RedirectResponse(f"/programmes/applications/{row.id}", status_code=303)


@router.get("/programmes/applications/{application_id}", response_class=HTMLResponse)
async def application_page(
    request: Request,
    application_id: Id,
    who: Signed,
    session: DbSession,
    runtime: RuntimeDep,
    error: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    applications = ProgrammeApplications(session, runtime.clock)
    try:
        row = await applications.get(who.principal, application_id)
    except TaihuError as exc:
        return _denied(request, who, exc)
    programme = await applications.programme_of(row)
    enterprise = await EnterpriseService(session, runtime.clock).get(
        who.principal, row.enterprise_id
    )
    reviewer = may(who.principal, Permission.REVIEW_PROGRAMMES)
    applicant = row.enterprise_id in who.principal.enterprise_ids or who.principal.is_admin
    return _page(
        request,
        "programmes/application.html",
        who,
        application=row,
        programme=programme,
        enterprise=enterprise,
        steps=await applications.steps(who.principal, row.id),
        documents=await list_documents(session, row.id),
        reviewer=reviewer,
        reader=may(who.principal, Permission.VIEW_PROGRAMME_REGISTRY),
        applicant=applicant,
        can_return=row.stage == programme.stages[1],
        last_stage=row.stage == programme.stages[-1],
        error=error,
        status_code=status_code,
        today=runtime.clock.now().date(),
    )


async def _application_refused(
    request: Request,
    application_id: int,
    who: SessionInfo,
    session: DbSession,
    runtime: RuntimeDep,
    message: str,
    status_code: int,
) -> HTMLResponse:
    """The application's page again, with why a step on it was refused."""
    return await application_page(
        request, application_id, who, session, runtime, error=message, status_code=status_code
    )


@router.post("/programmes/decide", response_model=None)
async def decide_submit(
    request: Request,
    who: Signed,
    session: DbSession,
    runtime: RuntimeDep,
    file: Annotated[UploadFile | str | None, File()] = None,
    csrf: Annotated[str, Form(max_length=128)] = "",
    application_id: Annotated[int, Form(ge=0)] = 0,
    decision: Annotated[str, Form(max_length=16)] = "",
    comment: Annotated[str, Form(max_length=1000)] = "",
    grade: Annotated[str, Form(max_length=32)] = "",
    since: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    if not _csrf_ok(who, csrf):
        return Response(gettext_("Missing or wrong CSRF token."), status_code=403)
    applications = ProgrammeApplications(session, runtime.clock)
    try:
        async with session.begin_nested():
            uploads = await uploads_of(["notice"], [file])
            when = clock_format.read_day(since) if since.strip() else None
            if since.strip() and when is None:  # the page language's form, as the field shows it
                raise ValueError(since)
            await applications.decide(
                who.principal,
                application_id,
                decision,
                comment,
                grade=grade,
                since=when,
                uploads=uploads,
            )
    except ValueError:
        sample = clock_format.when(clock_format.SAMPLE_DAY, UTC, current_language.get())
        message = gettext_("Not a date: write it as %(day)s") % {"day": sample}
        return await _application_refused(
            request, application_id, who, session, runtime, message, 400
        )
    except TaihuError as exc:
        return await _application_refused(
            request, application_id, who, session, runtime, exc.text(gettext_), exc.status
        )
    return RedirectResponse(f"/programmes/applications/{application_id}", status_code=303)


@router.post("/programmes/resubmit", response_model=None)
async def resubmit_submit(
    request: Request,
    who: Signed,
    session: DbSession,
    runtime: RuntimeDep,
    file: Annotated[list[UploadFile | str] | None, File()] = None,
    kind: Annotated[list[str] | None, Form()] = None,
    csrf: Annotated[str, Form(max_length=128)] = "",
    application_id: Annotated[int, Form(ge=0)] = 0,
    action: Annotated[str, Form(max_length=16)] = "resubmit",
    summary: Annotated[str, Form(max_length=4000)] = "",
    comment: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    del file, kind  # every part in order from the parsed form (_browser_uploads)
    if not _csrf_ok(who, csrf):
        return Response(gettext_("Missing or wrong CSRF token."), status_code=403)
    applications = ProgrammeApplications(session, runtime.clock)
    try:
        async with session.begin_nested():
            if action == "withdraw":
                await applications.withdraw(who.principal, application_id, comment)
            else:
                row = await applications.get(who.principal, application_id)
                form = (
                    ApplicationForm(row.form["contact_name"], row.form["contact_phone"], summary)
                    if summary.strip()
                    else None
                )
                await applications.resubmit(
                    who.principal,
                    application_id,
                    form,
                    await _browser_uploads(request),
                    comment,
                )
    except TaihuError as exc:
        return await _application_refused(
            request, application_id, who, session, runtime, exc.text(gettext_), exc.status
        )
    return RedirectResponse(f"/programmes/applications/{application_id}", status_code=303)


@router.get(
    "/programmes/applications/{application_id}/documents/{document_id}", response_model=None
)
async def document_download(
    request: Request,
    application_id: Id,
    document_id: Id,
    who: Signed,
    session: DbSession,
    runtime: RuntimeDep,
) -> Response:
    try:
        row = await ProgrammeApplications(session, runtime.clock).read_document(
            who.principal, application_id, document_id
        )
    except TaihuError as exc:
        return _denied(request, who, exc)
    return attachment(row.filename, row.content_type, row.content)


def _holders_chart(holders: list[Any], programmes: list[Any], language: str) -> dict[str, Any]:
    """The breakdown as a stacked bar chart's data: groups along, one series per programme."""
    english = language.startswith("en")
    groups: dict[str, str] = {}
    for h in holders:
        groups.setdefault(
            h.group, (h.name_en if english else h.name_zh) or gettext_("Not recorded")
        )
    names = {p.key: p.name_en if english else p.name_zh for p in programmes}
    series = []
    for key in sorted({h.programme for h in holders}):
        count = {h.group: h.count for h in holders if h.programme == key}
        series.append({"name": names.get(key, key), "data": [count.get(g, 0) for g in groups]})
    return {"groups": list(groups.values()), "series": series}


def _trend_chart(counts: list[dict[str, Any]], language: str) -> dict[str, Any]:
    """Awards per year, one line per programme (its levels summed): the trend reports quote."""
    english = language.startswith("en")
    years = sorted({c["year"] for c in counts})
    per: dict[str, dict[int, int]] = {}
    names: dict[str, str] = {}
    for c in counts:
        names[c["programme"]] = c["name_en"] if english else c["name_zh"]
        by_year = per.setdefault(c["programme"], {})
        by_year[c["year"]] = by_year.get(c["year"], 0) + c["count"]
    series = [
        {"name": names[key], "data": [per[key].get(y, 0) for y in years]} for key in sorted(per)
    ]
    return {"years": [str(y) for y in years], "series": series}


async def _registry(
    request: Request,
    who: SessionInfo,
    session: DbSession,
    runtime: RuntimeDep,
    where: AwardFilter,
    days: int,
    by: str = "township",
    **context: Any,
) -> HTMLResponse:
    registry = RegistryService(session, runtime.clock)
    programmes = await ProgrammeService(session, runtime.clock).all()
    holders = await holders_by(
        session, who.principal, by, today=runtime.clock.now().date(),
        programme_id=where.programme_id,
    )  # fmt: skip
    counts = await registry.counts(who.principal)
    return _page(
        request,
        "programmes/registry.html",
        who,
        programmes=programmes,
        where=where,
        days=days,
        by=by,
        breakdowns=BREAKDOWNS,
        holders=holders,
        holders_chart=_holders_chart(holders, programmes, current_language.get()),
        awards=await registry.awards(who.principal, where),
        expiring=await registry.awards(who.principal, expiring_days=days),
        counts=counts,
        trend_chart=_trend_chart(counts, current_language.get()),
        importer=may(who.principal, Permission.REVIEW_PROGRAMMES),
        **context,
    )


@router.get(
    "/programmes/registry",
    response_class=HTMLResponse,
    dependencies=guard(Permission.VIEW_PROGRAMME_REGISTRY),
)
async def registry_page(
    request: Request,
    who: Signed,
    session: DbSession,
    runtime: RuntimeDep,
    programme: Annotated[int | None, Query(ge=1)] = None,
    year: Annotated[int | None, Query(ge=1990, le=2100)] = None,
    days: Annotated[int, Query(ge=0, le=3660)] = 90,
    by: Annotated[str, Query(pattern="^(" + "|".join(BREAKDOWNS) + ")$")] = "township",
) -> HTMLResponse:
    where = AwardFilter(programme_id=programme, year=year)
    return await _registry(request, who, session, runtime, where, days, by)


@router.get(
    "/programmes/registry/export",
    response_model=None,
    dependencies=guard(Permission.VIEW_PROGRAMME_REGISTRY),
)
async def registry_export(
    who: Signed,
    session: DbSession,
    runtime: RuntimeDep,
    programme: Annotated[int | None, Query(ge=1)] = None,
    year: Annotated[int | None, Query(ge=1990, le=2100)] = None,
) -> Response:
    content = await RegistryService(session, runtime.clock).export_xlsx(
        who.principal, AwardFilter(programme_id=programme, year=year)
    )
    return Response(
        content,
        media_type=XLSX,
        headers={"Content-Disposition": 'attachment; filename="programme-awards.xlsx"'},
    )


@router.post(
    "/programmes/registry/import",
    response_model=None,
    dependencies=guard(Permission.REVIEW_PROGRAMMES),
)
async def registry_import(
    request: Request,
    who: Signed,
    session: DbSession,
    runtime: RuntimeDep,
    file: Annotated[UploadFile, File()],
    csrf: Annotated[str, Form(max_length=128)] = "",
    skip_invalid: Annotated[bool, Form()] = False,
    dry_run: Annotated[bool, Form()] = False,
) -> Response:
    if not _csrf_ok(who, csrf):
        return Response(gettext_("Missing or wrong CSRF token."), status_code=403)
    report, error, status_code = None, "", 200
    try:
        async with session.begin_nested():
            report = await import_awards(
                session,
                runtime.clock,
                who.principal,
                file.filename or "upload.csv",
                await read_upload(file),
                skip_invalid=skip_invalid,
                dry_run=dry_run,
            )
    except TaihuError as exc:
        error, status_code = exc.text(gettext_), exc.status
    return await _registry(
        request,
        who,
        session,
        runtime,
        AwardFilter(),
        90,
        report=report,
        error=error,
        status_code=status_code,
    )
