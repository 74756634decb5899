"""HTTP routes of the accounts context: sign-in for API clients, users, tokens, audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, status
from sqlalchemy.exc import IntegrityError

from taihu.accounts.audit import AuditFilter, query_audit
from taihu.accounts.dependencies import CurrentPrincipal, require_roles
from taihu.accounts.principal import Principal, Role
from taihu.accounts.schemas import (
    AuditEntryOut,
    AuditPage,
    LoginIn,
    MembershipIn,
    MeOut,
    TokenCreateIn,
    TokenIssuedOut,
    TokenOut,
    UserCreateIn,
    UserOut,
)
from taihu.accounts.service import AccountService, IssuedToken
from taihu.core import N_, DbSession, Id, NotFound, PageNumber, PageSize, RuntimeDep

__all__ = ["ERROR_RESPONSES", "router"]

router = APIRouter(tags=["accounts"])

ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    401: {
        "description": "Missing, wrong, expired or revoked credentials",
        "content": {
            "application/json": {
                "example": {"error": "token_expired", "message": "this API token has expired"}
            }
        },
    },
    403: {
        "description": "The caller lacks the role or enterprise",
        "content": {
            "application/json": {
                "example": {
                    "error": "role_required",
                    "message": "this needs the role bureau; li.na has enterprise",
                }
            }
        },
    },
}

BureauPrincipal = Annotated[Principal, Depends(require_roles(Role.BUREAU))]
AdminPrincipal = Annotated[Principal, Depends(require_roles())]


def _accounts(session: DbSession, runtime: RuntimeDep) -> AccountService:
    return AccountService(session, runtime.settings.security, runtime.clock)


Accounts = Annotated[AccountService, Depends(_accounts)]


def _issued(issued: IssuedToken) -> TokenIssuedOut:
    listed = TokenOut.model_validate(issued.token)
    return TokenIssuedOut(**listed.model_dump(), token=issued.plain)


def client_address(request: Request) -> str:
    """The peer address as the server saw it (proxies are configured in uvicorn)."""
    return request.client.host if request.client else "unknown"


@router.post(
    "/api/auth/token",
    summary="Exchange a user name and password for an API token",
    description=(
        "Returns a bearer token for `Authorization: Bearer …`. Failed attempts are throttled "
        "per user name and client address (429 with `Retry-After`)."
    ),
    status_code=status.HTTP_201_CREATED,
    response_model=TokenIssuedOut,
    responses={
        401: ERROR_RESPONSES[401],
        429: {
            "description": "Too many failed sign-ins",
            "content": {
                "application/json": {
                    "example": {
                        "error": "rate_limited",
                        "message": "too many failed sign-ins; try again later",
                        "details": {"retry_after": 240},
                    }
                }
            },
        },
    },
)
async def login_for_token(body: LoginIn, request: Request, accounts: Accounts) -> TokenIssuedOut:
    request.state.sign_in = body.username  # a refusal is audited (web/security_audit.py)
    user = await accounts.login(body.username, body.password, client_address(request))
    principal = await accounts.principal_for(user)
    issued = await accounts.create_token(
        principal, user, name=body.name, expires_days=body.expires_days
    )
    return _issued(issued)


@router.get(
    "/api/me",
    summary="Who the caller is",
    description="The authenticated principal: name, role and the enterprises it acts for.",
    response_model=MeOut,
    responses={401: ERROR_RESPONSES[401]},
)
async def me(principal: CurrentPrincipal) -> MeOut:
    return MeOut(
        name=principal.name,
        role=principal.role,
        user_id=principal.user_id,
        enterprise_ids=sorted(principal.enterprise_ids),
    )


@router.get(
    "/api/users",
    summary="List users",
    description="Every user of the platform (admin and bureau).",
    response_model=list[UserOut],
    responses=ERROR_RESPONSES,
)
async def list_users(principal: BureauPrincipal, accounts: Accounts) -> list[UserOut]:
    return [UserOut.model_validate(u) for u in await accounts.list_users(principal)]


@router.post(
    "/api/users",
    summary="Create a user",
    description="Admins only. The password needs at least 8 characters.",
    status_code=status.HTTP_201_CREATED,
    response_model=UserOut,
    responses=ERROR_RESPONSES,
)
async def create_user(body: UserCreateIn, principal: AdminPrincipal, accounts: Accounts) -> UserOut:
    user = await accounts.create_user(
        principal, body.username, body.password, body.role, display_name=body.display_name
    )
    return UserOut.model_validate(user)


@router.post(
    "/api/users/{username}/memberships",
    summary="Let a user act for an enterprise",
    description="Admins only. Idempotent: adding an existing membership changes nothing.",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=ERROR_RESPONSES,
)
async def add_membership(
    username: str, body: MembershipIn, principal: AdminPrincipal, accounts: Accounts
) -> None:
    user = await accounts.get_user(username)
    try:
        await accounts.add_membership(principal, user, body.enterprise_id)
    except IntegrityError as exc:
        raise NotFound(
            N_("no enterprise {enterprise_id}"),
            enterprise_id=body.enterprise_id,
            code="enterprise_not_found",
        ) from exc


@router.get(
    "/api/tokens",
    summary="List API tokens",
    description="The caller's own tokens; admins may name another user or see all (`user=*`).",
    response_model=list[TokenOut],
    responses=ERROR_RESPONSES,
)
async def list_tokens(
    principal: CurrentPrincipal,
    accounts: Accounts,
    user: Annotated[str | None, Query(description="A user name, or * for all")] = None,
) -> list[TokenOut]:
    if user not in (None, principal.name):
        # Checked before the lookup, so a 404 cannot tell a non-admin which user names exist.
        principal.require_role()
    owner = None if user == "*" else await accounts.get_user(user or principal.name)
    return [TokenOut.model_validate(t) for t in await accounts.list_tokens(principal, owner)]


@router.post(
    "/api/tokens",
    summary="Create an API token for the caller",
    description="The token value is in the response once and never again.",
    status_code=status.HTTP_201_CREATED,
    response_model=TokenIssuedOut,
    responses=ERROR_RESPONSES,
)
async def create_token(
    body: TokenCreateIn, principal: CurrentPrincipal, accounts: Accounts
) -> TokenIssuedOut:
    user = await accounts.get_user(principal.name)
    issued = await accounts.create_token(
        principal, user, name=body.name, expires_days=body.expires_days
    )
    return _issued(issued)


@router.delete(
    "/api/tokens/{token_id}",
    summary="Revoke an API token",
    description="The owner or an admin; revoking an already revoked token succeeds.",
    response_model=TokenOut,
    responses={**ERROR_RESPONSES, 404: {"description": "No such token"}},
)
async def revoke_token(token_id: Id, principal: CurrentPrincipal, accounts: Accounts) -> TokenOut:
    return TokenOut.model_validate(await accounts.revoke_token(principal, token_id))


@router.get(
    "/api/audit",
    summary="Search the audit log",
    description=(
        "Admins, the bureau and auditors. Filters combine; `action` ending in '.' matches a family "
        "(e.g. `token.`). Newest first. `outcome=refused` lists the security events: writes "
        "refused with 401/403 (`security.write_refused`) and failed sign-ins "
        "(`security.login_failed`), with the client address and the reason."
    ),
    response_model=AuditPage,
    responses=ERROR_RESPONSES,
    dependencies=[Depends(require_roles(Role.BUREAU, Role.AUDITOR))],
)
async def audit_log(
    session: DbSession,
    actor: str | None = None,
    action: str | None = None,
    entity_type: str | None = None,
    entity_id: str | None = None,
    request_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    outcome: Annotated[
        Literal["done", "refused"] | None,
        Query(description="`refused`: security events only (refused writes, failed sign-ins)"),
    ] = None,
    page: PageNumber = 1,
    page_size: PageSize = 50,
) -> AuditPage:
    where = AuditFilter(
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        request_id=request_id,
        since=since,
        until=until,
        outcome=outcome,
    )
    entries, total = await query_audit(session, where, page=page, page_size=page_size)
    return AuditPage(
        items=[AuditEntryOut.model_validate(e) for e in entries],
        total=total,
        page=page,
        page_size=page_size,
    )
