"""HTTP routes of the surveys: forms and versions, assignments, app users, review, exports."""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Query, Response, UploadFile, status
from fastapi.responses import FileResponse, StreamingResponse
from starlette.background import BackgroundTask

from taihu.accounts import ERROR_RESPONSES, CurrentPrincipal
from taihu.core import DbSession, Id, PageNumber, PageSize, RuntimeDep, read_upload
from taihu.surveys.intake import Intake
from taihu.surveys.review import Review, SubmissionFilter
from taihu.surveys.schemas import (
    AppUserIn,
    AppUserOut,
    AssignIn,
    AssignOut,
    CommentIn,
    DraftTokenOut,
    EditIn,
    EventOut,
    MySurveyOut,
    ResponseRateOut,
    ReviewIn,
    StateIn,
    SubmissionDetailOut,
    SubmissionOut,
    SubmissionPage,
    SurveyDetailOut,
    SurveyOut,
    UploadOut,
    VersionOut,
)
from taihu.surveys.service import SurveyService

__all__ = ["router"]

router = APIRouter(tags=["surveys"])
_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such survey or submission"}}
_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _surveys(session: DbSession, runtime: RuntimeDep) -> SurveyService:
    return SurveyService(session, runtime.clock)


def _intake(session: DbSession, runtime: RuntimeDep) -> Intake:
    return Intake(session, runtime.clock)


def _review(session: DbSession, runtime: RuntimeDep) -> Review:
    return Review(session, runtime.clock)


Surveys = Annotated[SurveyService, Depends(_surveys)]
IntakeDep = Annotated[Intake, Depends(_intake)]
ReviewDep = Annotated[Review, Depends(_review)]


async def _published(surveys: SurveyService, principal: Any, form_id: str) -> str | None:
    versions = await surveys.versions(principal, form_id)
    return next((v.version for v in versions if v.state == "published"), None)


@router.get(
    "/api/surveys",
    summary="Surveys",
    description="Every survey, newest first. Staff roles.",
    response_model=list[SurveyOut],
    responses=ERROR_RESPONSES,
)
async def list_surveys(principal: CurrentPrincipal, surveys: Surveys) -> list[SurveyOut]:
    return [
        SurveyOut.of(s, await _published(surveys, principal, s.form_id))
        for s in await surveys.every(principal)
    ]


@router.post(
    "/api/surveys",
    summary="Upload an XLSForm",
    description="Converts the XLSForm with pyxform and keeps it as the draft of the form its "
    "`form_id` names (a new survey, or a new version of one: change `version` on the settings "
    "sheet). 400 `bad_xlsform` carries `details.sheet` and `details.row` when pyxform names "
    "them. Bureau and admins. Audited.",
    status_code=status.HTTP_201_CREATED,
    response_model=UploadOut,
    responses={**ERROR_RESPONSES, 409: {"description": "That version exists already"}},
)
async def upload_form(
    principal: CurrentPrincipal,
    surveys: Surveys,
    file: Annotated[UploadFile, File(description="The XLSForm (.xlsx or .xls)")],
) -> UploadOut:
    content = await read_upload(file)
    uploaded = await surveys.upload(principal, content, file.filename or "form.xlsx")
    return UploadOut(
        form_id=uploaded.survey.form_id,
        version=VersionOut.of(uploaded.version),
        draft_token=uploaded.draft_token,
        warnings=uploaded.warnings,
    )


@router.get(
    "/api/surveys/{form_id}",
    summary="A survey",
    description="Its versions (draft, published, retired) and response rate. Staff roles.",
    response_model=SurveyDetailOut,
    responses={**ERROR_RESPONSES, **_NOT_FOUND},
)
async def get_survey(
    form_id: str, principal: CurrentPrincipal, surveys: Surveys
) -> SurveyDetailOut:
    survey = await surveys.get(principal, form_id)
    versions = await surveys.versions(principal, form_id)
    published = next((v.version for v in versions if v.state == "published"), None)
    rate = await surveys.response_rate(principal, form_id)
    return SurveyDetailOut(
        **SurveyOut.of(survey, published).model_dump(),
        versions=[VersionOut.of(v) for v in versions],
        response=ResponseRateOut.of(rate),
    )


