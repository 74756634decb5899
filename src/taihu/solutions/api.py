"""HTTP routes of the solution pool, matchmaking and the industry guides."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Response, UploadFile, status

from taihu.accounts import ERROR_RESPONSES, CurrentPrincipal, Principal
from taihu.core import MAX_ID, Id
from taihu.identifiers import MAX_DOCUMENT
from taihu.programmes import attachment, uploads_of
from taihu.solutions import subject_api
from taihu.solutions.deps import Documents, Guides, Needs, Pool, Suggestions
from taihu.solutions.documents import DOCUMENT_KINDS, MAX_FILES
from taihu.solutions.guides import GuideSpec
from taihu.solutions.models import Need, Solution
from taihu.solutions.needs import NeedService
from taihu.solutions.pool import CaseSpec, PoolService, ProviderSpec, SearchQuery, SolutionSpec
from taihu.solutions.schemas import (
    CaseIn,
    CaseOut,
    DocumentOut,
    EventOut,
    GuideIn,
    GuideOut,
    NeedActionIn,
    NeedIn,
    NeedOut,
    ProviderIn,
    ProviderOut,
    SolutionIn,
    SolutionOut,
    SolutionTagIn,
    SolutionTagOut,
    SuggestionOut,
)

__all__ = ["router", "solution_out"]

router = APIRouter(tags=["solutions"])
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    404: {"description": "No such record (or not yours)"},
}
_WRITE: dict[int | str, dict[str, Any]] = {
    **_NOT_FOUND,
    409: {"description": "Exists already, or not a valid step for the state"},
}


async def solution_out(pool: PoolService, rows: list[Solution]) -> list[SolutionOut]:
    """Solutions with their cases."""
    cases = await pool.cases([s.id for s in rows])
    out = []
    for row in rows:
        item = SolutionOut.model_validate(row)
        item.cases = [CaseOut.model_validate(c) for c in cases[row.id]]
        out.append(item)
    return out


def _provider(body: ProviderIn) -> ProviderSpec:
    return ProviderSpec(
        body.name, body.kind, body.name_en, body.credit_code or None, body.description, body.website
    )


def _spec(body: SolutionIn) -> SolutionSpec:
    return SolutionSpec(
        body.title_zh,
        body.title_en,
        body.summary,
        tuple(body.tags),
        tuple(body.industry_codes),
        tuple(body.segments),
        body.price_min,
        body.price_max,
    )


async def _need_out(needs: NeedService, actor: Principal, row: Need) -> NeedOut:
    out = NeedOut.model_validate(row)
    out.events = [EventOut.model_validate(e) for e in await needs.history(actor, row.id)]
    return out


@router.get(
    "/api/solutions/tags",
    summary="Scenario tags",
    response_model=list[SolutionTagOut],
    description="The maintained vocabulary (设备上云, 能耗管理, 质量追溯 …).",
    responses=ERROR_RESPONSES,
)
async def list_tags(_principal: CurrentPrincipal, pool: Pool) -> list[SolutionTagOut]:
    return [SolutionTagOut.model_validate(t) for t in await pool.tags()]


@router.post(
    "/api/solutions/tags",
    summary="Add a scenario tag",
    response_model=SolutionTagOut,
    status_code=status.HTTP_201_CREATED,
    description="Admin.",
    responses=_WRITE,
)
async def add_tag(body: SolutionTagIn, principal: CurrentPrincipal, pool: Pool) -> SolutionTagOut:
    row = await pool.add_tag(principal, body.key, body.name_zh, body.name_en)
    return SolutionTagOut.model_validate(row)


@router.get(
    "/api/solutions/providers",
    summary="List providers",
    description="Every provider of the pool (platform companies, service organisations, "
    "research institutes), by name.",
    response_model=list[ProviderOut],
    responses=ERROR_RESPONSES,
)
async def list_providers(_principal: CurrentPrincipal, pool: Pool) -> list[ProviderOut]:
    rows = await pool.providers()
    return [ProviderOut.model_validate(p) for p in rows]


@router.post(
    "/api/solutions/providers",
    summary="Add a provider",
    response_model=ProviderOut,
    status_code=status.HTTP_201_CREATED,
    description="Bureau. An enterprise's credit code links the provider to the "
    "registry: that enterprise's users then edit its solutions.",
    responses=_WRITE,
)
async def create_provider(body: ProviderIn, principal: CurrentPrincipal, pool: Pool) -> ProviderOut:
    row = await pool.create_provider(principal, _provider(body))
    return ProviderOut.model_validate(row)


@router.put(
    "/api/solutions/providers/{provider_id}",
    summary="Rewrite a provider",
    response_model=ProviderOut,
    description="Bureau. The credit code links the provider to the registry's enterprise again.",
    responses=_WRITE,
)
async def update_provider(
    provider_id: Id, body: ProviderIn, principal: CurrentPrincipal, pool: Pool
) -> ProviderOut:
    row = await pool.update_provider(principal, provider_id, _provider(body))
    return ProviderOut.model_validate(row)


@router.get(
    "/api/solutions",
    summary="Search solutions",
    response_model=list[SolutionOut],
    description="Filters combine: `q` words in either language (titles, summary, "
    "provider, tag names), `tag` key, `industry` (GB/T 4754 code or prefix), "
    "`segment` (chain segment key), `provider_id`.",
    responses=ERROR_RESPONSES,
)
async def search_solutions(
    _principal: CurrentPrincipal,
    pool: Pool,
    q: Annotated[str, Query(max_length=200, examples=["能耗"])] = "",
    tag: Annotated[str, Query(max_length=32)] = "",
    industry: Annotated[str, Query(max_length=4, examples=["38"])] = "",
    segment: Annotated[str, Query(max_length=64)] = "",
    provider_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> list[SolutionOut]:
    rows = await pool.search(SearchQuery(q, tag, industry, segment, provider_id))
    return await solution_out(pool, rows[:500])


@router.post(
    "/api/solutions/providers/{provider_id}/solutions",
    summary="Add a solution",
    response_model=SolutionOut,
    status_code=status.HTTP_201_CREATED,
    description="Bureau, or the provider's own users.",
    responses=_WRITE,
)
async def create_solution(
    provider_id: Id,
    body: SolutionIn,
    principal: CurrentPrincipal,
    pool: Pool,
) -> SolutionOut:
    row = await pool.create_solution(principal, provider_id, _spec(body))
    return (await solution_out(pool, [row]))[0]


@router.get(
    "/api/solutions/{solution_id:int}",
    summary="One solution",
    description="Its scenarios, industry classes, chain segments, price range and cases.",
    response_model=SolutionOut,
    responses=_NOT_FOUND,
)
async def get_solution(solution_id: Id, _principal: CurrentPrincipal, pool: Pool) -> SolutionOut:
    return (await solution_out(pool, [await pool.solution(solution_id)]))[0]


@router.put(
    "/api/solutions/{solution_id:int}",
    summary="Rewrite a solution",
    response_model=SolutionOut,
    description="Bureau, or the provider's own users.",
    responses=_WRITE,
)
async def update_solution(
    solution_id: Id,
    body: SolutionIn,
    principal: CurrentPrincipal,
    pool: Pool,
) -> SolutionOut:
    row = await pool.update_solution(principal, solution_id, _spec(body))
    return (await solution_out(pool, [row]))[0]


@router.post(
    "/api/solutions/{solution_id:int}/cases",
    summary="Add a reference case",
    response_model=CaseOut,
    status_code=status.HTTP_201_CREATED,
    description="Bureau, or the provider's own users.",
    responses=_WRITE,
)
async def add_case(
    solution_id: Id,
    body: CaseIn,
    principal: CurrentPrincipal,
    pool: Pool,
) -> CaseOut:
    spec = CaseSpec(
        body.enterprise_name, body.change, body.results, body.year, body.credit_code or None
    )
    row = await pool.add_case(principal, solution_id, spec)
    return CaseOut.model_validate(row)


@router.get(
    "/api/solutions/{solution_id:int}/documents",
    summary="A solution's documents",
    response_model=list[DocumentOut],
    description="Brochures, case reports, certificates (without their bytes).",
    responses=_NOT_FOUND,
)
async def list_solution_documents(
    solution_id: Id, _principal: CurrentPrincipal, documents: Documents
) -> list[DocumentOut]:
    return [DocumentOut.model_validate(d) for d in await documents.all(solution_id)]


@router.post(
    "/api/solutions/{solution_id:int}/documents",
    summary="Upload documents to a solution",
    response_model=list[DocumentOut],
    status_code=status.HTTP_201_CREATED,
    description="Bureau, or the provider's own users. Multipart: one `kind` per `file` "
    f"({', '.join(DOCUMENT_KINDS)}); PDF, PNG or JPEG of at most {MAX_DOCUMENT >> 20} MB, "
    f"at most {MAX_FILES} per solution. Nothing is kept when any file is refused.",
    responses=_WRITE,
)
async def upload_solution_documents(
    solution_id: Id,
    principal: CurrentPrincipal,
    documents: Documents,
    # Not required in the schema: no file at all is the service's clear 400, not a 422.
    kind: Annotated[list[str], Form(examples=[["brochure"]])] = [],  # noqa: B006 - FastAPI copies defaults
    file: Annotated[list[UploadFile | str], File(description="The files, one per kind")] = [],  # noqa: B006
) -> list[DocumentOut]:
    rows = await documents.add(principal, solution_id, await uploads_of(kind, file))
    return [DocumentOut.model_validate(d) for d in rows]


@router.get(
    "/api/solutions/{solution_id:int}/documents/{document_id}",
    summary="Read a solution's document",
    response_class=Response,
    description="Every signed-in user (the pool is open to them); sent as a download.",
    responses=_NOT_FOUND,
)
async def read_solution_document(
    solution_id: Id, document_id: Id, _principal: CurrentPrincipal, documents: Documents
) -> Response:
    row = await documents.read(solution_id, document_id)
    return attachment(row.filename, row.content_type, row.content)


@router.delete(
    "/api/solutions/{solution_id:int}/documents/{document_id}",
    summary="Delete a solution's document",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    description="Bureau, or the provider's own users.",
    responses=_WRITE,
)
async def delete_solution_document(
    solution_id: Id, document_id: Id, principal: CurrentPrincipal, documents: Documents
) -> Response:
    await documents.delete(principal, solution_id, document_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/api/solutions/suggestions",
    summary="Solutions suggested for an enterprise",
    response_model=list[SuggestionOut],
    description="From its industry class, its chains' gaps (补链/强链) and what it "
    "lacks (no devices, no identifier prefix, no 星级上云 award). The enterprise's "
    "users and staff.",
    responses=_NOT_FOUND,
)
async def suggestions(
    enterprise_id: Annotated[int, Query(ge=1, le=MAX_ID)],
    principal: CurrentPrincipal,
    pool: Pool,
    suggested: Suggestions,
) -> list[SuggestionOut]:
    found = await suggested.for_enterprise(principal, enterprise_id)
    solutions = await solution_out(pool, [s.solution for s in found])
    return [
        SuggestionOut(solution=out, reasons=[r.render() for r in s.reasons])
        for out, s in zip(solutions, found, strict=True)
    ]


@router.get(
    "/api/solutions/segment-providers",
    summary="Providers for a chain segment",
    response_model=list[ProviderOut],
    description="Providers with a solution for the segment a 补链 suggestion names.",
    responses=ERROR_RESPONSES,
)
async def segment_providers(
    segment: Annotated[str, Query(min_length=1, max_length=64, examples=["fibre.preform"])],
    _principal: CurrentPrincipal,
    suggested: Suggestions,
) -> list[ProviderOut]:
    rows = await suggested.providers_for_segment(segment)
    return [ProviderOut.model_validate(p) for p in rows]


@router.get(
    "/api/solutions/needs",
    summary="List needs",
    response_model=list[NeedOut],
    description="Enterprise users see their enterprises' needs; staff see all.",
    responses=ERROR_RESPONSES,
)
async def list_needs(
    principal: CurrentPrincipal,
    needs: Needs,
    status_: Annotated[
        str | None, Query(alias="status", pattern="^(open|matched|in_progress|closed|withdrawn)$")
    ] = None,
) -> list[NeedOut]:
    rows = await needs.all(principal, status_)
    return [await _need_out(needs, principal, r) for r in rows[:200]]


@router.post(
    "/api/solutions/needs",
    summary="Post a need",
    response_model=NeedOut,
    status_code=status.HTTP_201_CREATED,
    description="An enterprise's users, for an enterprise they act for.",
    responses=_WRITE,
)
async def post_need(body: NeedIn, principal: CurrentPrincipal, needs: Needs) -> NeedOut:
    row = await needs.post(
        principal, body.enterprise_id, body.title, body.description, tuple(body.tags)
    )
    return await _need_out(needs, principal, row)


@router.get(
    "/api/solutions/needs/{need_id}",
    summary="One need",
    response_model=NeedOut,
    description="With its history.",
    responses=_NOT_FOUND,
)
async def get_need(need_id: Id, principal: CurrentPrincipal, needs: Needs) -> NeedOut:
    return await _need_out(needs, principal, await needs.get(principal, need_id))


@router.post(
    "/api/solutions/needs/{need_id}/steps",
    summary="Move a need on",
    response_model=NeedOut,
    description="`match` (bureau; a `provider_id` or `solution_id`), `start` (bureau "
    "or the enterprise), `close` (bureau; `outcome` resolved/unresolved and a "
    "`comment`), `withdraw` (the enterprise, while open or matched).",
    responses=_WRITE,
)
async def need_step(
    need_id: Id,
    body: NeedActionIn,
    principal: CurrentPrincipal,
    needs: Needs,
) -> NeedOut:
    row = await needs.act(
        principal,
        need_id,
        body.action,
        body.comment,
        provider_id=body.provider_id,
        solution_id=body.solution_id,
        outcome=body.outcome,
    )
    return await _need_out(needs, principal, row)


@router.get(
    "/api/solutions/guides",
    summary="Industry application guides",
    response_model=list[GuideOut],
    description="Published guides; staff see drafts too.",
    responses=ERROR_RESPONSES,
)
async def list_guides(principal: CurrentPrincipal, guides: Guides) -> list[GuideOut]:
    rows = await guides.all(principal)
    return [GuideOut.model_validate(g) for g in rows]


@router.post(
    "/api/solutions/guides",
    summary="Write a guide",
    response_model=GuideOut,
    status_code=status.HTTP_201_CREATED,
    description="Bureau.",
    responses=_WRITE,
)
async def create_guide(body: GuideIn, principal: CurrentPrincipal, guides: Guides) -> GuideOut:
    row = await guides.save(principal, _guide(body))
    return GuideOut.model_validate(row)


@router.put(
    "/api/solutions/guides/{guide_id}",
    summary="Rewrite a guide",
    response_model=GuideOut,
    description="Bureau.",
    responses=_WRITE,
)
async def update_guide(
    guide_id: Id,
    body: GuideIn,
    principal: CurrentPrincipal,
    guides: Guides,
) -> GuideOut:
    row = await guides.save(principal, _guide(body), guide_id)
    return GuideOut.model_validate(row)


def _guide(body: GuideIn) -> GuideSpec:
    return GuideSpec(
        body.industry_code,
        body.title_zh,
        body.title_en,
        body.body,
        tuple(body.solution_ids),
        body.published,
    )


# The documents of providers and reference cases: routes of their own module, served with these.
router.include_router(subject_api.router)
