"""OpenRosa routes for ODK Collect: ``/openrosa/key/{token}/…`` (app users), ``/openrosa/test/…``.

ODK Collect is configured with the server URL ``{base}/openrosa/key/{token}`` (a QR code can
carry it) and appends the OpenRosa paths itself: ``formList``, ``submission``; the form list
gives the download and manifest URLs. ``/openrosa/test/{draft token}`` serves a draft the same
way, so a form can be tried on a device before it is published.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Depends, File, Path, Request, UploadFile
from fastapi.responses import Response
from starlette.datastructures import UploadFile as StarletteUpload

from taihu.core import (
    MAX_UPLOAD,
    N_,
    DbSession,
    NotFound,
    RuntimeDep,
    TaihuError,
    reader_translation,
)
from taihu.surveys.intake import Device, Intake, Part
from taihu.surveys.models import FormMedia
from taihu.surveys.openrosa import (
    OPENROSA_HEADERS,
    XML_TYPE,
    FormListEntry,
    ManifestEntry,
    form_list_xml,
    manifest_xml,
    response_xml,
)

__all__ = ["router"]

router = APIRouter(tags=["surveys: OpenRosa"])
Kind = Annotated[
    Literal["key", "test"], Path(description="`key`: an app user's token; `test`: a draft's token.")
]
Token = Annotated[str, Path(max_length=200, description="The app user's or draft's token.")]
_XML_OK: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/xml": {}}, "description": "An OpenRosa XML document"}
}


def _intake(session: DbSession, runtime: RuntimeDep) -> Intake:
    return Intake(session, runtime.clock)


IntakeDep = Annotated[Intake, Depends(_intake)]


async def _device(kind: Kind, token: Token, intake: IntakeDep) -> Device:
    return await (intake.device(token) if kind == "key" else intake.tester(token))


DeviceDep = Annotated[Device, Depends(_device)]


def _xml(body: str, status: int = 200) -> Response:
    return Response(body, status_code=status, media_type=XML_TYPE, headers=OPENROSA_HEADERS)


def _base(request: Request, kind: str, token: str) -> str:
    return f"{str(request.base_url).rstrip('/')}/openrosa/{kind}/{token}"


@router.get(
    "/openrosa/{kind}/{token}/formList",
    summary="OpenRosa form list",
    description="The published, open surveys asked of the app user's enterprise (all open "
    "surveys for a surveyor), or the draft under test; `formID` narrows it to one form.",
    response_class=Response,
    responses=_XML_OK,
)
async def form_list(
    request: Request,
    kind: Kind,
    token: Token,
    device: DeviceDep,
    intake: IntakeDep,
    formID: str | None = None,  # noqa: N803 - the OpenRosa parameter's name
) -> Response:
    base = _base(request, kind, token)
    entries = [
        FormListEntry(
            form_id=s.form_id,
            name=v.title,
            version=v.version,
            md5=v.xform_md5,
            download_url=f"{base}/forms/{s.form_id}.xml",
            manifest_url=f"{base}/forms/{s.form_id}/manifest" if v.media_names else None,
        )
        for s, v in await intake.forms(device)
        if formID is None or s.form_id == formID
    ]
    return _xml(form_list_xml(entries))


@router.get(
    "/openrosa/{kind}/{token}/forms/{form_id}.xml",
    summary="OpenRosa form download",
    description="The XForm of the form's published version (or of the draft under test).",
    response_class=Response,
    responses=_XML_OK,
)
async def form_download(form_id: str, device: DeviceDep, intake: IntakeDep) -> Response:
    _, version = await intake.form(device, form_id)
    return _xml(version.xform)


@router.get(
    "/openrosa/{kind}/{token}/forms/{form_id}/manifest",
    summary="OpenRosa manifest",
    description="The media files of the form's version, each with its MD5 and download URL.",
    response_class=Response,
    responses=_XML_OK,
)
async def form_manifest(
    request: Request,
    kind: Kind,
    token: Token,
    form_id: str,
    device: DeviceDep,
    intake: IntakeDep,
    session: DbSession,
) -> Response:
    _, version = await intake.form(device, form_id)
    base = _base(request, kind, token)
    media = await session.scalars(
        sa.select(FormMedia).where(FormMedia.version_id == version.id).order_by(FormMedia.name)
    )
    entries = [
        ManifestEntry(
            filename=m.name, md5=m.md5, download_url=f"{base}/forms/{form_id}/attachments/{m.name}"
        )
        for m in media
    ]
    return _xml(manifest_xml(entries))


@router.get(
    "/openrosa/{kind}/{token}/forms/{form_id}/attachments/{name}",
    summary="OpenRosa media file",
    description="One media file of the form's version, as its manifest lists it.",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}, "description": "The file"}},
)
async def form_media(
    form_id: str,
    name: str,
    device: DeviceDep,
    intake: IntakeDep,
    session: DbSession,
) -> Response:
    _, version = await intake.form(device, form_id)
    media = await session.scalar(
        sa.select(FormMedia).where(FormMedia.version_id == version.id, FormMedia.name == name)
    )
    if media is None:
        raise NotFound(N_("no media file {name}"), code="media_not_found", name=name)
    return Response(media.content, media_type=media.content_type, headers=OPENROSA_HEADERS)


@router.head(
    "/openrosa/{kind}/{token}/submission",
    summary="OpenRosa submission pre-flight",
    description="204 with `X-OpenRosa-Accept-Content-Length`: the largest body the server takes.",
    status_code=204,
    response_class=Response,
)
async def submission_preflight(device: DeviceDep) -> Response:
    del device  # authenticated: a bad token gets 401 here already
    return Response(
        status_code=204,
        headers={**OPENROSA_HEADERS, "X-OpenRosa-Accept-Content-Length": str(MAX_UPLOAD)},
    )


@router.post(
    "/openrosa/{kind}/{token}/submission",
    summary="OpenRosa submission",
    description="Multipart: `xml_submission_file` and the attachments, each under its file "
    "name; a large submission may come in several requests with the same XML. 201 when "
    "stored, and 201 again when the instanceID was already stored with the same XML (new "
    "attachments are added; ODK Collect counts only 201 and 202 as success); 409 when a "
    "different submission has that instanceID. Answers in OpenRosa XML.",
    status_code=201,
    response_class=Response,
    responses={201: {"content": {"text/xml": {}}, "description": "Stored"}},
)
async def submit(
    request: Request,
    device: DeviceDep,
    intake: IntakeDep,
    session: DbSession,
    xml_submission_file: Annotated[UploadFile, File(description="The instance XML")],
) -> Response:
    form = await request.form()
    parts = []
    for key, value in form.multi_items():
        if key == "xml_submission_file" or not isinstance(value, StarletteUpload):
            continue
        parts.append(
            Part(
                name=value.filename or key,
                content_type=value.content_type or "application/octet-stream",
                content=await value.read(),
            )
        )
    try:
        result = await intake.submit(device, await xml_submission_file.read(), parts)
    except TaihuError as exc:
        await session.rollback()  # answered, not raised: nothing of it may be committed
        # Collect shows the message of an OpenRosa response to the person holding the device.
        return _xml(response_xml(exc.text(reader_translation())), exc.status)
    message = (
        "full submission upload was successful!"
        if result.created
        else "submission already received; attachments completed"
    )
    return _xml(response_xml(message), 201)
