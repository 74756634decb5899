"""Console routes of the documents of providers and reference cases: upload, download, delete.

The forms are on the provider's page and, for a case, on its solution's page; a refused upload
comes back to that page with the reason.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response

from taihu.accounts import SessionInfo
from taihu.core import DbSession, Id, RuntimeDep, TaihuError
from taihu.programmes import attachment, uploads_of
from taihu.solutions import SubjectDocuments
from taihu.web.console import Signed
from taihu.web.i18n import gettext_
from taihu.web.pages.solutions import denied, provider_page, solution_page, submit

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
Files = Annotated[list[UploadFile | str] | None, File()]
Kinds = Annotated[list[str] | None, Form()]
Csrf = Annotated[str, Form(max_length=128)]


async def _back(
    request: Request,
    subject: str,
    subject_id: int,
    who: SessionInfo,
    session: DbSession,
    runtime: RuntimeDep,
    exc: TaihuError,
) -> Response:
    """The page the form was on, saying why it was refused."""
    if subject == "provider":
        return await provider_page(
            request, subject_id, who, session, runtime, exc.text(gettext_), exc.status
        )
    try:
        case = await SubjectDocuments(session, runtime.clock).case(subject_id)
    except TaihuError as missing:
        return denied(request, who, missing)
    return await solution_page(
        request, case.solution_id, who, session, runtime, exc.text(gettext_), exc.status
    )


async def _target(session: DbSession, runtime: RuntimeDep, subject: str, subject_id: int) -> str:
    if subject == "provider":
        return f"/solutions/providers/{subject_id}#documents"
    case = await SubjectDocuments(session, runtime.clock).case(subject_id)
    return f"/solutions/{case.solution_id}#case-{subject_id}"


async def _upload(request: Request, subject: str, subject_id: int, who: SessionInfo,
                  session: DbSession, runtime: RuntimeDep, kind: list[str] | None,
                  file: list[UploadFile | str] | None, csrf: str) -> Response:  # fmt: skip
    async def work() -> str:
        uploads = await uploads_of(kind or [], file or [])
        await SubjectDocuments(session, runtime.clock).add(
            who.principal, subject, subject_id, uploads
        )
        return await _target(session, runtime, subject, subject_id)

    async def refused(exc: TaihuError) -> Response:
        return await _back(request, subject, subject_id, who, session, runtime, exc)

    return await submit(who, csrf, session, work, refused)


async def _delete(request: Request, subject: str, subject_id: int, document_id: int,
                  who: SessionInfo, session: DbSession, runtime: RuntimeDep,
                  csrf: str) -> Response:  # fmt: skip
    async def work() -> str:
        await SubjectDocuments(session, runtime.clock).delete(
            who.principal, subject, subject_id, document_id
        )
        return await _target(session, runtime, subject, subject_id)

    async def refused(exc: TaihuError) -> Response:
        return await _back(request, subject, subject_id, who, session, runtime, exc)

    return await submit(who, csrf, session, work, refused)


async def _download(request: Request, subject: str, subject_id: int, document_id: int,
                    who: SessionInfo, session: DbSession,
                    runtime: RuntimeDep) -> Response:  # fmt: skip
    try:
        row = await SubjectDocuments(session, runtime.clock).read(subject, subject_id, document_id)
    except TaihuError as exc:
        return denied(request, who, exc)
    return attachment(row.filename, row.content_type, row.content)


@router.post("/solutions/providers/{provider_id:int}/documents", response_model=None)
async def provider_upload(request: Request, provider_id: Id, who: Signed, session: DbSession,
                          runtime: RuntimeDep, file: Files = None, kind: Kinds = None,
                          csrf: Csrf = "") -> Response:  # fmt: skip
    return await _upload(request, "provider", provider_id, who, session, runtime, kind, file, csrf)


@router.post(
    "/solutions/providers/{provider_id:int}/documents/{document_id}/delete", response_model=None
)
async def provider_delete(request: Request, provider_id: Id, document_id: Id, who: Signed,
                          session: DbSession, runtime: RuntimeDep,
                          csrf: Csrf = "") -> Response:  # fmt: skip
    return await _delete(request, "provider", provider_id, document_id, who, session, runtime, csrf)


@router.get("/solutions/providers/{provider_id:int}/documents/{document_id}", response_model=None)
async def provider_download(request: Request, provider_id: Id, document_id: Id, who: Signed,
                            session: DbSession, runtime: RuntimeDep) -> Response:  # fmt: skip
    return await _download(request, "provider", provider_id, document_id, who, session, runtime)


@router.post("/solutions/cases/{case_id:int}/documents", response_model=None)
async def case_upload(request: Request, case_id: Id, who: Signed, session: DbSession,
                      runtime: RuntimeDep, file: Files = None, kind: Kinds = None,
                      csrf: Csrf = "") -> Response:  # fmt: skip
    return await _upload(request, "case", case_id, who, session, runtime, kind, file, csrf)


@router.post("/solutions/cases/{case_id:int}/documents/{document_id}/delete", response_model=None)
async def case_delete(request: Request, case_id: Id, document_id: Id, who: Signed,
                      session: DbSession, runtime: RuntimeDep,
                      csrf: Csrf = "") -> Response:  # fmt: skip
    return await _delete(request, "case", case_id, document_id, who, session, runtime, csrf)


@router.get("/solutions/cases/{case_id:int}/documents/{document_id}", response_model=None)
async def case_download(request: Request, case_id: Id, document_id: Id, who: Signed,
                        session: DbSession, runtime: RuntimeDep) -> Response:  # fmt: skip
    return await _download(request, "case", case_id, document_id, who, session, runtime)
