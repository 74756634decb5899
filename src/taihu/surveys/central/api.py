"""ODK Central's REST API (a subset) under ``/v1``, so ``pyodk`` and Central's clients work.

Sign-in is Central's: ``POST /v1/sessions`` with ``email`` (a Taihu user name) and password
gives a bearer token (a Taihu API token living a day), throttled as every sign-in. Errors are
Central's ``{"code": 404.1, "message": …}``, with Taihu's code in ``details.error``. The routes
stay out of Taihu's OpenAPI schema: their reference is Central's own API documentation, and
docs/surveys.md lists the subset and where it differs.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from taihu.accounts import AccountService, CurrentPrincipal, Principal, client_address
from taihu.core import (
    MAX_UPLOAD,
    N_,
    DbSession,
    Id,
    RuntimeDep,
    TaihuError,
    TooManyRequests,
    reader_translation,
)
from taihu.surveys.central.odata import ODataError, parse_filter
from taihu.surveys.central.service import Central, bad_query
from taihu.surveys.central.shapes import (
    PROJECT_ID,
    comment_json,
    form_json,
    odata_row,
    repeat_rows,
    stamp,
    submission_json,
)
from taihu.surveys.models import Submission

__all__ = ["LARGE_BODIES", "router"]

# Central's error codes are the HTTP status with a decimal naming the kind of problem.
_CODES = {400: 400.1, 401: 401.2, 403: 403.1, 404: 404.1, 409: 409.3, 413: 413.1, 429: 429.1}
_PREFIX = "/v1/projects/{project_id}/forms/{form_id}"
_SUBMISSION = _PREFIX + "/submissions/{instance_id}"
# The XML of a submission and the files that follow it may be as large as an OpenRosa upload.
LARGE_BODIES = {
    f"{_PREFIX}/submissions": MAX_UPLOAD,
    f"{_SUBMISSION}/attachments/{{name}}": MAX_UPLOAD,
}


def _central_error(request: Request, status: int, code: str, message: str) -> JSONResponse:
    request.state.refusal = code  # the reason a refused write is audited with
    body = {"code": _CODES.get(status, float(f"{status}.1")), "message": message}
    return JSONResponse({**body, "details": {"error": code}}, status_code=status)


class _CentralRoute(APIRoute):
    """Answers every refusal in Central's error shape instead of Taihu's."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def _handle(request: Request) -> Response:
            try:
                return await handler(request)
            except TaihuError as exc:
                answer = _central_error(
                    request, exc.status, exc.code, exc.text(reader_translation())
                )
                if isinstance(exc, TooManyRequests):
                    answer.headers["Retry-After"] = str(exc.retry_after)
                if exc.status == 401:
                    answer.headers["WWW-Authenticate"] = 'Bearer realm="taihu"'
                return answer
            except RequestValidationError as exc:
                first = exc.errors()[0] if exc.errors() else {}
                where = ".".join(str(p) for p in first.get("loc", ()))
                message = f"{where}: {first.get('msg', 'invalid')}"
                return _central_error(request, 400, "validation_error", message)
            except HTTPException as exc:
                if exc.status_code >= 500:
                    raise
                return _central_error(request, exc.status_code, "http_error", str(exc.detail))

        return _handle


router = APIRouter(tags=["ODK Central"], route_class=_CentralRoute, include_in_schema=False)


def _central(session: DbSession, runtime: RuntimeDep) -> Central:
    return Central(session, runtime.clock)


CentralDep = Annotated[Central, Depends(_central)]


async def _project(project_id: Id) -> None:
    Central.project(project_id)


# Every route under /v1/projects/{project_id} checks the project first.
projects = APIRouter(
    route_class=_CentralRoute, include_in_schema=False, dependencies=[Depends(_project)]
)


class SessionIn(BaseModel):
    """Central's sign-in: the e-mail field carries a Taihu user name."""

    email: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class ReviewPatch(BaseModel):
    """Central's submission metadata update."""

    reviewState: str = Field(max_length=16)  # noqa: N815 - Central's field name


class CommentBody(BaseModel):
    """A comment's text."""

    body: str = Field(max_length=2000)


# -- sessions and users -----------------------------------------------------------------------


@router.post("/v1/sessions", summary="Sign in (ODK Central)")
async def sign_in(
    body: SessionIn, request: Request, session: DbSession, runtime: RuntimeDep
) -> dict[str, Any]:
    request.state.sign_in = body.email  # a refusal is audited (web/security_audit.py)
    accounts = AccountService(session, runtime.settings.security, runtime.clock)
    user = await accounts.login(body.email, body.password, client_address(request))
    principal = await accounts.principal_for(user)
    issued = await accounts.create_token(principal, user, name="ODK Central API", expires_days=1)
    return {
        "token": issued.plain,
        "csrf": "",
        "createdAt": stamp(issued.token.created_at),
        "expiresAt": stamp(issued.token.expires_at),
    }


