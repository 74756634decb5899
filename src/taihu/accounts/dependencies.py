"""FastAPI dependencies that turn a request into a principal (bearer token or console cookie)."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request

from taihu.accounts.principal import Principal, Role
from taihu.accounts.service import AccountService
from taihu.core import N_, DbSession, PermissionDenied, RuntimeDep, Unauthenticated

__all__ = [
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "CurrentPrincipal",
    "current_principal",
    "require_roles",
]

SESSION_COOKIE = "taihu_session"
CSRF_HEADER = "x-csrf-token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def current_principal(request: Request, session: DbSession, runtime: RuntimeDep) -> Principal:
    """Authenticate the request by bearer token, else by console session cookie."""
    accounts = AccountService(session, runtime.settings.security, runtime.clock)
    authorization = request.headers.get("authorization")
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise Unauthenticated(
                N_("use the header 'Authorization: Bearer <token>'"), code="bad_auth_scheme"
            )
        principal = await accounts.authenticate_token(value.strip())
        request.state.principal = principal  # named in the audit log if a write is refused
        return principal
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        info = await accounts.resume_session(cookie)
        request.state.principal = info.principal
        if request.method not in _SAFE_METHODS:
            # Cookies ride along on cross-site requests; the CSRF header cannot.
            sent = request.headers.get(CSRF_HEADER, "")
            if not hmac.compare_digest(sent, info.csrf_token):
                raise PermissionDenied(N_("missing or wrong CSRF token"), code="csrf_failed")
        return info.principal
    raise Unauthenticated(
        N_("authentication required: send 'Authorization: Bearer <token>'"),
        code="not_authenticated",
    )


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_roles(*roles: Role) -> Callable[..., Awaitable[Principal]]:
    """A dependency admitting admins and the given roles."""

    async def _check(principal: CurrentPrincipal) -> Principal:
        principal.require_role(*roles)
        return principal

    return _check