@router.post(
    "/api/surveys/{form_id}/media",
    summary="Upload a media file of the draft",
    description="A file the draft's form names (a `select_one_from_file` list, an image); it is "
    "listed in the OpenRosa manifest. Bureau and admins. Audited.",
    status_code=status.HTTP_201_CREATED,
    response_model=VersionOut,
    responses={**ERROR_RESPONSES, **_NOT_FOUND},
)
async def upload_media(
    form_id: str,
    principal: CurrentPrincipal,
    surveys: Surveys,
    file: Annotated[UploadFile, File(description="The media file, named as the form names it")],
) -> VersionOut:
    content = await read_upload(file)
    await surveys.attach_media(
        principal, form_id, file.filename or "", file.content_type or "", content
    )
    return VersionOut.of(await surveys.draft(await surveys.get(principal, form_id)))


@router.post(
    "/api/surveys/{form_id}/publish",
    summary="Publish the draft",
    description="Devices get the new version; the previous one retires (submissions made with it "
    "are still taken and keep their version); the draft's test submissions are dropped. "
    "409 `no_draft`, `media_missing`. Bureau and admins. Audited.",
    response_model=VersionOut,
    responses={**ERROR_RESPONSES, **_NOT_FOUND},
)
async def publish(form_id: str, principal: CurrentPrincipal, surveys: Surveys) -> VersionOut:
    return VersionOut.of(await surveys.publish(principal, form_id))


@router.post(
    "/api/surveys/{form_id}/draft-token",
    summary="A new draft test token",
    description="For `/openrosa/test/{token}`; the previous one stops working. Bureau and admins.",
    response_model=DraftTokenOut,
    responses={**ERROR_RESPONSES, **_NOT_FOUND},
)
async def draft_token(form_id: str, principal: CurrentPrincipal, surveys: Surveys) -> DraftTokenOut:
    return DraftTokenOut(draft_token=await surveys.new_draft_token(principal, form_id))


@router.put(
    "/api/surveys/{form_id}/state",
    summary="Open or close a survey",
    description="A closed survey leaves devices' form lists and takes no submissions. Audited.",
    response_model=SurveyOut,
    responses={**ERROR_RESPONSES, **_NOT_FOUND},
)
async def set_state(
    form_id: str, body: StateIn, principal: CurrentPrincipal, surveys: Surveys
) -> SurveyOut:
    survey = await surveys.set_state(principal, form_id, body.state)
    return SurveyOut.of(survey, await _published(surveys, principal, form_id))


@router.post(
    "/api/surveys/{form_id}/assignments",
    summary="Assign a survey",
    description="Ask all enterprises, a township's, an industry class's (a GB/T 4754 code or "
    "prefix) or selected ones (ids) to answer by a deadline; an enterprise already asked gets "
    "the new deadline. Bureau and admins. Audited.",
    status_code=status.HTTP_201_CREATED,
    response_model=AssignOut,
    responses={**ERROR_RESPONSES, **_NOT_FOUND},
)
async def assign(
    form_id: str, body: AssignIn, principal: CurrentPrincipal, surveys: Surveys
) -> AssignOut:
    assignment, count = await surveys.assign(
        principal, form_id, body.scope, body.value, body.deadline
    )
    return AssignOut(
        id=assignment.id,
        scope=assignment.scope,
        value=assignment.scope_value,
        deadline=assignment.deadline,
        enterprises=count,
    )


@router.get(
    "/api/my-surveys",
    summary="Surveys asked of my enterprises",
    description="The open surveys asked of the caller's enterprises, soonest deadline first, "
    "with whether each enterprise has answered.",
    response_model=list[MySurveyOut],
    responses=ERROR_RESPONSES,
)
async def my_surveys(principal: CurrentPrincipal, surveys: Surveys) -> list[MySurveyOut]:
    return [MySurveyOut.of(m) for m in await surveys.mine(principal)]


