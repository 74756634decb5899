"""HTTP routes of a programme's own application form: its XForm and the applicant's submission.

An enterprise's users fill the programme's survey form without the survey being asked of their
enterprise, then apply naming the submission (``instance_id``). The survey engine is reached
through ``FormAnswers``, which the assembling layer puts in the app's state.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile, status
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict

from taihu.accounts import ERROR_RESPONSES, CurrentPrincipal
from taihu.core import MAX_ID, MAX_UPLOAD, N_, DbSession, Id, InvalidInput, RuntimeDep, read_upload
from taihu.programmes.applications import ProgrammeApplications

__all__ = ["FORMS_STATE", "FormSubmissionOut", "router", "with_forms"]

router = APIRouter(tags=["programmes"])
# The app's state attribute with the factory of the survey forms' reader (``FormAnswers``): set
# by the layer that assembles programmes and surveys (``web``), as neither imports the other.
FORMS_STATE = "programme_forms"
_RESPONSES: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    404: {"description": "No such programme, or it has no form of its own"},
    409: {"description": "The programme takes no applications now"},
}


def with_forms(request: Request, session: DbSession, runtime: RuntimeDep) -> ProgrammeApplications:
    """Applications that read (and take) survey forms through the app's ``FormAnswers``."""
    factory = getattr(request.app.state, FORMS_STATE, None)
    forms = factory(session, runtime.clock) if factory is not None else None
    return ProgrammeApplications(session, runtime.clock, forms)


class FormSubmissionOut(BaseModel):
    """A stored submission of a programme's form: apply with its ``instance_id``."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"form_id": "cloud_stars_2026", "instance_id": "uuid:6f1c0e0a"}]
        }
    )

    form_id: str
    instance_id: str


@router.get(
    "/api/programmes/{programme_id:int}/form.xml",
    summary="A programme's application form (XForm)",
    response_class=Response,
    description="The enterprise's own users (`enterprise_id`: one they act for), while the "
    "programme takes applications: the published XForm of the programme's survey form, "
    "whether or not the survey is asked of the enterprise.",
    responses=_RESPONSES,
)
async def programme_xform(
    request: Request,
    programme_id: Id,
    principal: CurrentPrincipal,
    session: DbSession,
    runtime: RuntimeDep,
    enterprise_id: Annotated[int, Query(ge=1, le=MAX_ID, examples=[12])],
) -> Response:
    applications = with_forms(request, session, runtime)
    programme, forms = await applications.form_for(principal, programme_id, enterprise_id)
    assert programme.form_id is not None  # form_for refuses a programme without one
    xml = await forms.xform(principal, programme.form_id, enterprise_id)
    return Response(xml, media_type="application/xml; charset=utf-8")


@router.post(
    "/api/programmes/{programme_id:int}/form-submissions",
    summary="Submit a programme's application form",
    status_code=status.HTTP_201_CREATED,
    response_model=FormSubmissionOut,
    description="The enterprise's own users. Multipart: `enterprise_id`, "
    "`xml_submission_file` (the filled XForm instance, as ODK Collect sends it) and optional "
    "attachments (`file`). Stored as a submission of the survey (audited `survey.submit`); "
    "then apply with its `instance_id` (`POST /api/programmes/applications`), whose answers "
    "are kept with the application.",
    responses=_RESPONSES,
)
async def submit_programme_form(
    request: Request,
    programme_id: Id,
    principal: CurrentPrincipal,
    session: DbSession,
    runtime: RuntimeDep,
    enterprise_id: Annotated[int, Form(ge=1, le=MAX_ID, examples=[12])],
    xml_submission_file: Annotated[UploadFile, File(description="The instance XML")],
    file: Annotated[list[UploadFile | str], File(description="Attachments")] = [],  # noqa: B006 - FastAPI copies defaults
) -> FormSubmissionOut:
    applications = with_forms(request, session, runtime)
    programme, forms = await applications.form_for(principal, programme_id, enterprise_id)
    assert programme.form_id is not None  # form_for refuses a programme without one
    xml = await read_upload(xml_submission_file, MAX_UPLOAD)
    if not xml:
        raise InvalidInput(N_("the submission has no instance XML"), code="bad_submission")
    parts = [
        (f.filename or "file", f.content_type or "application/octet-stream",
         await read_upload(f, MAX_UPLOAD))
        for f in file
        if not isinstance(f, str)
    ]  # fmt: skip
    instance_id = await forms.submit(principal, programme.form_id, enterprise_id, xml, parts)
    return FormSubmissionOut(form_id=programme.form_id, instance_id=instance_id)
