"""Console pages of the surveys: the list and upload, a survey, a submission's review, mine.

The services decide who may see and do what; these pages only shape their answers. A refused
form (a pyxform problem with its sheet and row, a bad scope) comes back as the page's flash.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from taihu.accounts import Permission
from taihu.core import DbSession, Id, Message, RuntimeDep, TaihuError, read_upload
from taihu.surveys import Intake, Review, SubmissionFilter, SurveyService
from taihu.web import clock_format
from taihu.web.console import Signed, guard, render_page
from taihu.web.flash import flash
from taihu.web.i18n import N_, gettext_

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
Csrf = Annotated[str, Form(max_length=128)]
REVIEW_LABELS = {"received": N_("Received"), "hasIssues": N_("Has issues"),
                 "edited": N_("Edited"), "approved": N_("Approved"),
                 "rejected": N_("Rejected")}  # fmt: skip
STATE_LABELS = {"draft": N_("Draft"), "open": N_("Open"), "closed": N_("Closed"),
                "published": N_("Published"), "retired": N_("Retired")}  # fmt: skip


def _labels() -> dict[str, dict[str, str]]:
    return {"review": {k: gettext_(v) for k, v in REVIEW_LABELS.items()},
            "states": {k: gettext_(v) for k, v in STATE_LABELS.items()}}  # fmt: skip


def _back(request: Request, path: str, error: Message | TaihuError) -> Response:
    return flash(request, RedirectResponse(path, status_code=303), error)


def _forged() -> HTMLResponse:
    return HTMLResponse(gettext_("Missing or wrong CSRF token."), status_code=403)


@router.get("/surveys", response_class=HTMLResponse,
            dependencies=guard(Permission.VIEW_SURVEYS))  # fmt: skip
async def survey_list(
    request: Request, who: Signed, session: DbSession, runtime: RuntimeDep
) -> HTMLResponse:
    service = SurveyService(session, runtime.clock)
    rows = []
    for survey in await service.every(who.principal):
        rate = await service.response_rate(who.principal, survey.form_id)
        rows.append((survey, rate))
    return render_page(request, "surveys/list.html", who, rows=rows, labels=_labels(),
                       staff=who.principal.role.value in ("admin", "bureau"))  # fmt: skip


@router.post("/surveys", response_model=None)
async def upload_form(
    request: Request, who: Signed, session: DbSession, runtime: RuntimeDep,
    file: Annotated[UploadFile, File()], csrf: Csrf = "",
) -> Response:  # fmt: skip
    if csrf != who.csrf_token:
        return _forged()
    try:
        uploaded = await SurveyService(session, runtime.clock).upload(
            who.principal, await read_upload(file), file.filename or "form.xlsx"
        )
    except TaihuError as exc:
        await session.rollback()
        return _back(request, "/surveys", exc)
    # The draft's test token is shown once, on the survey page it leads to.
    return render_page(request, "surveys/uploaded.html", who, uploaded=uploaded,
                       base=str(request.base_url).rstrip("/"))  # fmt: skip


@router.get("/surveys/{form_id}", response_class=HTMLResponse,
            dependencies=guard(Permission.VIEW_SURVEYS))  # fmt: skip
async def survey_page(
    request: Request, form_id: str, who: Signed, session: DbSession, runtime: RuntimeDep
) -> HTMLResponse:
    service = SurveyService(session, runtime.clock)
    survey = await service.get(who.principal, form_id)
    review = Review(session, runtime.clock)
    submissions, total = await review.find(who.principal, form_id, SubmissionFilter(),
                                           limit=200, offset=0)  # fmt: skip
    return render_page(
        request, "surveys/survey.html", who, survey=survey,
        versions=await service.versions(who.principal, form_id),
        rate=await service.response_rate(who.principal, form_id),
        submissions=submissions, total=total, labels=_labels(),
        staff=who.principal.role.value in ("admin", "bureau"),
    )  # fmt: skip


@router.post("/surveys/{form_id}/publish", response_model=None)
async def publish(
    request: Request, form_id: str, who: Signed, session: DbSession, runtime: RuntimeDep,
    csrf: Csrf = "",
) -> Response:  # fmt: skip
    if csrf != who.csrf_token:
        return _forged()
    try:
        await SurveyService(session, runtime.clock).publish(who.principal, form_id)
    except TaihuError as exc:
        await session.rollback()
        return _back(request, f"/surveys/{form_id}", exc)
    return RedirectResponse(f"/surveys/{form_id}", status_code=303)


@router.post("/surveys/{form_id}/assign", response_model=None)
async def assign(
    request: Request, form_id: str, who: Signed, session: DbSession, runtime: RuntimeDep,
    scope: Annotated[str, Form(max_length=16)], deadline: Annotated[str, Form(max_length=32)],
    value: Annotated[str, Form(max_length=2000)] = "", csrf: Csrf = "",
) -> Response:  # fmt: skip
    if csrf != who.csrf_token:
        return _forged()
    when = clock_format.read_day(deadline)  # the page language's form, as the field shows it
    if when is None:
        return _back(request, f"/surveys/{form_id}", clock_format.not_a_day(N_("Deadline")))
    try:
        await SurveyService(session, runtime.clock).assign(who.principal, form_id, scope, value,
                                                           when)  # fmt: skip
    except TaihuError as exc:
        await session.rollback()
        return _back(request, f"/surveys/{form_id}", exc)
    return RedirectResponse(f"/surveys/{form_id}", status_code=303)


@router.get("/surveys/{form_id}/submissions/{instance_id}", response_class=HTMLResponse)
async def submission_page(
    request: Request, form_id: str, instance_id: str, who: Signed, session: DbSession,
    runtime: RuntimeDep,
) -> HTMLResponse:  # fmt: skip
    review = Review(session, runtime.clock)
    submission = await review.get(who.principal, form_id, instance_id)
    return render_page(
        request, "surveys/submission.html", who, form_id=form_id, submission=submission,
        version=await review.version_of(submission),
        events=await review.history(who.principal, form_id, instance_id),
        attachments=await review.attachments(who.principal, form_id, instance_id),
        labels=_labels(), staff=who.principal.role.value in ("admin", "bureau"),
    )  # fmt: skip


@router.post("/surveys/{form_id}/submissions/{instance_id}", response_model=None)
async def act_on_submission(
    request: Request, form_id: str, instance_id: str, who: Signed, session: DbSession,
    runtime: RuntimeDep, action: Annotated[str, Form(max_length=16)],
    review_state: Annotated[str, Form(max_length=16)] = "",
    path: Annotated[str, Form(max_length=300)] = "",
    value: Annotated[str, Form(max_length=10000)] = "",
    comment: Annotated[str, Form(max_length=2000)] = "", csrf: Csrf = "",
) -> Response:  # fmt: skip
    if csrf != who.csrf_token:
        return _forged()
    here = f"/surveys/{form_id}/submissions/{instance_id}"
    review = Review(session, runtime.clock)
    try:
        if action == "review":
            await review.set_state(who.principal, form_id, instance_id, review_state, comment)
        elif action == "edit":
            await review.edit(who.principal, form_id, instance_id, path, value, comment)
        else:
            await review.comment(who.principal, form_id, instance_id, comment)
    except TaihuError as exc:
        await session.rollback()
        return _back(request, here, exc)
    return RedirectResponse(here, status_code=303)


@router.get("/my-surveys", response_class=HTMLResponse)
async def my_surveys(
    request: Request, who: Signed, session: DbSession, runtime: RuntimeDep
) -> HTMLResponse:
    intake = Intake(session, runtime.clock)
    return render_page(
        request, "surveys/mine.html", who,
        asked=await SurveyService(session, runtime.clock).mine(who.principal),
        app_users=await intake.list_app_users(who.principal), token=None,
        base=str(request.base_url).rstrip("/"),
    )  # fmt: skip


@router.post("/my-surveys/app-users", response_model=None)
async def create_app_user(
    request: Request, who: Signed, session: DbSession, runtime: RuntimeDep,
    display_name: Annotated[str, Form(max_length=128)],
    enterprise_id: Annotated[Id | None, Form()] = None, csrf: Csrf = "",
) -> Response:  # fmt: skip
    if csrf != who.csrf_token:
        return _forged()
    intake = Intake(session, runtime.clock)
    try:
        issued = await intake.create_app_user(who.principal, display_name,
                                              enterprise_id=enterprise_id,
                                              surveyor_user_id=who.principal.user_id)  # fmt: skip
    except TaihuError as exc:
        await session.rollback()
        return _back(request, "/my-surveys", exc)
    # The token is shown once, on this answer; the list never shows it again.
    return render_page(
        request, "surveys/mine.html", who,
        asked=await SurveyService(session, runtime.clock).mine(who.principal),
        app_users=await intake.list_app_users(who.principal), token=issued.token,
        base=str(request.base_url).rstrip("/"),
    )  # fmt: skip
