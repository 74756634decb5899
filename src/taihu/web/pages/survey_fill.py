"""Web forms: a survey filled in the console with Enketo, sent through the OpenRosa intake.

The page carries where to fetch the XForm and where to send the instance; the browser turns the
XForm into Enketo's form with enketo-transformer's web build (its Node build needs the native
``libxslt`` module, which does not build on Node 20), keeps drafts in localStorage and posts
the instance as ODK Collect does (``xml_submission_file`` and attachments). An enterprise's
users fill the open surveys asked of that enterprise; the bureau tries a survey's draft.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.datastructures import UploadFile as StarletteUpload

from taihu.core import MAX_UPLOAD, DbSession, Id, InvalidInput, RuntimeDep, TaihuError
from taihu.enterprises import Enterprise
from taihu.surveys import Device, Intake, Part
from taihu.web.console import Signed, render_page
from taihu.web.i18n import N_, gettext_

__all__ = ["Instance", "router", "webform_page", "webform_submit", "webform_xform"]

router = APIRouter(include_in_schema=False)
XML = "application/xml; charset=utf-8"
# Declared so that the body limit of uploads applies (body_limit.upload_paths); read below.
Instance = Annotated[UploadFile, File(description="The instance XML")]


async def _filler(who: Signed, session: DbSession, runtime: RuntimeDep,
                  enterprise_id: int) -> tuple[Intake, Device]:  # fmt: skip
    intake = Intake(session, runtime.clock)
    return intake, await intake.web_filler(who.principal, enterprise_id)


async def _tester(who: Signed, session: DbSession, runtime: RuntimeDep,
                  form_id: str) -> tuple[Intake, Device]:  # fmt: skip
    intake = Intake(session, runtime.clock)
    return intake, await intake.web_tester(who.principal, form_id)


async def webform_page(request: Request, who: Signed, intake: Intake, device: Device,
                       form_id: str, base: str, enterprise: str | None,
                       back: tuple[str, str] | None = None) -> HTMLResponse:  # fmt: skip
    """The Enketo page of a form; ``back`` (link, text) leads back where it was opened from."""
    survey, version = await intake.form(device, form_id)
    return render_page(
        request, "surveys/fill.html", who, survey=survey, version=version, base=base,
        enterprise=enterprise, test=device.draft is not None, back=back,
        # Drafts are kept per user, enterprise and version: another version starts afresh.
        draft_key=f"taihu:webform:{who.principal.name}:{base}:{version.id}",
    )  # fmt: skip


async def webform_xform(intake: Intake, device: Device, form_id: str) -> Response:
    """The form's XForm, for the page's Enketo."""
    _, version = await intake.form(device, form_id)
    return Response(version.xform, media_type=XML, headers={"Cache-Control": "no-store"})


async def webform_submit(request: Request, who: Signed, intake: Intake, device: Device) -> Response:
    """Store an instance the page's Enketo posts (answered as JSON, never raised)."""
    if request.headers.get("x-csrf-token") != who.csrf_token:
        return JSONResponse({"message": gettext_("Missing or wrong CSRF token.")}, 403)
    try:
        if int(request.headers.get("content-length") or 0) > MAX_UPLOAD:
            raise InvalidInput(N_("the submission is larger than {limit} bytes"),
                               code="too_large", limit=MAX_UPLOAD)  # fmt: skip
        xml: bytes | None = None
        parts = []
        # The uploads' spooled files are closed on leaving the block.
        async with request.form(max_files=100, max_fields=10) as form:
            for key, value in form.multi_items():
                if not isinstance(value, StarletteUpload):
                    continue
                if key == "xml_submission_file":
                    xml = await value.read()
                    continue
                parts.append(Part(name=value.filename or key,
                                  content_type=value.content_type or "application/octet-stream",
                                  content=await value.read()))  # fmt: skip
        if xml is None:
            raise InvalidInput(N_("the submission has no xml_submission_file part"),
                               code="bad_submission")  # fmt: skip
        result = await intake.submit(device, xml, parts)
    except TaihuError as exc:
        await intake.session.rollback()  # answered, not raised: nothing of it may be committed
        return JSONResponse(exc.as_body(gettext_), status_code=exc.status)
    return JSONResponse(
        {"instance_id": result.submission.instance_id, "created": result.created,
         "attachments_added": result.attachments_added,
         "attachments_missing": list(result.attachments_missing)},
        status_code=201,
    )  # fmt: skip


# -- an enterprise's user fills a survey asked of its enterprise --------------------------------


@router.get("/my-surveys/{form_id}/fill/{enterprise_id}", response_class=HTMLResponse)
async def fill_page(request: Request, form_id: str, enterprise_id: Id, who: Signed,
                    session: DbSession, runtime: RuntimeDep) -> HTMLResponse:  # fmt: skip
    intake, device = await _filler(who, session, runtime, enterprise_id)
    enterprise = await session.get(Enterprise, enterprise_id)
    base = f"/my-surveys/{form_id}/fill/{enterprise_id}"
    return await webform_page(request, who, intake, device, form_id, base,
                              enterprise.name if enterprise else None)  # fmt: skip


@router.get("/my-surveys/{form_id}/fill/{enterprise_id}/form.xml")
async def fill_xform(form_id: str, enterprise_id: Id, who: Signed, session: DbSession,
                     runtime: RuntimeDep) -> Response:  # fmt: skip
    intake, device = await _filler(who, session, runtime, enterprise_id)
    return await webform_xform(intake, device, form_id)


@router.post("/my-surveys/{form_id}/fill/{enterprise_id}/submission", response_model=None)
async def fill_submit(request: Request, form_id: str, enterprise_id: Id, who: Signed,
                      session: DbSession, runtime: RuntimeDep,
                      xml_submission_file: Instance) -> Response:  # fmt: skip
    del xml_submission_file  # read with the attachments, in their order
    intake = Intake(session, runtime.clock)
    try:
        device = await intake.web_filler(who.principal, enterprise_id)
        await intake.form(device, form_id)  # the instance must also name this form
    except TaihuError as exc:
        return JSONResponse(exc.as_body(gettext_), status_code=exc.status)
    return await webform_submit(request, who, intake, device)


# -- the bureau tries a survey's draft ----------------------------------------------------------


@router.get("/surveys/{form_id}/try", response_class=HTMLResponse)
async def try_page(request: Request, form_id: str, who: Signed, session: DbSession,
                   runtime: RuntimeDep) -> HTMLResponse:  # fmt: skip
    intake, device = await _tester(who, session, runtime, form_id)
    base = f"/surveys/{form_id}/try"
    return await webform_page(request, who, intake, device, form_id, base, None)


@router.get("/surveys/{form_id}/try/form.xml")
async def try_xform(form_id: str, who: Signed, session: DbSession,
                    runtime: RuntimeDep) -> Response:  # fmt: skip
    intake, device = await _tester(who, session, runtime, form_id)
    return await webform_xform(intake, device, form_id)


@router.post("/surveys/{form_id}/try/submission", response_model=None)
async def try_submit(request: Request, form_id: str, who: Signed, session: DbSession,
                     runtime: RuntimeDep, xml_submission_file: Instance) -> Response:  # fmt: skip
    del xml_submission_file  # read with the attachments, in their order
    intake = Intake(session, runtime.clock)
    try:
        device = await intake.web_tester(who.principal, form_id)
    except TaihuError as exc:
        return JSONResponse(exc.as_body(gettext_), status_code=exc.status)
    return await webform_submit(request, who, intake, device)
