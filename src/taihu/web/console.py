"""The web console: sign-in, layout, language switch, home page, audit log and registry pages.

Pages are rendered on the server (Jinja2) and refreshed in parts with HTMX. Every form that
changes state carries the session's CSRF token; the sign-in form, which has no session yet,
carries a signed double-submit token instead.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute
from starlette.templating import Jinja2Templates

from taihu.accounts import (
    SESSION_COOKIE,
    AccountService,
    AuditFilter,
    Permission,
    Principal,
    Role,
    SessionInfo,
    client_address,
    may,
    query_audit,
)
from taihu.core import (
    DbSession,
    PageNumber,
    Runtime,
    RuntimeDep,
    TooManyRequests,
    Unauthenticated,
    sign,
    verify_signature,
)
from taihu.enterprises import EnterpriseFilter, EnterpriseService, townships
from taihu.web.flash import FLASH_COOKIE, take_flash
from taihu.web.i18n import LANGUAGES, N_, gettext_
from taihu.web.templating import LANGUAGE_COOKIE

__all__ = ["PagePermission", "Signed", "guard", "may_open", "render_page", "router"]

router = APIRouter(include_in_schema=False)
LOGIN_CSRF_COOKIE = "taihu_login_csrf"
_AUDIT_PAGE_SIZE = 25


class LoginRequired(Exception):
    """The page needs a signed-in user; the handler redirects to the sign-in page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def templates(request: Request) -> Jinja2Templates:
    """The application's template renderer."""
    renderer: Jinja2Templates = request.app.state.templates
    return renderer


async def console_session(request: Request, session: DbSession, runtime: RuntimeDep) -> SessionInfo:
    """The signed-in user of a console page, or a redirect to the sign-in page."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        try:
            info = await AccountService(
                session, runtime.settings.security, runtime.clock
            ).resume_session(cookie)
        except Unauthenticated:
            pass
        else:
            request.state.principal = info.principal  # named if a write is refused
            return info
    raise LoginRequired(
        _safe_next(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
    )


Signed = Annotated[SessionInfo, Depends(console_session)]


class NotPermitted(Exception):
    """The signed-in user's role does not open this page; the handler answers 403."""

    def __init__(self, who: SessionInfo) -> None:
        super().__init__(who.principal.name)
        self.who = who


class PagePermission:
    """A route's guard: the page opens only for principals holding ``permission``.

    Declared on the route (``dependencies=[Depends(PagePermission(...))]``); the navigation and
    the pages' action links read the same guard back from the route table (:func:`may_open`),
    so a link is shown exactly when its page would open.
    """

    def __init__(self, permission: Permission) -> None:
        self.permission = permission

    async def __call__(self, who: Signed) -> SessionInfo:
        """Admit the signed-in user if their role holds the permission."""
        if not may(who.principal, self.permission):
            raise NotPermitted(who)
        return who


def guard(permission: Permission) -> list[Any]:
    """The ``dependencies`` of a route whose page needs ``permission``."""
    return [Depends(PagePermission(permission))]


