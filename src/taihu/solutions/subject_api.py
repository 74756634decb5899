"""HTTP routes of the documents of providers and reference cases (included by ``api``).

Both subjects answer the same four routes (list, upload, read, delete) over ``SubjectDocuments``;
``_add_routes`` registers them once per subject, with that subject's path, wording and names.
"""

# No ``from __future__ import annotations``: FastAPI reads the routes' annotations at run time,
# and those built inside ``_add_routes`` name a local ``id_param`` that a string cannot reach.

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Path, Response, UploadFile, status

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


@dataclass(frozen=True)
class _Subject:
    """What differs between a provider's documents and a reference case's."""

    subject: str  # as ``SubjectDocuments`` names it, and in the routes' names
    collection: str  # the path segment under /api/solutions
    whose: str  # "a provider's"
    to: str  # "a provider"
    holds: str  # what its documents are, for the list's description
    writers: str  # who may upload and delete


def _add_routes(s: _Subject) -> None:
    """Register the four document routes of one subject on ``router``."""
    param = f"{s.subject}_id"
    # The path parameter keeps the subject's own name (``provider_id``) in the schema.
    id_param = Annotated[Id, Path(alias=param)]
    documents_path = f"/api/solutions/{s.collection}/{{{param}:int}}/documents"
    document_path = f"{documents_path}/{{document_id}}"

    @router.get(
        documents_path,
        name=f"list_{s.subject}_documents",
        summary=f"{s.whose.capitalize()} documents",
        response_model=list[DocumentOut],
        description=f"{s.holds} (without their bytes); every signed-in user.",
        responses=_NOT_FOUND,
    )
    async def list_documents(
        subject_id: id_param, _principal: CurrentPrincipal, documents: Documents
    ) -> list[DocumentOut]:
        return [DocumentOut.model_validate(d) for d in await documents.all(s.subject, subject_id)]

    @router.post(
        documents_path,
        name=f"upload_{s.subject}_documents",
        summary=f"Upload documents to {s.to}",
        response_model=list[DocumentOut],
        status_code=status.HTTP_201_CREATED,
        description=f"{s.writers} {_UPLOAD}",
        responses=_NOT_FOUND,
    )
    async def upload_documents(
        subject_id: id_param,
        principal: CurrentPrincipal,
        documents: Documents,
        kind: Kinds = [],  # noqa: B006 - FastAPI copies defaults; none at all is the service's 400
        file: Files = [],  # noqa: B006
    ) -> list[DocumentOut]:
        uploads = await uploads_of(kind, file)
        rows = await documents.add(principal, s.subject, subject_id, uploads)
        return [DocumentOut.model_validate(d) for d in rows]

    @router.get(
        document_path,
        name=f"read_{s.subject}_document",
        summary=f"Read {s.whose} document",
        response_class=Response,
        description="Every signed-in user; sent as a download.",
        responses=_NOT_FOUND,
    )
    async def read_document(
        subject_id: id_param, document_id: Id, _principal: CurrentPrincipal, documents: Documents
    ) -> Response:
        row = await documents.read(s.subject, subject_id, document_id)
        return attachment(row.filename, row.content_type, row.content)

    @router.delete(
        document_path,
        name=f"delete_{s.subject}_document",
        summary=f"Delete {s.whose} document",
        status_code=status.HTTP_204_NO_CONTENT,
        response_class=Response,
        description=s.writers,
        responses=_NOT_FOUND,
    )
    async def delete_document(
        subject_id: id_param, document_id: Id, principal: CurrentPrincipal, documents: Documents
    ) -> Response:
        await documents.delete(principal, s.subject, subject_id, document_id)
        return Response(status_code=status.HTTP_204_NO_CONTENT)


_add_routes(
    _Subject(
        subject="provider",
        collection="providers",
        whose="a provider's",
        to="a provider",
        holds="Qualifications, brochures, certificates",
        writers="Bureau, or the provider's own users.",
    )
)
_add_routes(
    _Subject(
        subject="case",
        collection="cases",
        whose="a reference case's",
        to="a reference case",
        holds="Case reports, acceptance certificates",
        writers="Bureau, or the users of the provider whose solution the case is of.",
    )
)
