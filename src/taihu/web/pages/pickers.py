"""Searchable pickers: enterprises by name or credit code, officers from the users; case actions.

``static/pickers.js`` turns an ``<input data-picker="enterprise">`` (or ``"officer"``) into a
search box whose suggestions come from the JSON routes here, each answering only what the
signed-in user may see. ``case_actions`` tells the case board which actions a state allows.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment

from taihu.accounts import AccountService, Role
from taihu.core import Conflict, DbSession, RuntimeDep, TaihuError
from taihu.enterprises import EnterpriseFilter, EnterpriseService
from taihu.monitor import Action, State, next_state
from taihu.web.console import Signed, render_page
from taihu.web.i18n import gettext_

__all__ = ["case_actions", "install", "router"]

router = APIRouter(include_in_schema=False)
_SUGGESTIONS = 20
_STAFF_ACTIONS = frozenset({Action.ASSIGN, Action.START, Action.CLOSE, Action.REOPEN})


def case_actions(state: str, *, staff: bool) -> list[str]:
    """The actions a case in ``state`` allows (the staff's only for staff), in board order."""
    allowed = []
    for action in (Action.ASSIGN, Action.START, Action.CLOSE, Action.REOPEN, Action.COMMENT):
        if action in _STAFF_ACTIONS and not staff:
            continue
        try:
            # The state machine is the judge; the officer, deadline and text are stand-ins.
            next_state(State(state), action, officer="x", deadline=date.min, comment="x")
        except Conflict:
            continue
        allowed.append(action.value)
    return allowed


def install(env: Environment) -> None:
    """Make ``case_actions`` available to the templates."""
    env.globals["case_actions"] = case_actions


@router.get("/pickers/enterprises")
async def enterprise_suggestions(
    who: Signed,
    session: DbSession,
    runtime: RuntimeDep,
    q: Annotated[str, Query(max_length=100)] = "",
) -> JSONResponse:
    """Enterprises the user may see whose name (or English name) has ``q``, or with that code."""
    if len(q.strip()) < 1:
        return JSONResponse([])
    rows, _ = await EnterpriseService(session, runtime.clock).list(
        who.principal, where=EnterpriseFilter(search=q), limit=_SUGGESTIONS
    )
    return JSONResponse(
        [{"id": e.id, "name": e.name, "credit_code": e.credit_code} for e in rows],
        headers={"Cache-Control": "private, no-store"},
    )


@router.get("/pickers/officers")
async def officer_suggestions(who: Signed, session: DbSession, runtime: RuntimeDep) -> Response:
    """The users who can take a case (bureau and admins), for staff."""
    if who.principal.role not in (Role.ADMIN, Role.BUREAU):
        return JSONResponse([], status_code=403)
    accounts = AccountService(session, runtime.settings.security, runtime.clock)
    users = await accounts.list_users(who.principal)
    officers: list[dict[str, Any]] = [
        {"username": u.username, "name": u.display_name or u.username}
        for u in users
        if u.is_active and u.role in (Role.BUREAU.value, Role.ADMIN.value)
    ]
    return JSONResponse(officers, headers={"Cache-Control": "private, no-store"})


@router.get("/enterprises/by-code/{credit_code}", response_model=None)
async def enterprise_by_code(
    request: Request, credit_code: str, who: Signed, session: DbSession, runtime: RuntimeDep
) -> Response:
    """The enterprise page of a credit code (the what-if's results name enterprises so)."""
    service = EnterpriseService(session, runtime.clock)
    try:
        enterprise = await service.get_by_credit_code(credit_code[:64])
        await service.get(who.principal, enterprise.id)
    except TaihuError as exc:
        page: HTMLResponse = render_page(
            request, "denied.html", who, status_code=exc.status, message=exc.text(gettext_)
        )
        return page
    return RedirectResponse(f"/enterprises/{enterprise.id}", status_code=303)
