"""What every SNMS route shares: the answer envelope, errors, the request body and the caller.

Answers are ``{"status": 1, "message": "success", "data": …}``; failures carry status ``-1``
(busy: retry later) or ``-2`` (bad parameters, unknown identifier, refused), and ``code`` 701
when the identifier belongs to another enterprise. Authentication is a bearer token from
``POST /identity/token``.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Request
from fastapi.responses import Response
from sqlalchemy.exc import IntegrityError, OperationalError

from taihu.accounts import Principal, current_principal
from taihu.core import (
    N_,
    InvalidInput,
    PermissionDenied,
    Runtime,
    TaihuError,
    Unauthenticated,
    reader_translation,
)

__all__ = [
    "DONE",
    "ERRORS",
    "FIRST_ITEM_INDEX",
    "LARGE_BODIES",
    "MAX_BODY",
    "MISSING",
    "OK",
    "fail",
    "principal_of",
    "read_body",
    "snms_json",
]

MAX_BODY = 16 * 1024 * 1024
# Where a template's items are numbered from (idIndex): 1000, 1001 and 1999 are reserved.
FIRST_ITEM_INDEX = 2000
# The batch calls take up to MAX_BATCH identifiers in one body: past the platform's default
# request-size limit, so they name their own (web/body_limit.py enforces it as bodies stream in).
LARGE_BODIES = {
    f"/identityv2/data/{call}": MAX_BODY for call in ("batchCreate", "batchUpdate", "batchDelete")
}
# SNMS's own words for a missing query parameter (its clients know them), with the name.
MISSING = N_("缺少必要的请求参数: {name} (missing parameter)")
OK = {"status": 1, "message": "success"}
DONE = {**OK, "data": True}  # a write's answer (handle-operate.md, template.md)
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Bad parameters (status -2)"},
    401: {"description": "Missing or invalid token (status -2)"},
    403: {"description": "Another enterprise's identifier (status -2, code 701)"},
    503: {"description": "Busy (status -1): retry"},
}


def snms_json(body: dict[str, Any], status: int = 200) -> Response:
    """A JSON answer rendered with orjson."""
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def fail(exc: Exception) -> Response:
    """The SNMS answer of an error: status -1 when busy, -2 otherwise (701 for another's)."""
    if isinstance(exc, OperationalError | IntegrityError):
        # A locked SQLite database or a concurrent insert of the same key: safe to re-send.
        return snms_json({"status": -1, "message": "busy, please retry", "data": None}, 503)
    assert isinstance(exc, TaihuError)
    body: dict[str, Any] = {"status": -2, "message": exc.text(reader_translation()), "data": None}
    if isinstance(exc, PermissionDenied):
        body["code"] = 701
    return snms_json(body, exc.status)


async def read_body(request: Request) -> Any:
    """The request's JSON body (16 MiB at most); ``InvalidInput`` otherwise."""
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise InvalidInput(N_("the request body is over 16 MiB"), code="too_big")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(
            N_("the body is not JSON: {reason}"), code="bad_json", reason=str(exc)
        ) from exc


async def principal_of(request: Request, runtime: Runtime) -> Principal:
    """The platform user of the request's bearer token; ``Unauthenticated`` without one."""
    if not request.headers.get("authorization"):
        raise Unauthenticated(N_("send 'Authorization: Bearer <token>'"), code="not_authenticated")
    async with runtime.db.session() as session:
        return await current_principal(request, session, runtime)
