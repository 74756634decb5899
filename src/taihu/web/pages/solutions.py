"""Console pages of the solution pool: search, providers, solutions, needs; the public guides.

Everyone signed in reads the pool; enterprise users post and follow their needs; the bureau
matches and closes them. A published industry guide is a public page (no sign-in).
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from taihu.accounts import Role, SessionInfo
from taihu.core import DbSession, Id, RuntimeDep, TaihuError
from taihu.enterprises import EnterpriseService, industry_classes
from taihu.identifiers import MAX_DOCUMENT
from taihu.programmes import (
    STATUS_LABELS as PROGRAMME_STATUS,
)
from taihu.programmes import (
    AwardFilter,
    ProgrammeApplications,
    ProgrammeService,
    RegistryService,
)
from taihu.solutions import (
    DOCUMENT_KINDS,
    DOCUMENT_LABELS,
    KIND_LABELS,
    STATUS_LABELS,
    CaseSpec,
    GuideService,
    NeedService,
    PoolService,
    SearchQuery,
    SolutionDocuments,
    SubjectDocuments,
    SuggestionService,
)
from taihu.web.console import Signed, render_page
from taihu.web.i18n import current_language, gettext_

__all__ = ["denied", "pool_context", "provider_page", "router", "solution_page", "submit"]

router = APIRouter(include_in_schema=False)


async def pool_context(session: DbSession, runtime: RuntimeDep) -> dict[str, Any]:
    """What the pool's pages show beside their own: tags, providers and how to name things."""
    pool = PoolService(session, runtime.clock)
    zh = current_language.get() == "zh_CN"
    tags = await pool.tags()
    return {
        "zh": zh,
        "tags": tags,
        "tag_name": {t.key: (t.name_zh if zh else t.name_en) for t in tags},
        "providers": {p.id: p for p in await pool.providers()},
        "kind_label": lambda k: gettext_(KIND_LABELS.get(k) or k),
        "status_label": lambda k: gettext_(STATUS_LABELS.get(k) or k),
        "industry_name": lambda c: (
            industry_classes()[c].name(current_language.get()) if c in industry_classes() else c
        ),
    }


def _document_context() -> dict[str, Any]:
    """What a page with documents and their upload form needs."""
    return {
        "document_kinds": DOCUMENT_KINDS,
        "document_label": lambda k: gettext_(DOCUMENT_LABELS.get(k) or k),
        "max_mb": MAX_DOCUMENT >> 20,
    }


def denied(request: Request, who: SessionInfo | None, exc: TaihuError) -> HTMLResponse:
    """The page that says why a record is not shown (missing, or not the reader's)."""
    return render_page(
        request, "denied.html", who, status_code=exc.status, message=exc.text(gettext_)
    )


async def submit(
    who: SessionInfo,
    csrf: str,
    session: AsyncSession,
    work: Callable[[], Awaitable[str]],
    refused: Callable[[TaihuError], Awaitable[Response]],
) -> Response:
    """A form's write: CSRF checked, the work in a savepoint, then a redirect to where it says.

    A refused write leaves nothing behind; ``refused`` answers with a page saying why.
    """
    if not secrets.compare_digest(csrf, who.csrf_token):
        return Response(gettext_("Missing or wrong CSRF token."), status_code=403)
    try:
        async with session.begin_nested():
            target = await work()
    except TaihuError as exc:
        return await refused(exc)
    return RedirectResponse(target, status_code=303)


@router.get("/solutions", response_class=HTMLResponse)
async def pool_page(
    request: Request,
    who: Signed,
    session: DbSession,
    runtime: RuntimeDep,
    q: Annotated[str, Query(max_length=200)] = "",
    tag: Annotated[str, Query(max_length=32)] = "",
    industry: Annotated[str, Query(max_length=4)] = "",
    segment: Annotated[str, Query(max_length=64)] = "",
) -> HTMLResponse:
    query = SearchQuery(q, tag, industry, segment)
    results = await PoolService(session, runtime.clock).search(query)
    return render_page(
        request,
        "solutions/index.html",
        who,
        query=query,
        results=results,
        admin=who.principal.is_admin,
        bureau=who.principal.role in (Role.BUREAU, Role.ADMIN),
        **await pool_context(session, runtime),
    )


