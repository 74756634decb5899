"""Turn errors into the platform's JSON error body ``{"error": code, "message": text}``.

The message is rendered in the request's language (``web/i18n.py`` picks it); ``error`` and
``details`` stay the same in every language, for programs.
"""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute, Match, Route
from starlette.types import Scope

from taihu.core import TaihuError, TooManyRequests, Unauthenticated
from taihu.web.i18n import N_, gettext_

__all__ = ["install_error_handlers"]

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
}


# Starlette's own refusals (no route, wrong method…) in the caller's language too.
_HTTP_PHRASES = frozenset(
    {N_("Not Found"), N_("Method Not Allowed"), N_("Bad Request"), N_("Unauthorized"),
     N_("Forbidden")}
)  # fmt: skip


async def _taihu_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, TaihuError)
    request.state.refusal = exc.code  # the reason a refused write is audited with
    headers: dict[str, str] = {}
    if isinstance(exc, Unauthenticated):
        headers["WWW-Authenticate"] = 'Bearer realm="taihu"'
    if isinstance(exc, TooManyRequests):
        headers["Retry-After"] = str(exc.retry_after)
    # In the request's language: the console's cookie, else the API caller's Accept-Language.
    return JSONResponse(exc.as_body(gettext_), status_code=exc.status, headers=headers)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    request.state.refusal = code
    headers = exc.headers
    if exc.status_code == 405:
        first = (headers or {}).get("Allow", "")
        headers = {**(headers or {}), "Allow": _allowed_methods(request, first)}
    detail = str(exc.detail)
    return JSONResponse(
        {"error": code, "message": gettext_(detail) if detail in _HTTP_PHRASES else detail},
        status_code=exc.status_code,
        headers=headers,
    )


def _allowed_methods(request: Request, first: str) -> str:
    """Every method some route serves at the request's path, not only the first route's."""
    # FastAPI makes one route per method: Starlette's own 405 (``first``) names one route's.
    methods = {m.strip() for m in first.split(",") if m.strip()}
    methods |= _methods_at(request.app.router.routes, request.scope)
    return ", ".join(sorted(methods))


def _methods_at(routes: Iterable[BaseRoute], scope: Scope) -> set[str]:
    methods: set[str] = set()
    for route in routes:
        included = getattr(route, "original_router", None)  # FastAPI's included router
        if included is not None:
            methods |= _methods_at(included.routes, scope)
        elif (
            isinstance(route, Route) and route.methods and route.matches(scope)[0] is not Match.NONE
        ):
            methods |= route.methods
    return methods


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = jsonable_encoder(exc.errors(), exclude={"input", "ctx", "url"})
    first = errors[0] if errors else {}
    where = ".".join(str(p) for p in first.get("loc", ()))
    return JSONResponse(
        {
            "error": "validation_error",
            # pydantic's own wording (English) after the field's name; the codes are in details.
            "message": f"{where}: {first.get('msg', 'invalid')}"
            if where
            else gettext_(N_("invalid request")),
            "details": {"errors": errors},
        },
        status_code=422,
    )


# PostgreSQL refuses text holding U+0000 (SQLSTATE 22021, character not in repertoire) where
# SQLite stores it. Such text can only come from the request: a 400, not a 500.
_NUL_IN_TEXT = "22021"


async def _database_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DBAPIError)
    if getattr(exc.orig, "sqlstate", None) != _NUL_IN_TEXT:
        raise exc  # a real failure: the request middleware logs it and answers 500
    return JSONResponse(
        {
            "error": "bad_text",
            "message": gettext_(N_("text must not contain the NUL character (U+0000)")),
        },
        status_code=400,
    )


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on an application."""
    app.add_exception_handler(TaihuError, _taihu_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(DBAPIError, _database_error)
