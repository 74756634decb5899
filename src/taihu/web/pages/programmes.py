"""Console pages of programmes and of applications with their stage actions.

The list; a programme with its applications; an application with its stage actions. The award
registry's pages are in ``programme_registry``, which renders with ``labelled_page``.

Enterprise users apply and follow their own applications; the bureau reviews (the district's
stage on the platform, the upper stages' outcomes entered from their notices).
"""

from __future__ import annotations

import secrets
from datetime import UTC
from typing import Annotated, Any, cast

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from taihu.accounts import Permission, SessionInfo, may
from taihu.core import DbSession, Id, RuntimeDep, TaihuError
from taihu.enterprises import EnterpriseService
from taihu.identifiers import MAX_DOCUMENT
from taihu.programmes import (
    DECISION_LABELS,
    LEVEL_LABELS,
    STAGE_LABELS,
    STATUS_LABELS,
    ApplicationForm,
    ProgrammeApplications,
    ProgrammeService,
    attachment,
    list_documents,
    uploads_of,
)
from taihu.surveys import Review, SubmissionFilter
from taihu.web import clock_format
from taihu.web.console import Signed, render_page
from taihu.web.i18n import current_language, gettext_
from taihu.web.survey_answers import SurveyAnswers, label_in

__all__ = ["csrf_ok", "labelled_page", "router"]

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


def labelled_page(request: Request, name: str, who: SessionInfo, **context: Any) -> HTMLResponse:
    """A console page with the programmes' labels (levels, stages, statuses) in its context."""
    return render_page(request, name, who, **_labels(), **context)


def _denied(request: Request, who: SessionInfo, exc: TaihuError) -> HTMLResponse:
    return render_page(
        request, "denied.html", who, status_code=exc.status, message=exc.text(gettext_)
    )


def csrf_ok(who: SessionInfo, csrf: str) -> bool:
    """Whether a form's CSRF token is the session's."""
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
    return labelled_page(
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
    return labelled_page(
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
    if not csrf_ok(who, csrf):
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
    return labelled_page(
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
    if not csrf_ok(who, csrf):
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
    if not csrf_ok(who, csrf):
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