@router.get("/v1/users/current", summary="The signed-in user (ODK Central)")
async def current_user(
    principal: CurrentPrincipal, session: DbSession, runtime: RuntimeDep
) -> dict[str, Any]:
    accounts = AccountService(session, runtime.settings.security, runtime.clock)
    user = await accounts.get_user(principal.name)
    return {
        "id": user.id,
        "type": "user",
        "displayName": user.display_name or user.username,
        "email": user.username,
        "createdAt": stamp(user.created_at),
        "updatedAt": None,
        "deletedAt": None,
    }


# -- projects and forms -----------------------------------------------------------------------


async def _project_json(principal: Principal, central: Central) -> dict[str, Any]:
    forms = await central.forms(principal)
    return {
        "id": PROJECT_ID,
        "name": reader_translation()(N_("Surveys")),
        "description": None,
        "archived": False,
        "keyId": None,
        "forms": len(forms),
        "appUsers": None,
        "lastSubmission": None,
        "createdAt": stamp(min((s.created_at for s, _ in forms), default=None))
        or "1970-01-01T00:00:00.000Z",
        "updatedAt": None,
        "deletedAt": None,
    }


@router.get("/v1/projects", summary="Projects (ODK Central)")
async def list_projects(principal: CurrentPrincipal, central: CentralDep) -> list[dict[str, Any]]:
    return [await _project_json(principal, central)]


@projects.get("/v1/projects/{project_id}", summary="A project (ODK Central)")
async def get_project(principal: CurrentPrincipal, central: CentralDep) -> dict[str, Any]:
    return await _project_json(principal, central)


@projects.get("/v1/projects/{project_id}/forms", summary="Forms (ODK Central)")
async def list_forms(principal: CurrentPrincipal, central: CentralDep) -> list[dict[str, Any]]:
    return [form_json(s, v) for s, v in await central.forms(principal)]


def _xml(text: str) -> Response:
    return Response(text, media_type="application/xml")


@projects.get(_PREFIX + ".xml", summary="A form's XForm (ODK Central)")
async def form_xml(form_id: str, principal: CurrentPrincipal, central: CentralDep) -> Response:
    return _xml((await central.form(principal, form_id))[1].xform)


@projects.get(_PREFIX + ".svc/{table}", summary="Submissions as OData (ODK Central)")
async def odata_table(
    request: Request,
    form_id: str,
    table: Annotated[str, Path(max_length=300)],
    principal: CurrentPrincipal,
    central: CentralDep,
    top: Annotated[int | None, Query(alias="$top", ge=0, le=1_000_000)] = None,
    skip: Annotated[int, Query(alias="$skip", ge=0, le=1_000_000_000)] = 0,
    count: Annotated[bool, Query(alias="$count")] = False,
    filter: Annotated[str | None, Query(alias="$filter", max_length=2000)] = None,
    expand: Annotated[str | None, Query(alias="$expand", max_length=200)] = None,
    select: Annotated[str | None, Query(alias="$select", max_length=2000)] = None,
    wkt: Annotated[bool, Query(alias="$wkt")] = False,
) -> dict[str, Any]:
    del wkt  # geopoints stay as the text the device sent, which is what $wkt asks for
    try:
        where = parse_filter(filter) if filter else None
    except ODataError as exc:
        raise bad_query(exc) from None
    if expand not in (None, "*"):
        raise bad_query(ODataError("only $expand=* is offered"))
    if table == "Submissions":
        rows, total = await central.submissions(principal, form_id, where, limit=top, offset=skip)
        ids = await central.user_ids({s.submitter.removeprefix("api:") for s, _, _ in rows})
        values = [
            odata_row(s, v, submitter_id=_submitter(s, ids), present=n, expand=expand == "*")
            for s, v, n in rows
        ]
    else:
        # A repeat's table (``Submissions.suppliers``): its rows over the filtered submissions.
        repeat = await central.repeat(principal, form_id, table)
        rows, _ = await central.submissions(principal, form_id, where)
        every = [r for s, v, _ in reversed(rows) for r in repeat_rows(s, v, repeat)]
        total = len(every)
        values = every[skip : None if top is None else skip + top]
    if select:
        values = [
            _select(row, [f.strip() for f in select.split(",") if f.strip()]) for row in values
        ]
    server = str(request.base_url).rstrip("/")
    base = f"{server}/v1/projects/{PROJECT_ID}/forms/{quote(form_id, safe='')}.svc"
    body: dict[str, Any] = {"@odata.context": f"{base}/$metadata#{table}", "value": values}
    if count:
        body["@odata.count"] = total
    if top and skip + len(values) < total:
        params: dict[str, Any] = dict(request.query_params)
        params.update({"$top": top, "$skip": skip + top})
        body["@odata.nextLink"] = f"{base}/{quote(table)}?{urlencode(params, safe='$')}"
    return body


def _submitter(submission: Submission, ids: dict[str, int]) -> int:
    """Central's submitter id: the app user's id, or the signed-in user's who sent it by API."""
    if submission.app_user_id is not None:
        return submission.app_user_id
    return ids.get(submission.submitter.removeprefix("api:"), 0)


