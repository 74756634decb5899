"""HTTP routes of the identifier node: the Handle.Net-compatible REST API and reverse lookup.

Resolution (``GET /api/handles/{handle}``) is the hot path: it reads through the per-process
``Resolver`` with Core SQL and renders bytes with orjson, without ORM objects or pydantic models.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from taihu.accounts import ERROR_RESPONSES, client_address, current_principal
from taihu.core import (
    MAX_INT,
    N_,
    InvalidInput,
    PermissionDenied,
    Runtime,
    TaihuError,
    Unauthenticated,
    get_runtime,
    parse_bounded,
)
from taihu.identifiers import snms
from taihu.identifiers.handle import Handle, HandleValueError
from taihu.identifiers.records import (
    RC_SUCCESS,
    RC_VALUES_NOT_FOUND,
    parse_basic,
    parse_values_body,
    select_values,
)
from taihu.identifiers.registration import (
    Caller,
    basic_login,
    identifier_service,
    parse_handle,
    parse_prefix,
)
from taihu.identifiers.resolution import (
    open_resolver,
    resolver_of,
)
from taihu.identifiers.rest_answers import FastResolution, close_resolver, resolve_now
from taihu.identifiers.rest_answers import answer_anonymous as _answer_anonymous
from taihu.identifiers.rest_answers import error_response as _error
from taihu.identifiers.rest_answers import flush_soon as _flush_soon
from taihu.identifiers.rest_answers import json_response as _json
from taihu.identifiers.rest_answers import query_flag as _flag
from taihu.identifiers.rest_answers import query_indexes as _indexes

__all__ = [
    "LARGE_BODIES",
    "FastResolution",
    "close_resolver",
    "open_resolver",
    "resolve_now",
    "resolver_of",
    "router",
]

log = logging.getLogger("taihu.identifiers")

router = APIRouter(tags=["identifiers: Handle REST"])

LARGE_BODIES: dict[str, int] = {}  # paths allowed bodies past TAIHU_HTTP_MAX_BODY_BYTES
_MAX_LIST_SIZE = 10_000
_MAX_LIST_PAGE = MAX_INT // _MAX_LIST_SIZE  # so page * pageSize stays a database integer

_HANDLE_EXAMPLE = {
    "responseCode": 1,
    "handle": "88.118.8/ELV-0001",
    "values": [
        {
            "index": 1,
            "type": "URL",
            "data": {"format": "string", "value": "https://taihu.example/r/88.118.8/ELV-0001"},
            "ttl": 86400,
            "timestamp": "2026-11-25T08:00:00Z",
        }
    ],
}
_WRITE_EXAMPLE = {"responseCode": 1, "handle": "88.118.8/ELV-0001"}
_HANDLE_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    400: {"description": "Malformed handle (102) or value (202)"},
    404: {"description": "Handle not found (100) or prefix not served here (301)"},
}


def _is_loopback(request: Request) -> bool:
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host in {"localhost", "testclient"}


async def _caller(request: Request, session: AsyncSession, runtime: Runtime) -> Caller | None:
    """Who sent the request: a Handle admin (HTTP Basic), a platform user (bearer), or nobody."""
    header = request.headers.get("authorization")
    if not header:
        return None
    credentials = parse_basic(header)
    if credentials is None:
        return await current_principal(request, session, runtime)
    # Like the Handle.Net server, secret keys never travel in clear over a network; loopback is
    # allowed so a proxy on the same host can terminate TLS (see docs/identifiers.md).
    if request.url.scheme != "https" and not _is_loopback(request):
        raise PermissionDenied(
            N_("authentication over plain HTTP is refused; use HTTPS"), code="plain_http"
        )
    return await basic_login(
        identifier_service(session, runtime),
        runtime.settings.security,
        credentials.username,
        credentials.password,
        client_address(request),
    )


@router.get(
    "/api/handles/{handle:path}",
    summary="Resolve a handle",
    description="Handle.Net-compatible resolution. `type=` and `index=` (repeatable) filter the "
    "values; `auth=true` reads past the cache; non-public values are returned only to an admin "
    "of the handle (HTTP Basic `300:PREFIX/ADMIN` or bearer token) unless `publicOnly=true`.",
    responses={
        **_HANDLE_ERRORS,
        200: {"content": {"application/json": {"example": _HANDLE_EXAMPLE}}},
    },
)
async def resolve_handle(handle: str, request: Request) -> Response:
    runtime = get_runtime(request)
    resolver = resolver_of(request)
    if not request.headers.get("authorization"):
        status, body = await _answer_anonymous(runtime, resolver, handle, request.query_params)
        _flush_soon(runtime, resolver)
        return Response(body, status_code=status, media_type="application/json")
    try:
        parsed = parse_handle(handle)
        types = request.query_params.getlist("type")
        indexes = _indexes(request.query_params)
        private = False
        async with runtime.db.session() as session:
            caller = await _caller(request, session, runtime)
            service = identifier_service(session, runtime)
            if caller is not None and not _flag(request.query_params, "publicOnly"):
                private = await service.is_admin_of(caller, parsed)
        record = await resolver.lookup(parsed.key, fresh=True)
        if record is None:
            async with runtime.db.session() as session:
                await identifier_service(session, runtime).get_prefix(parsed.prefix)
            return _json({"responseCode": 100, "handle": parsed.text}, 404)
    except TaihuError as exc:
        return _error(exc, handle)
    values = select_values(record.values, types=types, indexes=indexes, include_private=private)
    if not values and (types or indexes):
        return _json({"responseCode": RC_VALUES_NOT_FOUND, "handle": record.handle})
    return _json({"responseCode": RC_SUCCESS, "handle": record.handle, "values": values})


async def _write(request: Request, handle_text: str, *, post: bool) -> Response:
    runtime = get_runtime(request)
    resolver = resolver_of(request)
    try:
        body = await request.body()
        try:
            values = parse_values_body(body)
        except HandleValueError as exc:
            raise InvalidInput(exc.message, code="invalid_value") from exc
        async with runtime.db.session() as session:
            caller = await _caller(request, session, runtime)
            if caller is None:
                raise Unauthenticated(
                    N_("writes need HTTP Basic 300:PREFIX/ADMIN or a bearer token"),
                    code="authentication_needed",
                )
            service = identifier_service(session, runtime)
            if _flag(request.query_params, "mintNewSuffix"):
                result = await service.mint(caller, handle_text.split("/", 1)[0], values)
            else:
                result = await service.put(
                    caller,
                    parse_handle(handle_text),
                    values,
                    overwrite=_flag(request.query_params, "overwrite") and not post,
                    indexes=_indexes(request.query_params) or None,
                )
    except TaihuError as exc:
        return _error(exc, handle_text)
    resolver.invalidate(Handle(result.handle).key)
    return _json(
        {"responseCode": RC_SUCCESS, "handle": result.handle}, 201 if result.created else 200
    )


_WRITE_DOC = (
    'Body `{"values": [...]}` (or a bare list); `data` may be `{"format","value"}` or a bare '
    "string. Without `index=`: create, or replace the whole record with `overwrite=true`; with "
    "`index=` (repeatable): add or replace only those values. `mintNewSuffix=true` makes a new "
    "suffix under the prefix. Auth: HTTP Basic `300:PREFIX/ADMIN` + secret key, or a bearer token."
)


@router.put(
    "/api/handles/{handle:path}",
    summary="Create or modify a handle",
    description=_WRITE_DOC,
    responses={
        **_HANDLE_ERRORS,
        200: {"content": {"application/json": {"example": _WRITE_EXAMPLE}}},
        201: {"content": {"application/json": {"example": _WRITE_EXAMPLE}}},
        409: {"description": "Handle exists already (101) and overwrite is false"},
    },
)
async def put_handle(handle: str, request: Request) -> Response:
    return await _write(request, handle, post=False)


@router.post(
    "/api/handles/{handle:path}",
    summary="Create a handle (never overwrites)",
    description=_WRITE_DOC,
    responses={
        **_HANDLE_ERRORS,
        201: {"content": {"application/json": {"example": _WRITE_EXAMPLE}}},
        409: {"description": "Handle exists already (101)"},
    },
)
async def post_handle(handle: str, request: Request) -> Response:
    return await _write(request, handle, post=True)


@router.delete(
    "/api/handles/{handle:path}",
    summary="Delete a handle or some of its values",
    description="Without `index=`: delete the handle; with `index=` (repeatable): remove those "
    "values. Auth as for PUT.",
    responses={
        **_HANDLE_ERRORS,
        200: {"content": {"application/json": {"example": _WRITE_EXAMPLE}}},
    },
)
async def delete_handle(handle: str, request: Request) -> Response:
    runtime = get_runtime(request)
    try:
        parsed = parse_handle(handle)
        async with runtime.db.session() as session:
            caller = await _caller(request, session, runtime)
            if caller is None:
                raise Unauthenticated(
                    N_("deleting needs credentials"), code="authentication_needed"
                )
            await identifier_service(session, runtime).delete(
                caller, parsed, _indexes(request.query_params) or None
            )
    except TaihuError as exc:
        return _error(exc, handle)
    resolver_of(request).invalidate(parsed.key)
    return _json({"responseCode": RC_SUCCESS, "handle": parsed.text})


@router.get(
    "/api/handles",
    summary="List handles under a prefix",
    description="Admins of the prefix only. `page` counts from 0 and `pageSize` defaults to "
    "1,000, as on the Handle.Net server.",
    responses={
        **_HANDLE_ERRORS,
        200: {
            "content": {
                "application/json": {
                    "example": {
                        "responseCode": 1,
                        "prefix": "88.118.8",
                        "totalCount": "1",
                        "page": 0,
                        "pageSize": 1000,
                        "handles": ["88.118.8/ELV-0001"],
                    }
                }
            }
        },
    },
)
async def list_handles(request: Request) -> Response:
    runtime = get_runtime(request)
    prefix = request.query_params.get("prefix", "")
    try:
        page = parse_bounded(request.query_params.get("page", "0"), 0, _MAX_LIST_PAGE)
        size = parse_bounded(request.query_params.get("pageSize", "1000"), 1, _MAX_LIST_SIZE)
        if page is None or size is None:
            raise InvalidInput(
                N_("0 ≤ page ≤ {pages} and 0 < pageSize ≤ {size}"),
                code="invalid_value",
                pages=_MAX_LIST_PAGE,
                size=_MAX_LIST_SIZE,
            )
        async with runtime.db.session() as session:
            caller = await _caller(request, session, runtime)
            if caller is None:
                raise Unauthenticated(N_("listing needs credentials"), code="authentication_needed")
            handles, total = await identifier_service(session, runtime).list_handles(
                caller, prefix, limit=size, offset=page * size
            )
    except TaihuError as exc:
        return _error(exc, prefix)
    return _json(
        {
            "responseCode": RC_SUCCESS,
            "prefix": parse_prefix(prefix),
            "totalCount": str(total),
            "page": page,
            "pageSize": size,
            "handles": handles,
        }
    )


@router.get(
    "/hrls/handles/",
    summary="Reverse lookup (search by value)",
    description="The reverse-lookup endpoint pyhandle's `search_handle` calls: "
    "`?URL=https://…&prefix=P` (one or more TYPE=VALUE pairs, `*` as wildcard) returns the "
    "handles whose values match, under the prefixes the caller administers.",
    responses={
        **ERROR_RESPONSES,
        200: {"content": {"application/json": {"example": ["88.118.8/ELV-0001"]}}},
    },
)
async def reverse_lookup(request: Request) -> Response:
    runtime = get_runtime(request)
    terms = {k: v for k, v in request.query_params.items() if k not in {"prefix", "limit"}}
    try:
        if not terms:
            raise InvalidInput(
                N_("give at least one TYPE=VALUE to search for"), code="invalid_value"
            )
        async with runtime.db.session() as session:
            caller = await _caller(request, session, runtime)
            if caller is None:
                raise Unauthenticated(
                    N_("searching needs credentials"), code="authentication_needed"
                )
            service = identifier_service(session, runtime)
            prefixes = [request.query_params["prefix"]] if "prefix" in request.query_params else [
                p.prefix for p in await service.prefixes_of(caller)
            ]  # fmt: skip
            found: list[str] = []
            for prefix in prefixes:
                found.extend(await service.search(caller, prefix, terms))
    except TaihuError as exc:
        return _error(exc, "")
    return _json(found)


for snms_router in snms.ROUTERS:
    router.include_router(snms_router)
LARGE_BODIES.update(snms.LARGE_BODIES)
