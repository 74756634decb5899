"""Console forms of the solution pool: providers, solutions, guides, a solution's documents.

The bureau adds and edits providers and guides; the bureau and a provider's own users add and
edit that provider's solutions and their documents. A refused form comes back with what was
typed and why.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from taihu.accounts import Role, SessionInfo
from taihu.core import MAX_ID, N_, DbSession, Id, InvalidInput, RuntimeDep, TaihuError
from taihu.programmes import attachment, uploads_of
from taihu.solutions import (
    KINDS,
    GuideService,
    GuideSpec,
    PoolService,
    ProviderSpec,
    SearchQuery,
    SolutionDocuments,
    SolutionSpec,
)
from taihu.web.console import Signed, render_page
from taihu.web.i18n import gettext_
from taihu.web.pages.solutions import denied, pool_context, solution_page, submit

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


def _bureau(who: SessionInfo) -> bool:
    return who.principal.role in (Role.BUREAU, Role.ADMIN)


def _words(text: str) -> tuple[str, ...]:
    """Codes typed into one field, apart by commas, spaces or 、 (the Chinese enumeration comma)."""
    return tuple(w for w in re.split(r"[\s,\uff0c\u3001;\uff1b]+", text) if w)


def _price(text: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not text.isdigit() or len(text) > 9:
        raise InvalidInput(N_("{value} is not a number"), code="bad_price", value=text)
    return int(text)


# -- providers -------------------------------------------------------------------------------


async def _provider_form(
    request: Request,
    who: SessionInfo,
    session: DbSession,
    runtime: RuntimeDep,
    values: dict[str, Any],
    provider_id: int | None = None,
    error: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    return render_page(
        request,
        "solutions/provider_form.html",
        who,
        values=values,
        provider_id=provider_id,
        kinds=KINDS,
        error=error,
        status_code=status_code,
        **await pool_context(session, runtime),
    )


def _provider_values(spec: ProviderSpec) -> dict[str, Any]:
    return {
        "name": spec.name,
        "name_en": spec.name_en,
        "kind": spec.kind,
        "credit_code": spec.credit_code or "",
        "description": spec.description,
        "website": spec.website,
    }


def _provider_spec(
    name: str, name_en: str, kind: str, credit_code: str, description: str, website: str
) -> ProviderSpec:
    return ProviderSpec(
        name, kind, name_en, credit_code.strip() or None, description, website
    )  # fmt: skip


@router.get("/solutions/providers/new", response_class=HTMLResponse)
async def provider_new(
    request: Request, who: Signed, session: DbSession, runtime: RuntimeDep
) -> HTMLResponse:
    if not _bureau(who):
        return render_page(request, "denied.html", who, status_code=403)
    values = _provider_values(ProviderSpec("", "platform"))
    return await _provider_form(request, who, session, runtime, values)


@router.get("/solutions/providers/{provider_id}/edit", response_class=HTMLResponse)
async def provider_edit(
    request: Request, provider_id: Id, who: Signed, session: DbSession, runtime: RuntimeDep
) -> HTMLResponse:
    if not _bureau(who):
        return render_page(request, "denied.html", who, status_code=403)
    try:
        row = await PoolService(session, runtime.clock).provider(provider_id)
    except TaihuError as exc:
        return denied(request, who, exc)
    spec = ProviderSpec(
        row.name, row.kind, row.name_en, row.credit_code, row.description, row.website
    )
    return await _provider_form(request, who, session, runtime, _provider_values(spec), row.id)


@router.post("/solutions/providers/save", response_model=None)
async def provider_save(
    request: Request,
    who: Signed,
    session: DbSession,
    runtime: RuntimeDep,
    csrf: Annotated[str, Form(max_length=128)] = "",
    provider_id: Annotated[int, Form(ge=0, le=MAX_ID)] = 0,
    name: Annotated[str, Form(max_length=200)] = "",
    name_en: Annotated[str, Form(max_length=200)] = "",
    kind: Annotated[str, Form(max_length=16)] = "",
    credit_code: Annotated[str, Form(max_length=18)] = "",
    description: Annotated[str, Form(max_length=2000)] = "",
    website: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    spec = _provider_spec(name, name_en, kind, credit_code, description, website)
    pool = PoolService(session, runtime.clock)

    async def work() -> str:
        if provider_id:
            row = await pool.update_provider(who.principal, provider_id, spec)
        else:
            row = await pool.create_provider(who.principal, spec)
        return f"/solutions/providers/{row.id}"

    async def refused(exc: TaihuError) -> Response:
        return await _provider_form(
            request, who, session, runtime, _provider_values(spec), provider_id or None,
            exc.text(gettext_), exc.status,
        )  # fmt: skip

    return await submit(who, csrf, session, work, refused)


# -- solutions -------------------------------------------------------------------------------


def _solution_values(spec: SolutionSpec) -> dict[str, Any]:
    return {
        "title_zh": spec.title_zh,
        "title_en": spec.title_en,
        "summary": spec.summary,
        "tags": list(spec.tags),
        "industry_codes": " ".join(spec.industry_codes),
        "segments": " ".join(spec.segments),
        "price_min": "" if spec.price_min is None else str(spec.price_min),
        "price_max": "" if spec.price_max is None else str(spec.price_max),
    }


async def _solution_form(
    request: Request,
    who: SessionInfo,
    session: DbSession,
    runtime: RuntimeDep,
    values: dict[str, Any],
    provider_id: int,
    solution_id: int | None = None,
    error: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    pool = PoolService(session, runtime.clock)
    try:
        provider = await pool.provider(provider_id)
    except TaihuError as exc:
        return denied(request, who, exc)
    if not pool.may_edit(who.principal, provider):
        return render_page(request, "denied.html", who, status_code=403)
    return render_page(
        request,
        "solutions/solution_form.html",
        who,
        values=values,
        provider=provider,
        solution_id=solution_id,
        error=error,
        status_code=status_code,
        **await pool_context(session, runtime),
    )


@router.get("/solutions/providers/{provider_id}/solutions/new", response_class=HTMLResponse)
async def solution_new(
    request: Request, provider_id: Id, who: Signed, session: DbSession, runtime: RuntimeDep
) -> HTMLResponse:
    values = _solution_values(SolutionSpec("", ""))
    return await _solution_form(request, who, session, runtime, values, provider_id)


@router.get("/solutions/{solution_id:int}/edit", response_class=HTMLResponse)
async def solution_edit(
    request: Request, solution_id: Id, who: Signed, session: DbSession, runtime: RuntimeDep
) -> HTMLResponse:
    try:
        row = await PoolService(session, runtime.clock).solution(solution_id)
    except TaihuError as exc:
        return denied(request, who, exc)
    spec = SolutionSpec(
        row.title_zh, row.title_en, row.summary, tuple(row.tags), tuple(row.industry_codes),
        tuple(row.segments), row.price_min, row.price_max,
    )  # fmt: skip
    values = _solution_values(spec)
    return await _solution_form(
        request, who, session, runtime, values, row.provider_id, row.id
    )  # fmt: skip


@router.post("/solutions/save", response_model=None)
async def solution_save(
    request: Request,
    who: Signed,
    session: DbSession,
    runtime: RuntimeDep,
    csrf: Annotated[str, Form(max_length=128)] = "",
    provider_id: Annotated[int, Form(ge=0, le=MAX_ID)] = 0,
    solution_id: Annotated[int, Form(ge=0, le=MAX_ID)] = 0,
    title_zh: Annotated[str, Form(max_length=200)] = "",
    title_en: Annotated[str, Form(max_length=200)] = "",
    summary: Annotated[str, Form(max_length=4000)] = "",
    tag: Annotated[list[str] | None, Form()] = None,
    industry_codes: Annotated[str, Form(max_length=400)] = "",
    segments: Annotated[str, Form(max_length=1000)] = "",
    price_min: Annotated[str, Form(max_length=12)] = "",
    price_max: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    pool = PoolService(session, runtime.clock)
    typed = {
        "title_zh": title_zh, "title_en": title_en, "summary": summary,
        "tags": [t[:32] for t in (tag or [])][:50], "industry_codes": industry_codes,
        "segments": segments, "price_min": price_min, "price_max": price_max,
    }  # fmt: skip

    async def work() -> str:
        spec = SolutionSpec(
            title_zh, title_en, summary, tuple(typed["tags"]), _words(industry_codes),
            _words(segments), _price(price_min), _price(price_max),
        )  # fmt: skip
        if solution_id:
            row = await pool.update_solution(who.principal, solution_id, spec)
        else:
            row = await pool.create_solution(who.principal, provider_id, spec)
        return f"/solutions/{row.id}"

    async def refused(exc: TaihuError) -> Response:
        owner = provider_id
        if solution_id:
            try:
                owner = (await pool.solution(solution_id)).provider_id
            except TaihuError as missing:
                return denied(request, who, missing)
        if not owner:
            return denied(request, who, exc)
        return await _solution_form(
            request, who, session, runtime, typed, owner, solution_id or None,
            exc.text(gettext_), exc.status,
        )  # fmt: skip

    return await submit(who, csrf, session, work, refused)


# -- a solution's documents ------------------------------------------------------------------


@router.post("/solutions/{solution_id:int}/documents", response_model=None)
async def document_upload(
    request: Request,
    solution_id: Id,
    who: Signed,
    session: DbSession,
    runtime: RuntimeDep,
    file: Annotated[list[UploadFile | str] | None, File()] = None,
    kind: Annotated[list[str] | None, Form()] = None,
    csrf: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    async def work() -> str:
        uploads = await uploads_of(kind or [], file or [])
        await SolutionDocuments(session, runtime.clock).add(who.principal, solution_id, uploads)
        return f"/solutions/{solution_id}#documents"

    async def refused(exc: TaihuError) -> Response:
        return await solution_page(
            request, solution_id, who, session, runtime, exc.text(gettext_), exc.status
        )

    return await submit(who, csrf, session, work, refused)


@router.post("/solutions/{solution_id:int}/documents/{document_id}/delete", response_model=None)
async def document_delete(
    request: Request,
    solution_id: Id,
    document_id: Id,
    who: Signed,
    session: DbSession,
    runtime: RuntimeDep,
    csrf: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    async def work() -> str:
        await SolutionDocuments(session, runtime.clock).delete(
            who.principal, solution_id, document_id
        )
        return f"/solutions/{solution_id}#documents"

    async def refused(exc: TaihuError) -> Response:
        return await solution_page(
            request, solution_id, who, session, runtime, exc.text(gettext_), exc.status
        )

    return await submit(who, csrf, session, work, refused)


@router.get("/solutions/{solution_id:int}/documents/{document_id}", response_model=None)
async def document_download(
    request: Request,
    solution_id: Id,
    document_id: Id,
    who: Signed,
    session: DbSession,
    runtime: RuntimeDep,
) -> Response:
    try:
        row = await SolutionDocuments(session, runtime.clock).read(solution_id, document_id)
    except TaihuError as exc:
        return denied(request, who, exc)
    return attachment(row.filename, row.content_type, row.content)


# -- guides ----------------------------------------------------------------------------------


def _guide_values(spec: GuideSpec) -> dict[str, Any]:
    return {
        "industry_code": spec.industry_code,
        "title_zh": spec.title_zh,
        "title_en": spec.title_en,
        "body": spec.body,
        "solution_ids": list(spec.solution_ids),
        "published": spec.published,
    }


async def _guide_form(
    request: Request,
    who: SessionInfo,
    session: DbSession,
    runtime: RuntimeDep,
    values: dict[str, Any],
    guide_id: int | None = None,
    error: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    return render_page(
        request,
        "solutions/guide_form.html",
        who,
        values=values,
        guide_id=guide_id,
        solutions=await PoolService(session, runtime.clock).search(SearchQuery()),
        error=error,
        status_code=status_code,
        **await pool_context(session, runtime),
    )


@router.get("/solutions/guides", response_class=HTMLResponse)
async def guides_admin(
    request: Request, who: Signed, session: DbSession, runtime: RuntimeDep
) -> HTMLResponse:
    if not _bureau(who):
        return render_page(request, "denied.html", who, status_code=403)
    return render_page(
        request,
        "solutions/guides_admin.html",
        who,
        guides=await GuideService(session, runtime.clock).all(who.principal),
        **await pool_context(session, runtime),
    )


@router.get("/solutions/guides/new", response_class=HTMLResponse)
async def guide_new(
    request: Request, who: Signed, session: DbSession, runtime: RuntimeDep
) -> HTMLResponse:
    if not _bureau(who):
        return render_page(request, "denied.html", who, status_code=403)
    return await _guide_form(request, who, session, runtime, _guide_values(GuideSpec("", "", "")))


@router.get("/solutions/guides/{guide_id}/edit", response_class=HTMLResponse)
async def guide_edit(
    request: Request, guide_id: Id, who: Signed, session: DbSession, runtime: RuntimeDep
) -> HTMLResponse:
    if not _bureau(who):
        return render_page(request, "denied.html", who, status_code=403)
    try:
        row = await GuideService(session, runtime.clock).get(guide_id, who.principal)
    except TaihuError as exc:
        return denied(request, who, exc)
    spec = GuideSpec(
        row.industry_code, row.title_zh, row.title_en, row.body, tuple(row.solution_ids),
        row.published,
    )  # fmt: skip
    return await _guide_form(request, who, session, runtime, _guide_values(spec), row.id)


@router.post("/solutions/guides/save", response_model=None)
async def guide_save(
    request: Request,
    who: Signed,
    session: DbSession,
    runtime: RuntimeDep,
    csrf: Annotated[str, Form(max_length=128)] = "",
    guide_id: Annotated[int, Form(ge=0, le=MAX_ID)] = 0,
    industry_code: Annotated[str, Form(max_length=4)] = "",
    title_zh: Annotated[str, Form(max_length=200)] = "",
    title_en: Annotated[str, Form(max_length=200)] = "",
    body: Annotated[str, Form(max_length=8000)] = "",
    solution: Annotated[list[int] | None, Form()] = None,
    published: Annotated[bool, Form()] = False,
) -> Response:
    ids = tuple(i for i in (solution or []) if 0 < i <= MAX_ID)[:200]
    spec = GuideSpec(industry_code, title_zh, title_en, body, ids, published)

    async def work() -> str:
        row = await GuideService(session, runtime.clock).save(who.principal, spec, guide_id or None)
        return f"/solutions/guides#guide-{row.id}"

    async def refused(exc: TaihuError) -> Response:
        return await _guide_form(
            request, who, session, runtime, _guide_values(spec), guide_id or None,
            exc.text(gettext_), exc.status,
        )  # fmt: skip

    return await submit(who, csrf, session, work, refused)
