"""HTTP routes of the enterprise registry."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from taihu.accounts import ERROR_RESPONSES, CurrentPrincipal
from taihu.core import DbSession, RuntimeDep
from taihu.enterprises.schemas import EnterpriseCreateIn, EnterpriseOut
from taihu.enterprises.service import EnterpriseService

__all__ = ["router"]

router = APIRouter(tags=["enterprises"])


def _enterprises(session: DbSession, runtime: RuntimeDep) -> EnterpriseService:
    return EnterpriseService(session, runtime.clock)


Enterprises = Annotated[EnterpriseService, Depends(_enterprises)]


@router.get(
    "/api/enterprises",
    summary="List enterprises",
    description=(
        "Staff roles see every enterprise; enterprise users see their own. The total count is "
        "in the `X-Total-Count` header."
    ),
    response_model=list[EnterpriseOut],
    responses=ERROR_RESPONSES,
)
async def list_enterprises(
    principal: CurrentPrincipal,
    enterprises: Enterprises,
    response: Response,
    q: Annotated[str | None, Query(max_length=200, description="Name part or credit code")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[EnterpriseOut]:
    rows, total = await enterprises.list(principal, search=q, limit=limit, offset=offset)
    response.headers["X-Total-Count"] = str(total)
    return [EnterpriseOut.model_validate(e) for e in rows]


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
    description="404 also when the caller may not see it.",
    response_model=EnterpriseOut,
    responses={**ERROR_RESPONSES, 404: {"description": "No such enterprise"}},
)
async def get_enterprise(
    enterprise_id: int, principal: CurrentPrincipal, enterprises: Enterprises
) -> EnterpriseOut:
    return EnterpriseOut.model_validate(await enterprises.get(principal, enterprise_id))