@router.get(
    "/api/survey-app-users",
    summary="App users",
    description="Every app user for staff; an enterprise user's own enterprises' otherwise.",
    response_model=list[AppUserOut],
    responses=ERROR_RESPONSES,
)
async def list_app_users(principal: CurrentPrincipal, intake: IntakeDep) -> list[AppUserOut]:
    return [AppUserOut.of(u) for u in await intake.list_app_users(principal)]


@router.post(
    "/api/survey-app-users",
    summary="Create an app user",
    description="A device login for ODK Collect, tied to an enterprise (its own users or the "
    "bureau) or, without one, to a bureau surveyor. The token is shown once; Collect's server "
    "URL is `{base}/openrosa/key/{token}`. Audited.",
    status_code=status.HTTP_201_CREATED,
    response_model=AppUserOut,
    responses={**ERROR_RESPONSES, 404: {"description": "No such enterprise"}},
)
async def create_app_user(
    body: AppUserIn, principal: CurrentPrincipal, intake: IntakeDep
) -> AppUserOut:
    issued = await intake.create_app_user(
        principal,
        body.display_name,
        enterprise_id=body.enterprise_id,
        surveyor_user_id=principal.user_id,
    )
    return AppUserOut.of(issued.app_user, issued.token)


@router.delete(
    "/api/survey-app-users/{app_user_id}",
    summary="Revoke an app user",
    description="Its token stops working at once. Audited.",
    response_model=AppUserOut,
    responses={**ERROR_RESPONSES, 404: {"description": "No such app user"}},
)
async def revoke_app_user(
    app_user_id: Id, principal: CurrentPrincipal, intake: IntakeDep
) -> AppUserOut:
    return AppUserOut.of(await intake.revoke_app_user(principal, app_user_id))


@router.get(
    "/api/surveys/{form_id}/submissions",
    summary="Submissions of a survey",
    description="Newest first; filter by `review_state` and `enterprise_id`; `test` adds the "
    "draft's test submissions. Enterprise users see their own enterprises'.",
    response_model=SubmissionPage,
    responses={**ERROR_RESPONSES, **_NOT_FOUND},
)
async def list_submissions(
    form_id: str,
    principal: CurrentPrincipal,
    review: ReviewDep,
    review_state: Annotated[str | None, Query(max_length=16)] = None,
    enterprise_id: Id | None = None,
    test: bool = False,
    page: PageNumber = 1,
    page_size: PageSize = 50,
) -> SubmissionPage:
    where = SubmissionFilter(
        review_state=review_state, enterprise_id=enterprise_id, include_test=test
    )
    rows, total = await review.find(
        principal, form_id, where, limit=page_size, offset=(page - 1) * page_size
    )
    return SubmissionPage(
        items=[SubmissionOut.of(s, v) for s, v in rows], total=total, page=page, page_size=page_size
    )


async def _detail(
    review: Review, principal: Any, form_id: str, instance_id: str
) -> SubmissionDetailOut:
    submission = await review.get(principal, form_id, instance_id)
    version = await review.version_of(submission)
    return SubmissionDetailOut(
        **SubmissionOut.of(submission, version).model_dump(),
        data=submission.data,
        attachments=[a.name for a in await review.attachments(principal, form_id, instance_id)],
        events=[EventOut.of(e) for e in await review.history(principal, form_id, instance_id)],
    )


@router.get(
    "/api/surveys/{form_id}/submissions/{instance_id}",
    summary="A submission",
    description="Its answers (as edited), attachments and history.",
    response_model=SubmissionDetailOut,
    responses={**ERROR_RESPONSES, **_NOT_FOUND},
)
async def get_submission(
    form_id: str, instance_id: str, principal: CurrentPrincipal, review: ReviewDep
) -> SubmissionDetailOut:
    return await _detail(review, principal, form_id, instance_id)