def _routes(routes: Iterable[BaseRoute]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        # FastAPI 0.165 keeps an included router whole (console routers have no prefix).
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from _routes(included.routes)


def _guards(app: FastAPI) -> dict[str, Permission | None]:
    """Each console page's path and the permission its route requires (None: any user)."""
    found: dict[str, Permission | None] | None = getattr(app.state, "page_guards", None)
    if found is None:
        found = {}
        for route in _routes(app.routes):
            if "GET" in (route.methods or ()):
                page_guard = next((d.call for d in route.dependant.dependencies
                                   if isinstance(d.call, PagePermission)), None)  # fmt: skip
                found.setdefault(route.path, page_guard.permission if page_guard else None)
        app.state.page_guards = found
    return found


def may_open(app: FastAPI, principal: Principal, path: str) -> bool:
    """Whether a console page (by its route path) opens for the principal."""
    guards = _guards(app)
    if path not in guards:
        return False  # no such page: never link to it
    permission = guards[path]
    return permission is None or may(principal, permission)


@dataclass(frozen=True, slots=True)
class NavItem:
    """One entry of the console's navigation."""

    path: str
    label: str
    icon: str


def navigation(app: FastAPI, principal: Principal) -> list[NavItem]:
    """The console's navigation in the current language: the pages the principal may open."""
    items = [
        NavItem("/", gettext_("Overview"), "home"),
        NavItem("/identifiers", gettext_("Identifiers"), "tag"),
        NavItem("/devices", gettext_("Devices"), "cpu"),
        NavItem("/alarms", gettext_("Alarms"), "bell"),
        NavItem("/industry-map", gettext_("Industry map"), "share"),
        NavItem("/monitor", gettext_("Operation monitor"), "activity"),
        NavItem("/monitor/cases", gettext_("Cases"), "check"),
        NavItem("/surveys", gettext_("Surveys"), "list"),
        NavItem("/my-surveys", gettext_("My surveys"), "list"),
        NavItem("/notices", gettext_("Notices"), "bell"),
        NavItem("/inbox", gettext_("Inbox"), "mail"),
        NavItem("/programmes", gettext_("Programmes"), "award"),
        NavItem("/programmes/registry", gettext_("Award registry"), "list"),
        NavItem("/reporting", gettext_("Reports upwards"), "list"),
        NavItem("/solutions", gettext_("Solution pool"), "share"),
        NavItem("/enterprises", gettext_("Enterprises"), "building"),
        NavItem("/audit", gettext_("Audit log"), "list"),
        NavItem("/wall", gettext_("Wall display"), "monitor"),
    ]
    return [item for item in items if may_open(app, principal, item.path)]


_ROLE_LABELS = {
    Role.ADMIN: N_("Administrator"),
    Role.BUREAU: N_("Bureau analyst"),
    Role.AUDITOR: N_("Auditor"),
    Role.ENTERPRISE: N_("Enterprise user"),
}


def _page(
    request: Request, name: str, who: SessionInfo | None, status_code: int = 200, **context: Any
) -> HTMLResponse:
    context.update(
        user=who.principal if who else None,
        role_label=gettext_(_ROLE_LABELS[who.principal.role]) if who else "",
        csrf_token=who.csrf_token if who else "",
        nav=navigation(request.app, who.principal) if who else [],
        may_open=(lambda path: may_open(request.app, who.principal, path)) if who else None,
        flash=take_flash(request),
    )
    response = templates(request).TemplateResponse(request, name, context, status_code=status_code)
    if context["flash"] is not None:
        response.delete_cookie(FLASH_COOKIE, httponly=True, samesite="strict")
    return response


render_page = _page  # public: the pillars' page modules (web/pages/) render through it


def _safe_next(path: str | None) -> str:
    # Only same-site paths: "//evil.example" or "https://…" would make this an open redirect.
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path


# -- sign-in ---------------------------------------------------------------------------------


def _login_form(
    request: Request,
    runtime: Runtime,
    *,
    next_path: str,
    error: str = "",
    username: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    nonce = secrets.token_urlsafe(24)
    response = _page(
        request,
        "login.html",
        None,
        status_code=status_code,
        next_path=next_path,
        error=error,
        username=username,
        login_csrf=sign(runtime.settings.secret_key, nonce),
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        nonce,
        httponly=True,
        samesite="strict",
        secure=runtime.settings.security.secure_cookies,
        max_age=3600,
    )
    return response


@router.get("/login", response_class=HTMLResponse)
async def login_page(
    request: Request, runtime: RuntimeDep, next: Annotated[str | None, Query()] = None
) -> HTMLResponse:
    return _login_form(request, runtime, next_path=_safe_next(next))


@router.post("/login", response_model=None)
async def login_submit(
    request: Request,
    session: DbSession,
    runtime: RuntimeDep,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf: Annotated[str, Form(max_length=128)] = "",
    next: Annotated[str, Form(max_length=2048)] = "/",
) -> Response:
    next_path = _safe_next(next)
    nonce = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not nonce or not verify_signature(runtime.settings.secret_key, nonce, csrf):
        return _login_form(
            request, runtime, next_path=next_path, status_code=400,
            error=gettext_("The sign-in form expired. Please try again."),
        )  # fmt: skip
    accounts = AccountService(session, runtime.settings.security, runtime.clock)
    request.state.sign_in = username  # a refusal is audited (web/security_audit.py)
    try:
        user = await accounts.login(username, password, client_address(request))
    except TooManyRequests as exc:
        request.state.refusal = exc.code
        minutes = max(1, round(exc.retry_after / 60))
        refused = _login_form(
            request, runtime, next_path=next_path, status_code=429, username=username,
            error=gettext_("Too many failed attempts. Try again in %(minutes)d min.")
            % {"minutes": minutes},
        )  # fmt: skip
        refused.headers["Retry-After"] = str(exc.retry_after)  # as the API's 429 says it
        return refused
    except Unauthenticated as exc:
        request.state.refusal = exc.code
        return _login_form(
            request, runtime, next_path=next_path, status_code=401, username=username,
            error=gettext_("Wrong user name or password."),
        )  # fmt: skip
    cookie, console_session = await accounts.start_session(user)
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        httponly=True,
        samesite="lax",
        secure=runtime.settings.security.secure_cookies,
        # A lifetime rather than a date: a browser whose clock differs from ours (or a test
        # on a frozen clock) still keeps the cookie exactly as long as the session lasts.
        max_age=int((console_session.expires_at - runtime.clock.now()).total_seconds()),
    )
    response.delete_cookie(
        LOGIN_CSRF_COOKIE,
        httponly=True,
        samesite="strict",
        secure=runtime.settings.security.secure_cookies,
    )
    return response


@router.post("/logout", response_model=None)
async def logout(
    request: Request,
    who: Signed,
    session: DbSession,
    runtime: RuntimeDep,
    csrf: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    if not secrets.compare_digest(csrf, who.csrf_token):
        return Response(gettext_("Missing or wrong CSRF token."), status_code=403)
    cookie = request.cookies.get(SESSION_COOKIE, "")
    await AccountService(session, runtime.settings.security, runtime.clock).end_session(
        who.principal, cookie
    )
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/lang/{language}")
async def switch_language(
    language: str, runtime: RuntimeDep, next: Annotated[str | None, Query()] = None
) -> RedirectResponse:
    response = RedirectResponse(_safe_next(next), status_code=303)
    if language in LANGUAGES:
        response.set_cookie(
            LANGUAGE_COOKIE,
            language,
            max_age=365 * 24 * 3600,
            samesite="lax",
            secure=runtime.settings.security.secure_cookies,
        )
    return response


# -- pages -----------------------------------------------------------------------------------


@router.get("/enterprises", response_class=HTMLResponse)
async def enterprises_page(
    request: Request,
    who: Signed,
    session: DbSession,
    runtime: RuntimeDep,
    q: Annotated[str | None, Query(max_length=200)] = None,
    township: Annotated[str | None, Query(max_length=9)] = None,
    industry: Annotated[str | None, Query(max_length=5)] = None,
    flag: Annotated[str | None, Query(max_length=20)] = None,
    page: PageNumber = 1,
) -> HTMLResponse:
    size = 50
    where = EnterpriseFilter(
        search=q, township_code=township or None, industry=industry or None,
        above_size=True if flag == "above_size" else None,
        key_enterprise=True if flag == "key_enterprise" else None,
        chain_leader=True if flag == "chain_leader" else None,
    )  # fmt: skip
    rows, total = await EnterpriseService(session, runtime.clock).list(
        who.principal, where=where, limit=size, offset=(page - 1) * size
    )
    filters = {"q": q or "", "township": township or "", "industry": industry or "",
               "flag": flag or ""}  # fmt: skip
    return _page(
        request, "enterprises.html", who,
        rows=rows, total=total, q=q or "", page=page, pages=max(1, -(-total // size)),
        filters=filters, townships=list(townships().values()),
        query="&".join(f"{k}={quote(v)}" for k, v in filters.items()),
    )  # fmt: skip


@router.get(
    "/audit",
    response_class=HTMLResponse,
    dependencies=guard(Permission.VIEW_AUDIT),
)
async def audit_page(
    request: Request,
    who: Signed,
    session: DbSession,
    action: Annotated[str | None, Query(max_length=64)] = None,
    actor: Annotated[str | None, Query(max_length=128)] = None,
    entity_type: Annotated[str | None, Query(max_length=64)] = None,
    outcome: Annotated[Literal["done", "refused", ""], Query()] = "",
    page: PageNumber = 1,
) -> HTMLResponse:
    where = AuditFilter(
        actor=actor or None, action=action or None, entity_type=entity_type or None,
        outcome=outcome or None,
    )  # fmt: skip
    entries, total = await query_audit(session, where, page=page, page_size=_AUDIT_PAGE_SIZE)
    # An HTMX filter or paging request replaces only the table.
    name = "_audit_table.html" if request.headers.get("hx-request") else "audit.html"
    return _page(
        request, name, who,
        entries=entries, total=total, page=page,
        pages=max(1, -(-total // _AUDIT_PAGE_SIZE)),
        filters={
            "action": action or "", "actor": actor or "", "entity_type": entity_type or "",
            "outcome": outcome,
        },
    )  # fmt: skip


# Paths of pillars not installed on this node yet, each answered by a placeholder page.
_PILLARS: dict[str, str] = {}


async def pillar_page(request: Request, who: Signed) -> HTMLResponse:
    """A pillar whose context has not been installed on this node yet."""
    return _page(request, "pillar.html", who, title=gettext_(_PILLARS[request.url.path]))


for _path in _PILLARS:
    router.add_api_route(_path, pillar_page, methods=["GET"], response_class=HTMLResponse)


def not_permitted(request: Request, exc: Exception) -> HTMLResponse:
    """Answer a page the user's role does not open with the "Not allowed" page (403)."""
    assert isinstance(exc, NotPermitted)
    return _page(request, "denied.html", exc.who, status_code=403)


def login_redirect(_request: Request, exc: Exception) -> RedirectResponse:
    """Send a visitor without a session to the sign-in page, remembering where they were."""
    assert isinstance(exc, LoginRequired)
    return RedirectResponse(f"/login?next={quote(exc.next_path)}", status_code=303)
