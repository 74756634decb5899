"""HTTP routes of the enterprise registry."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from taihu.accounts import ERROR_RESPONSES, CurrentPrincipal
from taihu.core import (
    DbSession,
    DryRun,
    Id,
    ImportFile,
    ImportReportOut,
    PageNumber,
    PageSize,
    RuntimeDep,
    SkipInvalid,
    import_upload,
)
from taihu.enterprises.industry import industry_classes, search_industry
from taihu.enterprises.models import Enterprise
from taihu.enterprises.places import townships
from taihu.enterprises.registry_import import import_registry
from taihu.enterprises.schemas import (
    EnterpriseCreateIn,
    EnterpriseOut,
    EnterprisePage,
    EnterpriseUpdateIn,
    IndustryClassOut,
    TownshipOut,
)
from taihu.enterprises.service import EnterpriseFilter, EnterpriseService

__all__ = ["enterprise_out", "router"]

router = APIRouter(tags=["enterprises"])


def _enterprises(session: DbSession, runtime: RuntimeDep) -> EnterpriseService:
    return EnterpriseService(session, runtime.clock)


Enterprises = Annotated[EnterpriseService, Depends(_enterprises)]


def enterprise_out(enterprise: Enterprise) -> EnterpriseOut:
    """An enterprise with the names of its township and industry class."""
    out = EnterpriseOut.model_validate(enterprise)
    if enterprise.township_code:
        found = townships().get(enterprise.township_code)
        out.township_name = found.name_zh if found else None
    if enterprise.industry_code:
        cls = industry_classes().get(enterprise.industry_code)
        out.industry_name = cls.name_zh if cls else None
    return out


@router.get(
    "/api/enterprises",
    summary="List and search enterprises",
    description="Staff roles see every enterprise; enterprise users see their own. By name. "
    "Filters combine: `q` (name part or credit code), `township` (9-digit code), `industry` "
    "(section letter or GB/T 4754 code prefix, e.g. `C`, `38`, `383`, `3832`) and the flags.",
    response_model=EnterprisePage,
    responses=ERROR_RESPONSES,
)
async def list_enterprises(
    principal: CurrentPrincipal,
    enterprises: Enterprises,
    q: Annotated[str | None, Query(max_length=200, description="Name part or credit code")] = None,
    township: Annotated[str | None, Query(max_length=9, description="Township code")] = None,
    industry: Annotated[
        str | None, Query(max_length=5, description="Section letter or class code prefix")
    ] = None,
    above_size: Annotated[bool | None, Query(description="规上 only (true) or not")] = None,
    key_enterprise: Annotated[bool | None, Query(description="重点企业")] = None,
    chain_leader: Annotated[bool | None, Query(description="链主企业")] = None,
    page: PageNumber = 1,
    page_size: PageSize = 50,
) -> EnterprisePage:
    where = EnterpriseFilter(
        search=q, township_code=township, industry=industry, above_size=above_size,
        key_enterprise=key_enterprise, chain_leader=chain_leader,
    )  # fmt: skip
    rows, total = await enterprises.list(
        principal, where=where, limit=page_size, offset=(page - 1) * page_size
    )
    return EnterprisePage(
        items=[enterprise_out(e) for e in rows], total=total, page=page, page_size=page_size
    )


@router.post(
    "/api/enterprises",
    summary="Register an enterprise",
    description="Admin and bureau. The credit code is checked against GB 32100-2015 and its "
    "organisation code against GB 11714; township and industry class against the shipped "
    "tables.",
    status_code=status.HTTP_201_CREATED,
    response_model=EnterpriseOut,
    responses={
        **ERROR_RESPONSES,
        400: {
            "description": "Invalid credit code, name, township or industry class",
            "content": {
                "application/json": {
                    "example": {
                        "error": "bad_credit_code",
                        "message": "'91320509MA1Y2B3C8X' fails the GB 32100-2015 check: the "
                        "18th character should be 'P', not 'X' (is a character mistyped?)",
                    }
                }
            },
        },
        409: {"description": "The credit code is registered already"},
    },
)
async def create_enterprise(
    body: EnterpriseCreateIn, principal: CurrentPrincipal, enterprises: Enterprises
) -> EnterpriseOut:
    return enterprise_out(
        await enterprises.create(principal, body.name, body.credit_code, body.profile())
    )


@router.post(
    "/api/enterprises/import",
    summary="Import enterprises from xlsx or CSV",
    description="Admin and bureau. Multipart upload `file` (.xlsx or .csv, header in row 1; "
    "columns in docs/industry-map.md). Every row is validated first; the report lists each "
    "problem by row, column and reason. By default nothing is written when any row fails; "
    "`skip_invalid=true` writes the valid rows only. A registered credit code updates that "
    "enterprise. `dry_run=true` validates and counts without writing.",
    response_model=ImportReportOut,
    responses={**ERROR_RESPONSES, 400: {"description": "Not a readable xlsx or CSV file"}},
)
async def import_enterprises(
    principal: CurrentPrincipal,
    session: DbSession,
    runtime: RuntimeDep,
    file: ImportFile,
    skip_invalid: SkipInvalid = False,
    dry_run: DryRun = False,
) -> ImportReportOut:
    return await import_upload(
        file,
        lambda name, content: import_registry(
            session, runtime.clock, principal, name, content, skip_invalid=skip_invalid,
            dry_run=dry_run,
        ),
    )  # fmt: skip


@router.get(
    "/api/enterprises/{enterprise_id:int}",  # so /api/enterprises/import is not one
    summary="One enterprise",
    description="403 `enterprise_forbidden` for an enterprise the caller does not act for.",
    response_model=EnterpriseOut,
    responses={**ERROR_RESPONSES, 404: {"description": "No such enterprise"}},
)
async def get_enterprise(
    enterprise_id: Id, principal: CurrentPrincipal, enterprises: Enterprises
) -> EnterpriseOut:
    return enterprise_out(await enterprises.get(principal, enterprise_id))


@router.put(
    "/api/enterprises/{enterprise_id:int}",  # so /api/enterprises/import is not one
    summary="Update an enterprise's registry facts",
    description="Admin and bureau. Replaces every registry field (the credit code stays); the "
    "change is audited field by field.",
    response_model=EnterpriseOut,
    responses={**ERROR_RESPONSES, 404: {"description": "No such enterprise"}},
)
async def update_enterprise(
    enterprise_id: Id,
    body: EnterpriseUpdateIn,
    principal: CurrentPrincipal,
    enterprises: Enterprises,
) -> EnterpriseOut:
    return enterprise_out(
        await enterprises.update(principal, enterprise_id, body.name, body.profile())
    )


@router.get(
    "/api/industry-classes",
    summary="Search GB/T 4754-2017 classes",
    description="Four-digit classes whose code starts with `q` or whose name contains it.",
    response_model=list[IndustryClassOut],
    responses=ERROR_RESPONSES,
)
async def list_industry_classes(
    _principal: CurrentPrincipal,
    q: Annotated[str, Query(min_length=1, max_length=40)],
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> list[IndustryClassOut]:
    return [IndustryClassOut.model_validate(c) for c in search_industry(q, limit)]


@router.get(
    "/api/townships",
    summary="Townships of the district",
    description="The township-level divisions enterprises are located in.",
    response_model=list[TownshipOut],
    responses=ERROR_RESPONSES,
)
async def list_townships(_principal: CurrentPrincipal) -> list[TownshipOut]:
    return [TownshipOut.model_validate(t) for t in townships().values()]
