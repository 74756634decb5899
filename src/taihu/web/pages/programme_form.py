"""A programme's own application form in the console: its survey form filled with Enketo.

An enterprise's users open it from the programme's page and fill it for one of their
enterprises, whether or not the survey was asked of that enterprise; then they apply on the
programme's page choosing what they filled, and the answers are kept with the application.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from taihu.core import DbSession, Id, RuntimeDep, TaihuError
from taihu.enterprises import Enterprise
from taihu.programmes import ProgrammeApplications
from taihu.surveys import Device, Intake
from taihu.web.console import Signed, render_page
from taihu.web.i18n import gettext_
from taihu.web.pages.survey_fill import Instance, webform_page, webform_submit, webform_xform
from taihu.web.survey_answers import SurveyAnswers

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


async def _filler(
    who: Signed, session: DbSession, runtime: RuntimeDep, programme_id: int, enterprise_id: int
) -> tuple[Intake, Device, str]:
    """The device filling the programme's form for the enterprise (its own users only)."""
    applications = ProgrammeApplications(
        session, runtime.clock, SurveyAnswers(session, runtime.clock)
    )
    programme, _ = await applications.form_for(who.principal, programme_id, enterprise_id)
    assert programme.form_id is not None  # form_for refuses a programme without one
    intake = Intake(session, runtime.clock)
    device = await intake.form_filler(who.principal, enterprise_id, programme.form_id)
    return intake, device, programme.form_id


@router.get("/programmes/{programme_id:int}/form/{enterprise_id}", response_class=HTMLResponse)
async def form_page(request: Request, programme_id: Id, enterprise_id: Id, who: Signed,
                    session: DbSession, runtime: RuntimeDep) -> HTMLResponse:  # fmt: skip
    try:
        intake, device, form_id = await _filler(who, session, runtime, programme_id, enterprise_id)
        enterprise = await session.get(Enterprise, enterprise_id)
        return await webform_page(
            request, who, intake, device, form_id,
            f"/programmes/{programme_id}/form/{enterprise_id}",
            enterprise.name if enterprise else None,
            back=(f"/programmes/{programme_id}#apply", gettext_("Back to the application")),
        )  # fmt: skip
    except TaihuError as exc:
        return render_page(
            request, "denied.html", who, status_code=exc.status, message=exc.text(gettext_)
        )


@router.get("/programmes/{programme_id:int}/form/{enterprise_id}/form.xml")
async def form_xform(programme_id: Id, enterprise_id: Id, who: Signed, session: DbSession,
                     runtime: RuntimeDep) -> Response:  # fmt: skip
    intake, device, form_id = await _filler(who, session, runtime, programme_id, enterprise_id)
    return await webform_xform(intake, device, form_id)


@router.post("/programmes/{programme_id:int}/form/{enterprise_id}/submission", response_model=None)
async def form_submit(request: Request, programme_id: Id, enterprise_id: Id, who: Signed,
                      session: DbSession, runtime: RuntimeDep,
                      xml_submission_file: Instance) -> Response:  # fmt: skip
    del xml_submission_file  # read with the attachments, in their order
    try:
        intake, device, _ = await _filler(who, session, runtime, programme_id, enterprise_id)
    except TaihuError as exc:
        return JSONResponse(exc.as_body(gettext_), status_code=exc.status)
    return await webform_submit(request, who, intake, device)
