"""HTTP routes of the enterprise registry."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from taihu.accounts import ERROR_RESPONSES, CurrentPrincipal
from taihu.core import DbSession, PageNumber, PageSize, RuntimeDep
from taihu.enterprises.schemas import EnterpriseCreateIn, EnterpriseOut, EnterprisePage
from taihu.enterprises.service import EnterpriseService

__all__ = ["router"]

router = APIRouter(tags=["enterprises"])


def _enterprises(session: DbSession, runtime: RuntimeDep) -> EnterpriseService:
    return EnterpriseService(session, runtime.clock)


Enterprises = Annotated[EnterpriseService, Depends(_enterprises)]


@router.get(
    "/api/enterprises",
    summary="List enterprises",
    description="Staff roles see every enterprise; enterprise users see their own. By name.",
    response_model=EnterprisePage,
    responses=ERROR_RESPONSES,
)
async def list_enterprises(
    principal: CurrentPrincipal,
    enterprises: Enterprises,
    q: Annotated[str | None, Query(max_length=200, description="Name part or credit code")] = None,
    page: PageNumber = 1,
    page_size: PageSize = 50,
) -> EnterprisePage:
    rows, total = await enterprises.list(
        principal, search=q, limit=page_size, offset=(page - 1) * page_size
    )
    return EnterprisePage(
        items=[EnterpriseOut.model_validate(e) for e in rows],
        total=total,
        page=page,
        page_size=page_size,
    )


@router.post(
    "/api/enterprises",
    summary="Register an enterprise",
    description="Admin and bureau. The credit code is checked against GB 32100-2015.",
    status_code=status.HTTP_201_CREATED,
    response_model=EnterpriseOut,
    responses={
        **ERROR_RESPONSES,
        400: {
            "description": "Invalid credit code or name",
            "content": {
                "application/json": {
                    "example": {
                        "error": "bad_credit_code",
                        "message": "'91320509MA1Y2B3C0X' fails the GB 32100-2015 check: the "
                        "18th character should be 'Y', not 'X' (is a character mistyped?)",
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
    return EnterpriseOut.model_validate(
        await enterprises.create(principal, body.name, body.credit_code)
    )


@router.get(
    "/api/enterprises/{enterprise_id}",
    summary="One enterprise",
    description="403 `enterprise_forbidden` for an enterprise the caller does not act for.",
    response_model=EnterpriseOut,
    responses={**ERROR_RESPONSES, 404: {"description": "No such enterprise"}},
)
async def get_enterprise(
    enterprise_id: int, principal: CurrentPrincipal, enterprises: Enterprises
) -> EnterpriseOut:
    return EnterpriseOut.model_validate(await enterprises.get(principal, enterprise_id))
