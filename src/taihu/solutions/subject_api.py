"""HTTP routes of the documents of providers and reference cases (included by ``api``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Response, UploadFile, status

from taihu.accounts import ERROR_RESPONSES, CurrentPrincipal
from taihu.core import DbSession, Id, RuntimeDep
from taihu.identifiers import MAX_DOCUMENT
from taihu.programmes import attachment, uploads_of
from taihu.solutions.documents import DOCUMENT_KINDS, MAX_FILES
from taihu.solutions.schemas import DocumentOut
from taihu.solutions.subject_documents import SubjectDocuments

__all__ = ["router"]

router = APIRouter(tags=["solutions"])
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    404: {"description": "No such provider, case or document"},
}
_UPLOAD = (
    f"Multipart: one `kind` per `file` ({', '.join(DOCUMENT_KINDS)}); PDF, PNG or JPEG of at "
    f"most {MAX_DOCUMENT >> 20} MB, at most {MAX_FILES} each. Nothing is kept when any file "
    "is refused."
)


def _documents(session: DbSession, runtime: RuntimeDep) -> SubjectDocuments:
    return SubjectDocuments(session, runtime.clock)


Documents = Annotated[SubjectDocuments, Depends(_documents)]
Kinds = Annotated[list[str], Form(examples=[["certificate"]])]
Files = Annotated[list[UploadFile | str], File(description="The files, one per kind")]


# -- a provider's documents ------------------------------------------------------------------


@router.get(
    "/api/solutions/providers/{provider_id:int}/documents",
    summary="A provider's documents",
    response_model=list[DocumentOut],
    description="Qualifications, brochures, certificates (without their bytes); every "
    "signed-in user.",
    responses=_NOT_FOUND,
)
async def list_provider_documents(
    provider_id: Id, _principal: CurrentPrincipal, documents: Documents
) -> list[DocumentOut]:
    return [DocumentOut.model_validate(d) for d in await documents.all("provider", provider_id)]


@router.post(
    "/api/solutions/providers/{provider_id:int}/documents",
    summary="Upload documents to a provider",
    response_model=list[DocumentOut],
    status_code=status.HTTP_201_CREATED,
    description="Bureau, or the provider's own users. " + _UPLOAD,
    responses=_NOT_FOUND,
)
async def upload_provider_documents(
    provider_id: Id,
    principal: CurrentPrincipal,
    documents: Documents,
    kind: Kinds = [],  # noqa: B006 - FastAPI copies defaults; none at all is the service's 400
    file: Files = [],  # noqa: B006
) -> list[DocumentOut]:
    rows = await documents.add(principal, "provider", provider_id, await uploads_of(kind, file))
    return [DocumentOut.model_validate(d) for d in rows]


@router.get(
    "/api/solutions/providers/{provider_id:int}/documents/{document_id}",
    summary="Read a provider's document",
    response_class=Response,
    description="Every signed-in user; sent as a download.",
    responses=_NOT_FOUND,
)
async def read_provider_document(
    provider_id: Id, document_id: Id, _principal: CurrentPrincipal, documents: Documents
) -> Response:
    row = await documents.read("provider", provider_id, document_id)
    return attachment(row.filename, row.content_type, row.content)


@router.delete(
    "/api/solutions/providers/{provider_id:int}/documents/{document_id}",
    summary="Delete a provider's document",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    description="Bureau, or the provider's own users.",
    responses=_NOT_FOUND,
)
async def delete_provider_document(
    provider_id: Id, document_id: Id, principal: CurrentPrincipal, documents: Documents
) -> Response:
    await documents.delete(principal, "provider", provider_id, document_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# -- a reference case's documents ------------------------------------------------------------


@router.get(
    "/api/solutions/cases/{case_id:int}/documents",
    summary="A reference case's documents",
    response_model=list[DocumentOut],
    description="Case reports, acceptance certificates (without their bytes); every "
    "signed-in user.",
    responses=_NOT_FOUND,
)
async def list_case_documents(
    case_id: Id, _principal: CurrentPrincipal, documents: Documents
) -> list[DocumentOut]:
    return [DocumentOut.model_validate(d) for d in await documents.all("case", case_id)]


@router.post(
    "/api/solutions/cases/{case_id:int}/documents",
    summary="Upload documents to a reference case",
    response_model=list[DocumentOut],
    status_code=status.HTTP_201_CREATED,
    description="Bureau, or the users of the provider whose solution the case is of. " + _UPLOAD,
    responses=_NOT_FOUND,
)
async def upload_case_documents(
    case_id: Id,
    principal: CurrentPrincipal,
    documents: Documents,
    kind: Kinds = [],  # noqa: B006 - FastAPI copies defaults; none at all is the service's 400
    file: Files = [],  # noqa: B006
) -> list[DocumentOut]:
    rows = await documents.add(principal, "case", case_id, await uploads_of(kind, file))
    return [DocumentOut.model_validate(d) for d in rows]


@router.get(
    "/api/solutions/cases/{case_id:int}/documents/{document_id}",
    summary="Read a reference case's document",
    response_class=Response,
    description="Every signed-in user; sent as a download.",
    responses=_NOT_FOUND,
)
async def read_case_document(
    case_id: Id, document_id: Id, _principal: CurrentPrincipal, documents: Documents
) -> Response:
    row = await documents.read("case", case_id, document_id)
    return attachment(row.filename, row.content_type, row.content)


@router.delete(
    "/api/solutions/cases/{case_id:int}/documents/{document_id}",
    summary="Delete a reference case's document",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    description="Bureau, or the users of the provider whose solution the case is of.",
    responses=_NOT_FOUND,
)
async def delete_case_document(
    case_id: Id, document_id: Id, principal: CurrentPrincipal, documents: Documents
) -> Response:
    await documents.delete(principal, "case", case_id, document_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