@router.post("/solutions/tags", response_model=None)
async def tag_submit(
    request: Request,
    who: Signed,
    session: DbSession,
    runtime: RuntimeDep,
    csrf: Annotated[str, Form(max_length=128)] = "",
    key: Annotated[str, Form(max_length=32)] = "",
    name_zh: Annotated[str, Form(max_length=64)] = "",
    name_en: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    async def work() -> str:
        await PoolService(session, runtime.clock).add_tag(who.principal, key, name_zh, name_en)
        return "/solutions"

    async def refused(exc: TaihuError) -> Response:
        return denied(request, who, exc)

    return await submit(who, csrf, session, work, refused)


async def solution_page(
    request: Request,
    solution_id: int,
    who: SessionInfo,
    session: DbSession,
    runtime: RuntimeDep,
    error: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    """A solution with its cases and documents (and, for its editors, their forms)."""
    pool = PoolService(session, runtime.clock)
    try:
        solution = await pool.solution(solution_id)
    except TaihuError as exc:
        return denied(request, who, exc)
    provider = await pool.provider(solution.provider_id)
    cases = (await pool.cases([solution.id]))[solution.id]
    return render_page(
        request,
        "solutions/solution.html",
        who,
        s=solution,
        provider=provider,
        cases=cases,
        case_documents=await SubjectDocuments(session, runtime.clock).of_many(
            "case", [c.id for c in cases]
        ),
        documents=await SolutionDocuments(session, runtime.clock).all(solution.id),
        **_document_context(),
        editor=pool.may_edit(who.principal, provider),
        error=error,
        status_code=status_code,
        **await pool_context(session, runtime),
    )


@router.get("/solutions/{solution_id:int}", response_class=HTMLResponse)
async def solution_view(
    request: Request, solution_id: Id, who: Signed, session: DbSession, runtime: RuntimeDep
) -> HTMLResponse:
    return await solution_page(request, solution_id, who, session, runtime)


@router.post("/solutions/{solution_id:int}/cases", response_model=None)
async def case_submit(
    request: Request,
    solution_id: Id,
    who: Signed,
    session: DbSession,
    runtime: RuntimeDep,
    csrf: Annotated[str, Form(max_length=128)] = "",
    enterprise_name: Annotated[str, Form(max_length=200)] = "",
    change: Annotated[str, Form(max_length=2000)] = "",
    results: Annotated[str, Form(max_length=2000)] = "",
    year: Annotated[int, Form(ge=0, le=2100)] = 0,
    credit_code: Annotated[str, Form(max_length=18)] = "",
) -> Response:
    async def work() -> str:
        spec = CaseSpec(enterprise_name, change, results, year or None, credit_code.strip() or None)
        await PoolService(session, runtime.clock).add_case(who.principal, solution_id, spec)
        return f"/solutions/{solution_id}#cases"

    async def refused(exc: TaihuError) -> Response:
        return await solution_page(
            request, solution_id, who, session, runtime, exc.text(gettext_), exc.status
        )

    return await submit(who, csrf, session, work, refused)


async def provider_page(
    request: Request,
    provider_id: int,
    who: SessionInfo,
    session: DbSession,
    runtime: RuntimeDep,
    error: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    """A provider with its documents and solutions (and, for its editors, the upload form)."""
    pool = PoolService(session, runtime.clock)
    try:
        provider = await pool.provider(provider_id)
    except TaihuError as exc:
        return denied(request, who, exc)
    return render_page(
        request,
        "solutions/provider.html",
        who,
        provider=provider,
        solutions=await pool.search(SearchQuery(provider_id=provider.id)),
        documents=await SubjectDocuments(session, runtime.clock).all("provider", provider.id),
        **_document_context(),
        editor=pool.may_edit(who.principal, provider),
        bureau=who.principal.role in (Role.BUREAU, Role.ADMIN),
        error=error,
        status_code=status_code,
        **await pool_context(session, runtime),
    )


@router.get("/solutions/providers/{provider_id:int}", response_class=HTMLResponse)
async def provider_view(
    request: Request, provider_id: Id, who: Signed, session: DbSession, runtime: RuntimeDep
) -> HTMLResponse:
    return await provider_page(request, provider_id, who, session, runtime)


async def _needs_page(
    request: Request,
    who: SessionInfo,
    session: DbSession,
    runtime: RuntimeDep,
    error: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    rows, _ = await EnterpriseService(session, runtime.clock).list(who.principal, limit=5000)
    names = {e.id: e.name for e in rows}
    own = [(i, names[i]) for i in sorted(who.principal.enterprise_ids) if i in names]
    return render_page(
        request,
        "solutions/needs.html",
        who,
        needs=await NeedService(session, runtime.clock).all(who.principal),
        names=names,
        own=own,
        error=error,
        status_code=status_code,
        **await pool_context(session, runtime),
    )


@router.get("/solutions/needs", response_class=HTMLResponse)
async def needs_page(
    request: Request, who: Signed, session: DbSession, runtime: RuntimeDep
) -> HTMLResponse:
    return await _needs_page(request, who, session, runtime)


@router.post("/solutions/needs", response_model=None)
async def need_submit(
    request: Request,
    who: Signed,
    session: DbSession,
    runtime: RuntimeDep,
    csrf: Annotated[str, Form(max_length=128)] = "",
    enterprise_id: Annotated[int, Form(ge=0)] = 0,
    title: Annotated[str, Form(max_length=200)] = "",
    description: Annotated[str, Form(max_length=4000)] = "",
    tag: Annotated[list[str] | None, Form()] = None,
) -> Response:
    async def work() -> str:
        row = await NeedService(session, runtime.clock).post(
            who.principal, enterprise_id, title, description, tuple(tag or ())
        )
        return f"/solutions/needs/{row.id}"

    async def refused(exc: TaihuError) -> Response:
        return await _needs_page(request, who, session, runtime, exc.text(gettext_), exc.status)

    return await submit(who, csrf, session, work, refused)


async def _need_page(
    request: Request,
    need_id: int,
    who: SessionInfo,
    session: DbSession,
    runtime: RuntimeDep,
    error: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    needs = NeedService(session, runtime.clock)
    try:
        need = await needs.get(who.principal, need_id)
        enterprise = await EnterpriseService(session, runtime.clock).get(
            who.principal, need.enterprise_id
        )
    except TaihuError as exc:
        return denied(request, who, exc)
    context = await pool_context(session, runtime)
    pool = PoolService(session, runtime.clock)
    # The solutions of the need's scenarios first, then the rest of the pool to choose from.
    wanted = [s for t in need.tags for s in await pool.search(SearchQuery(tag=t))]
    wanted += await pool.search(SearchQuery())
    return render_page(
        request,
        "solutions/need.html",
        who,
        need=need,
        enterprise=enterprise,
        events=await needs.history(who.principal, need.id),
        bureau=who.principal.role in (Role.BUREAU, Role.ADMIN),
        owner=need.enterprise_id in who.principal.enterprise_ids,
        candidates=list({s.id: s for s in wanted}.values()),
        error=error,
        status_code=status_code,
        **context,
    )


@router.get("/solutions/needs/{need_id}", response_class=HTMLResponse)
async def need_page(
    request: Request, need_id: Id, who: Signed, session: DbSession, runtime: RuntimeDep
) -> HTMLResponse:
    return await _need_page(request, need_id, who, session, runtime)


@router.post("/solutions/needs/{need_id}/step", response_model=None)
async def need_step_submit(
    request: Request,
    need_id: Id,
    who: Signed,
    session: DbSession,
    runtime: RuntimeDep,
    csrf: Annotated[str, Form(max_length=128)] = "",
    action: Annotated[str, Form(max_length=16)] = "",
    comment: Annotated[str, Form(max_length=1000)] = "",
    solution_id: Annotated[int, Form(ge=0)] = 0,
    outcome: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    async def work() -> str:
        await NeedService(session, runtime.clock).act(
            who.principal,
            need_id,
            action,
            comment,
            solution_id=solution_id or None,
            outcome=outcome,
        )
        return f"/solutions/needs/{need_id}"

    async def refused(exc: TaihuError) -> Response:
        return await _need_page(
            request, need_id, who, session, runtime, exc.text(gettext_), exc.status
        )

    return await submit(who, csrf, session, work, refused)


@router.get("/guides", response_class=HTMLResponse)
async def guides_page(request: Request, session: DbSession, runtime: RuntimeDep) -> HTMLResponse:
    guides = await GuideService(session, runtime.clock).published()
    return render_page(
        request,
        "solutions/guides.html",
        None,
        guides=guides,
        **await pool_context(session, runtime),
    )


@router.get("/guides/{guide_id}", response_class=HTMLResponse)
async def guide_page(
    request: Request, guide_id: Id, session: DbSession, runtime: RuntimeDep
) -> HTMLResponse:
    service = GuideService(session, runtime.clock)
    try:
        guide = await service.get(guide_id)
    except TaihuError as exc:
        return denied(request, None, exc)
    solutions = await service.solutions(guide)
    cases = await PoolService(session, runtime.clock).cases([s.id for s in solutions])
    return render_page(
        request,
        "solutions/guide.html",
        None,
        guide=guide,
        solutions=solutions,
        cases=cases,
        **await pool_context(session, runtime),
    )


async def enterprise_panels(
    session: DbSession, runtime: RuntimeDep, who: SessionInfo, enterprise_id: int
) -> dict[str, Any]:
    """The enterprise page's honours, applications and the pool's suggestions."""
    programmes = {p.id: p for p in await ProgrammeService(session, runtime.clock).all()}
    awards = await RegistryService(session, runtime.clock).awards(
        who.principal, AwardFilter(enterprise_id=enterprise_id)
    )
    applications = await ProgrammeApplications(session, runtime.clock).all(
        who.principal, enterprise_id=enterprise_id
    )
    try:
        suggested = await SuggestionService(session, runtime.clock).for_enterprise(
            who.principal, enterprise_id
        )
    except TaihuError:
        suggested = []
    zh = current_language.get() == "zh_CN"
    return {
        "zh": zh,
        "honours": awards,
        "applications": applications[:50],
        "programme_name": {i: (p.name_zh if zh else p.name_en) for i, p in programmes.items()},
        "suggested": suggested[:10],
        "translate": gettext_,
        "application_status": lambda k: gettext_(PROGRAMME_STATUS.get(k) or k),
    }
