"""Record refused writes and failed sign-ins in the audit log, after the answer has gone out.

Route code leaves what it knows in the request's state: ``principal`` (the authenticated
caller, set by the accounts dependencies), ``refusal`` (the error code, set by the error
handlers) and ``sign_in`` (the user name a sign-in route was given). This middleware reads
them once the response has been sent, so recording costs the refused caller no time, and
hands the event to the accounts context's rate-bounded ``SecurityLog``.
"""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from taihu.accounts import Principal, SecurityEvent, SecurityLog

__all__ = ["SecurityAudit"]

_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_REFUSED = frozenset({401, 403})
_SIGN_IN_REFUSED = frozenset({401, 403, 429})


class SecurityAudit:
    """Turn 401/403 answers to writes (and refused sign-ins) into security events."""

    def __init__(self, app: ASGIApp, *, security_log: SecurityLog) -> None:
        self.app = app
        self.security_log = security_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve, then record the refusal if there was one."""
        if scope["type"] != "http" or scope["method"] not in _WRITES:
            await self.app(scope, receive, send)
            return
        # Shared with the request objects the routes build, however the scope is copied.
        state: dict[str, Any] = scope.setdefault("state", {})
        status = 0

        async def watching_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        await self.app(scope, receive, watching_send)
        event = _event(scope, state, status)
        if event is not None:
            await self.security_log.record(event)


def _event(scope: Scope, state: dict[str, Any], status: int) -> SecurityEvent | None:
    client = scope.get("client")
    source = client[0] if client else "unknown"
    reason = str(state.get("refusal") or f"http_{status}")
    claimed = state.get("sign_in")
    if claimed is not None:
        if status not in _SIGN_IN_REFUSED:
            return None
        name = str(claimed).strip().lower()[:64] or "(empty)"
        return SecurityEvent(
            action="security.login_failed", actor=name, source=source,
            entity_type="user", entity_id=name, reason=reason,
            details={"route": _route(scope)},
        )  # fmt: skip
    if status not in _REFUSED:
        return None
    principal = state.get("principal")
    actor = principal.name if isinstance(principal, Principal) else "anonymous"
    # Path parameters name the target; a device's access token in the path is a secret.
    params = {k: str(v) for k, v in scope.get("path_params", {}).items() if k != "token"}
    details: dict[str, Any] = {"method": scope["method"], "status": status}
    if params:
        details["params"] = params
    return SecurityEvent(
        action="security.write_refused", actor=actor, source=source,
        entity_type="route", entity_id=f"{scope['method']} {_route(scope)}", reason=reason,
        actor_user_id=principal.user_id if isinstance(principal, Principal) else None,
        details=details,
    )  # fmt: skip


def _route(scope: Scope) -> str:
    route = getattr(scope.get("route"), "path", None)
    return str(route) if route else "unmatched"