@router.post(
    "/api/surveys/{form_id}/submissions/{instance_id}/review",
    summary="Review a submission",
    description="`hasIssues`, `approved` or `rejected`, with a comment. Bureau and admins. "
    "Audited.",
    response_model=SubmissionDetailOut,
    responses={**ERROR_RESPONSES, **_NOT_FOUND},
)
async def review_submission(
    form_id: str, instance_id: str, body: ReviewIn, principal: CurrentPrincipal, review: ReviewDep
) -> SubmissionDetailOut:
    await review.set_state(principal, form_id, instance_id, body.review_state, body.comment)
    return await _detail(review, principal, form_id, instance_id)


@router.post(
    "/api/surveys/{form_id}/submissions/{instance_id}/comments",
    summary="Comment on a submission",
    description="The bureau, or the answering enterprise's users. Audited.",
    status_code=status.HTTP_201_CREATED,
    response_model=EventOut,
    responses={**ERROR_RESPONSES, **_NOT_FOUND},
)
async def comment(
    form_id: str, instance_id: str, body: CommentIn, principal: CurrentPrincipal, review: ReviewDep
) -> EventOut:
    return EventOut.of(await review.comment(principal, form_id, instance_id, body.comment))


@router.post(
    "/api/surveys/{form_id}/submissions/{instance_id}/edits",
    summary="Edit an answer",
    description="The answer at `path` (`suppliers[2]/share` inside a repeat) takes `value`; the "
    "submission becomes `edited` and its history keeps who, when, before and after. The XML as "
    "it arrived is kept unchanged. Bureau and admins. Audited.",
    response_model=SubmissionDetailOut,
    responses={**ERROR_RESPONSES, **_NOT_FOUND},
)
async def edit(
    form_id: str, instance_id: str, body: EditIn, principal: CurrentPrincipal, review: ReviewDep
) -> SubmissionDetailOut:
    await review.edit(principal, form_id, instance_id, body.path, body.value, body.comment)
    return await _detail(review, principal, form_id, instance_id)


@router.get(
    "/api/surveys/{form_id}/export",
    summary="Export submissions",
    description="`format=xlsx`: a workbook with a sheet for the form and one per repeat; "
    "`format=csv`: a zip of the same tables as CSV files. Columns span every version; repeat "
    "rows carry `PARENT_KEY` and `KEY`. The rows are read in batches: the workbook is spooled "
    "to a file and sent with its `Content-Length`; the zip is sent as it is written (chunked), "
    "the form's table first. Staff roles.",
    response_class=Response,
    responses={
        **ERROR_RESPONSES,
        **_NOT_FOUND,
        200: {"content": {_XLSX: {}, "application/zip": {}}, "description": "The file"},
    },
)
async def export(
    form_id: str,
    principal: CurrentPrincipal,
    review: ReviewDep,
    runtime: RuntimeDep,
    format: Literal["xlsx", "csv"] = "xlsx",
) -> Response:
    if format == "csv":
        # Checked now, so a refusal is a status; the rows follow in a session of the stream's
        # own (the request's has ended when the body is sent).
        plan = await review.export_plan(principal, form_id)

        async def body() -> AsyncIterator[bytes]:
            async with runtime.db.session() as session:
                async for chunk in Review(session, runtime.clock).stream_csv(plan):
                    yield chunk

        return StreamingResponse(
            body(),
            media_type="application/zip",
            headers={"Content-Disposition": f'attachment; filename="{form_id}-csv.zip"'},
        )
    handle, name = tempfile.mkstemp(prefix="taihu-export-", suffix=".xlsx")
    os.close(handle)
    target = Path(name)
    try:
        await review.export_to(principal, form_id, "xlsx", target)
    except BaseException:
        await asyncio.to_thread(target.unlink, missing_ok=True)
        raise
    return FileResponse(
        target,
        media_type=_XLSX,
        filename=f"{form_id}.xlsx",
        background=BackgroundTask(target.unlink, missing_ok=True),
    )
