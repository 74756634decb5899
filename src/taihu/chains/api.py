"""HTTP routes of the chains context: templates, tags, supply edges and analytics."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Query, UploadFile, status

from taihu.accounts import ERROR_RESPONSES, CurrentPrincipal
from taihu.chains.analysis_schemas import AnalysisOut, DisruptionIn, DisruptionOut
from taihu.chains.analytics import Thresholds
from taihu.chains.edge_import import import_edges
from taihu.chains.schemas import (
    ChainOut,
    EdgeCreateIn,
    EdgeOut,
    EdgePage,
    OutsideSupplierOut,
    OutsideSupplierPage,
    SuggestOut,
    TagDecisionIn,
    TagIn,
    TagOut,
    TagPage,
    TemplateImportOut,
    TemplateIn,
    TemplateVersionOut,
)
from taihu.chains.service import ChainService, EdgeIn
from taihu.chains.template_import import import_templates
from taihu.chains.templates import parse_template
from taihu.core import (
    N_,
    DbSession,
    DryRun,
    Id,
    ImportFile,
    ImportReportOut,
    InvalidInput,
    PageNumber,
    PageSize,
    RuntimeDep,
    SkipInvalid,
    import_upload,
    read_upload,
)

__all__ = ["router"]

router = APIRouter(tags=["chains"])
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such chain, tag or enterprise"}
}


def _chains(session: DbSession, runtime: RuntimeDep) -> ChainService:
    return ChainService(session, runtime.clock)


Chains = Annotated[ChainService, Depends(_chains)]


@router.get(
    "/api/chains",
    summary="Chain templates",
    description="The current version of every chain template with its ordered segments "
    "(upstream to downstream), each with names in Chinese and English, position, key-segment "
    "flag, the segments it supplies, GB/T 4754-2017 classes and product keywords.",
    response_model=list[ChainOut],
    responses=ERROR_RESPONSES,
)
async def list_chains(_principal: CurrentPrincipal, chains: Chains) -> list[ChainOut]:
    return [ChainOut.of(c) for c in await chains.templates.current()]


@router.post(
    "/api/chains",
    summary="Create a chain template",
    description="Admin and bureau; audited. Saved as version 1. Segment keys must not be used "
    "by another chain; `supplies` names segments of the same chain. 409 `chain_exists` for a "
    "known key.",
    status_code=status.HTTP_201_CREATED,
    response_model=ChainOut,
    responses={**ERROR_RESPONSES, 409: {"description": "The chain or a segment key exists"}},
)
async def create_chain(body: TemplateIn, principal: CurrentPrincipal, chains: Chains) -> ChainOut:
    chain = parse_template(body.model_dump(exclude={"note"}))
    saved, _outcome = await chains.templates.save(principal, chain, note=body.note, create=True)
    return ChainOut.of(saved)


@router.put(
    "/api/chains/{chain_key}/template",
    summary="Write a new version of a chain template",
    description="Admin and bureau; audited. The body is the whole template; the previous "
    "versions stay in the history and analyses use the new one. The same content as the "
    "current version writes no version.",
    response_model=ChainOut,
    responses={**ERROR_RESPONSES, **_NOT_FOUND, 409: {"description": "A segment key is taken"}},
)
async def update_chain(
    chain_key: str, body: TemplateIn, principal: CurrentPrincipal, chains: Chains
) -> ChainOut:
    if body.key is not None and body.key != chain_key:
        raise InvalidInput(
            N_("the body's key {key} is not the chain {chain} of the address"),
            code="bad_template", key=body.key, chain=chain_key,
        )  # fmt: skip
    chain = parse_template({**body.model_dump(exclude={"note"}), "key": chain_key})
    saved, _outcome = await chains.templates.save(principal, chain, note=body.note, create=False)
    return ChainOut.of(saved)


@router.get(
    "/api/chains/{chain_key}/template",
    summary="One chain template",
    description="The current version, or `version=N` for an earlier one.",
    response_model=ChainOut,
    responses={**ERROR_RESPONSES, **_NOT_FOUND},
)
async def get_chain(
    chain_key: str,
    _principal: CurrentPrincipal,
    chains: Chains,
    version: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
) -> ChainOut:
    return ChainOut.of(await chains.templates.get(chain_key, version))


@router.get(
    "/api/chains/{chain_key}/versions",
    summary="History of a chain template",
    description="Every version, newest first, with who wrote it, when and why.",
    response_model=list[TemplateVersionOut],
    responses={**ERROR_RESPONSES, **_NOT_FOUND},
)
async def chain_history(
    chain_key: str, _principal: CurrentPrincipal, chains: Chains
) -> list[TemplateVersionOut]:
    return [TemplateVersionOut.of(v) for v in await chains.templates.history(chain_key)]


@router.post(
    "/api/chains/import",
    summary="Import chain templates from a file",
    description="Admin and bureau. Multipart `file`: JSON, or xlsx/CSV with one row per "
    "segment (layout in docs/industry-map.md). Every template is checked first; nothing is "
    "written when one fails unless `skip_invalid=true`; a changed template gets its next "
    "version, an unchanged one none.",
    response_model=TemplateImportOut,
    responses=ERROR_RESPONSES,
)
async def import_chain_file(
    principal: CurrentPrincipal,
    session: DbSession,
    runtime: RuntimeDep,
    file: Annotated[UploadFile, File(description="The .json, .xlsx or .csv file")],
    skip_invalid: Annotated[bool, Query(description="Write the valid templates only")] = False,
    dry_run: Annotated[bool, Query(description="Check without writing")] = False,
) -> TemplateImportOut:
    content = await read_upload(file)
    result = await import_templates(
        session, runtime.clock, principal, file.filename or "upload.json", content,
        skip_invalid=skip_invalid, dry_run=dry_run,
    )  # fmt: skip
    report = ImportReportOut.model_validate(result.report)
    return TemplateImportOut(**report.model_dump(), templates=result.templates)


@router.get(
    "/api/chains/{chain_key}/analysis",
    summary="Gap and risk analysis of a chain",
    description="Staff roles. Completeness, per-segment local counts and status (missing, "
    "weak, chokepoint), single-source inputs with HHI, out-of-region shares by ring, "
    "betweenness and articulation points, and suggestions 建链/补链/强链/延链. Formulas in "
    "docs/industry-map.md.",
    response_model=AnalysisOut,
    responses={**ERROR_RESPONSES, **_NOT_FOUND},
)
async def analyze(
    chain_key: str,
    principal: CurrentPrincipal,
    chains: Chains,
    weak_ratio: Annotated[float, Query(ge=0, le=1, description="Weak below this")] = 0.3,
    chokepoint_dependants: Annotated[int, Query(ge=1, le=1000)] = 5,
) -> AnalysisOut:
    limits = Thresholds(weak_ratio=weak_ratio, chokepoint_dependants=chokepoint_dependants)
    chain = await chains.templates.get(chain_key)
    analysis, graph = await chains.analyze(principal, chain_key, limits, template=chain)
    return AnalysisOut.of(analysis, graph, chain)


@router.post(
    "/api/chains/disruption",
    summary="What-if disruption",
    description="Staff roles. Given enterprises that are down (credit codes, or suppliers "
    "outside the district by name or `ext:` key), the enterprises "
    "that lose every non-substitutable supplier of an input, transitively, the annual value at "
    "risk, and the unblock list: whom to bring back first to restore the most downstream value.",
    response_model=DisruptionOut,
    responses=ERROR_RESPONSES,
)
async def disruption(
    body: DisruptionIn, principal: CurrentPrincipal, chains: Chains
) -> DisruptionOut:
    result, graph = await chains.disrupt(principal, body.down, unblock=body.unblock)
    return DisruptionOut.of(result, graph)


@router.get(
    "/api/supply-edges",
    summary="Supply relationships",
    description="Staff roles see all; enterprise users those where their enterprise buys or "
    "sells. `enterprise_id` keeps one enterprise's suppliers and buyers (403 "
    "`enterprise_forbidden` for an enterprise the caller does not act for).",
    response_model=EdgePage,
    responses={**ERROR_RESPONSES, **_NOT_FOUND},
)
async def list_edges(
    principal: CurrentPrincipal,
    chains: Chains,
    enterprise_id: Id | None = None,
    page: PageNumber = 1,
    page_size: PageSize = 50,
) -> EdgePage:
    rows, total = await chains.edges(
        principal, enterprise_id=enterprise_id, limit=page_size, offset=(page - 1) * page_size
    )
    return EdgePage(
        items=[EdgeOut.model_validate(r) for r in rows], total=total, page=page,
        page_size=page_size,
    )  # fmt: skip


@router.post(
    "/api/supply-edges",
    summary="Record a supply relationship",
    description="Admin and bureau. The buyer and a district supplier must be registered; a "
    "supplier outside the district is given by name, with its city, province and country "
    "(recorded as an outside supplier, never a local member of a segment). Refused: negative "
    "values, a supplier buying from itself, an input flowing in a circle.",
    status_code=status.HTTP_201_CREATED,
    response_model=EdgeOut,
    responses={**ERROR_RESPONSES, 409: {"description": "Recorded already"}},
)
async def create_edge(body: EdgeCreateIn, principal: CurrentPrincipal, chains: Chains) -> EdgeOut:
    edge = EdgeIn(
        buyer_code=body.buyer_code, input_category=body.input_category,
        annual_value=body.annual_value, ring=body.ring.value, supplier_code=body.supplier_code,
        supplier_name=body.supplier_name, substitutable=body.substitutable,
        supplier_city=body.supplier_city, supplier_province=body.supplier_province,
        supplier_country=body.supplier_country,
    )  # fmt: skip
    return EdgeOut.model_validate(await chains.add_edge(principal, edge))


@router.post(
    "/api/supply-edges/import",
    summary="Import supply relationships from xlsx or CSV",
    description="Admin and bureau. Multipart `file`; columns in docs/industry-map.md. Same "
    "report and rules as the enterprise import: nothing written when a row fails unless "
    "`skip_invalid=true`; a known (supplier, buyer, input) updates the edge.",
    response_model=ImportReportOut,
    responses=ERROR_RESPONSES,
)
async def import_edge_file(
    principal: CurrentPrincipal,
    session: DbSession,
    runtime: RuntimeDep,
    file: ImportFile,
    skip_invalid: SkipInvalid = False,
    dry_run: DryRun = False,
) -> ImportReportOut:
    return await import_upload(
        file,
        lambda name, content: import_edges(
            session, runtime.clock, principal, name, content, skip_invalid=skip_invalid,
            dry_run=dry_run,
        ),
    )  # fmt: skip


@router.get(
    "/api/outside-suppliers",
    summary="Suppliers outside the district",
    description="Staff roles. The suppliers beyond the district that supply edges name (key "
    "`ext:<name>`), with the city, province and country the edges gave. They are nodes of "
    "their own: never local members of a segment, and they can be taken down in a what-if.",
    response_model=OutsideSupplierPage,
    responses=ERROR_RESPONSES,
)
async def list_outside_suppliers(
    principal: CurrentPrincipal, chains: Chains, page: PageNumber = 1, page_size: PageSize = 50
) -> OutsideSupplierPage:
    rows, total = await chains.outside_suppliers(
        principal, limit=page_size, offset=(page - 1) * page_size
    )
    return OutsideSupplierPage(
        items=[OutsideSupplierOut.model_validate(r) for r in rows], total=total, page=page,
        page_size=page_size,
    )  # fmt: skip


@router.get(
    "/api/chain-tags",
    summary="Enterprise-segment tags",
    description="Filter by `status` (suggested, confirmed, rejected), `segment` and "
    "`enterprise_id`. Enterprise users see their own enterprises' tags.",
    response_model=TagPage,
    responses=ERROR_RESPONSES,
)
async def list_tags(
    principal: CurrentPrincipal,
    chains: Chains,
    status: Annotated[str | None, Query(max_length=16)] = None,
    segment: Annotated[str | None, Query(max_length=64)] = None,
    enterprise_id: Id | None = None,
    page: PageNumber = 1,
    page_size: PageSize = 50,
) -> TagPage:
    rows, total = await chains.tags(
        principal, status=status, segment=segment, enterprise_id=enterprise_id,
        limit=page_size, offset=(page - 1) * page_size,
    )  # fmt: skip
    return TagPage(
        items=[TagOut.model_validate(t) for t in rows], total=total, page=page,
        page_size=page_size,
    )  # fmt: skip


@router.post(
    "/api/chain-tags",
    summary="Place an enterprise in a segment",
    description="Admin and bureau; the tag is confirmed at once and audited.",
    status_code=status.HTTP_201_CREATED,
    response_model=TagOut,
    responses={**ERROR_RESPONSES, **_NOT_FOUND},
)
async def create_tag(body: TagIn, principal: CurrentPrincipal, chains: Chains) -> TagOut:
    return TagOut.model_validate(await chains.tag(principal, body.enterprise_id, body.segment_key))


@router.post(
    "/api/chain-tags/suggest",
    summary="Suggest segments for every enterprise",
    description="Admin and bureau. Scores each enterprise against each segment by industry "
    "class (0.6) and name keywords (0.4) and suggests those scoring 0.4 or more; decided tags "
    "stay as they are.",
    response_model=SuggestOut,
    responses=ERROR_RESPONSES,
)
async def suggest_tags(principal: CurrentPrincipal, chains: Chains) -> SuggestOut:
    return SuggestOut(suggested=await chains.suggest_tags(principal))


@router.post(
    "/api/chain-tags/{tag_id}/decision",
    summary="Confirm or reject a tag",
    description="Admin and bureau; audited with who decided and when.",
    response_model=TagOut,
    responses={**ERROR_RESPONSES, **_NOT_FOUND},
)
async def decide_tag(
    tag_id: Id, body: TagDecisionIn, principal: CurrentPrincipal, chains: Chains
) -> TagOut:
    return TagOut.model_validate(await chains.decide_tag(principal, tag_id, confirm=body.confirm))