def _select(row: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field in fields:
        head, _, rest = field.partition("/")
        value = row.get(head)
        if rest and isinstance(value, dict):
            out.setdefault(head, {})[rest] = value.get(rest)
        else:
            out[head] = value
    return out


@projects.get(_PREFIX, summary="A form (ODK Central)")
async def get_form(
    form_id: str, principal: CurrentPrincipal, central: CentralDep
) -> dict[str, Any]:
    return form_json(*await central.form(principal, form_id))


@projects.get(_PREFIX + "/versions", summary="A form's versions (ODK Central)")
async def form_versions(
    form_id: str, principal: CurrentPrincipal, central: CentralDep
) -> list[dict[str, Any]]:
    return [form_json(s, v) for s, v in await central.versions(principal, form_id)]


@projects.get(_PREFIX + "/versions/{version}.xml", summary="A version's XForm (ODK Central)")
async def version_xml(
    form_id: str, version: str, principal: CurrentPrincipal, central: CentralDep
) -> Response:
    return _xml((await central.version(principal, form_id, version)).xform)


# -- submissions ------------------------------------------------------------------------------


@projects.get(_PREFIX + "/submissions", summary="Submissions (ODK Central)")
async def list_submissions(
    form_id: str, principal: CurrentPrincipal, central: CentralDep
) -> list[dict[str, Any]]:
    rows, _ = await central.submissions(principal, form_id)
    ids = await central.user_ids({s.submitter.removeprefix("api:") for s, _, _ in rows})
    return [submission_json(s, _submitter(s, ids)) for s, _, _ in rows]


async def _submission_json(central: Central, submission: Submission) -> dict[str, Any]:
    ids = await central.user_ids({submission.submitter.removeprefix("api:")})
    return submission_json(submission, _submitter(submission, ids))


@projects.post(_PREFIX + "/submissions", summary="Send a submission (ODK Central)")
async def create_submission(
    request: Request,
    form_id: str,
    principal: CurrentPrincipal,
    central: CentralDep,
) -> dict[str, Any]:
    submission = await central.create(principal, form_id, await request.body())
    return await _submission_json(central, submission)


@projects.get(_SUBMISSION + ".xml", summary="A submission's XML (ODK Central)")
async def submission_xml(
    form_id: str,
    instance_id: str,
    principal: CurrentPrincipal,
    central: CentralDep,
) -> Response:
    return _xml((await central.submission(principal, form_id, instance_id)).xml)


@projects.get(_SUBMISSION, summary="A submission (ODK Central)")
async def get_submission(
    form_id: str,
    instance_id: str,
    principal: CurrentPrincipal,
    central: CentralDep,
) -> dict[str, Any]:
    return await _submission_json(
        central, await central.submission(principal, form_id, instance_id)
    )


@projects.patch(_SUBMISSION, summary="Set a submission's review state (ODK Central)")
async def patch_submission(
    form_id: str,
    instance_id: str,
    body: ReviewPatch,
    principal: CurrentPrincipal,
    central: CentralDep,
) -> dict[str, Any]:
    submission = await central.set_review(principal, form_id, instance_id, body.reviewState)
    return await _submission_json(central, submission)


@projects.get(_SUBMISSION + "/comments", summary="A submission's comments (ODK Central)")
async def list_comments(
    form_id: str,
    instance_id: str,
    principal: CurrentPrincipal,
    central: CentralDep,
) -> list[dict[str, Any]]:
    events = await central.comments(principal, form_id, instance_id)
    ids = await central.user_ids({e.actor for e in events})
    return [comment_json(e, ids.get(e.actor, 0)) for e in events]


@projects.post(_SUBMISSION + "/comments", summary="Comment on a submission (ODK Central)")
async def add_comment(
    form_id: str,
    instance_id: str,
    body: CommentBody,
    principal: CurrentPrincipal,
    central: CentralDep,
) -> dict[str, Any]:
    event = await central.add_comment(principal, form_id, instance_id, body.body)
    return comment_json(event, principal.user_id or 0)


@projects.get(_SUBMISSION + "/attachments", summary="A submission's files (ODK Central)")
async def list_attachments(
    form_id: str,
    instance_id: str,
    principal: CurrentPrincipal,
    central: CentralDep,
) -> list[dict[str, Any]]:
    return [
        {"name": name, "exists": exists}
        for name, exists in await central.attachments(principal, form_id, instance_id)
    ]


@projects.get(_SUBMISSION + "/attachments/{name}", summary="A submission's file (ODK Central)")
async def get_attachment(
    form_id: str,
    instance_id: str,
    name: str,
    principal: CurrentPrincipal,
    central: CentralDep,
) -> Response:
    found = await central.attachment(principal, form_id, instance_id, name)
    return Response(
        found.content,
        media_type=found.content_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(found.name, safe='')}"
        },
    )


@projects.post(
    _SUBMISSION + "/attachments/{name}", summary="Send a submission's file (ODK Central)"
)
async def upload_attachment(
    request: Request,
    form_id: str,
    instance_id: str,
    name: str,
    principal: CurrentPrincipal,
    central: CentralDep,
) -> dict[str, Any]:
    await central.upload(
        principal,
        form_id,
        instance_id,
        name,
        request.headers.get("content-type", ""),
        await request.body(),
    )
    return {"success": True}


router.include_router(projects)
