"""HTTP routes of the identifier node: the Handle.Net-compatible REST API and reverse lookup.

Resolution (``GET /api/handles/{handle}``) is the hot path: it reads through the per-process
``Resolver`` with Core SQL and renders bytes with orjson, without ORM objects or pydantic models.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from types import SimpleNamespace
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import QueryParams
from starlette.types import ASGIApp, Receive, Scope, Send

from taihu.accounts import ERROR_RESPONSES, client_address, current_principal
from taihu.core import (
    MAX_INT,
    N_,
    InvalidInput,
    PermissionDenied,
    Runtime,
    TaihuError,
    TooManyRequests,
    Unauthenticated,
    get_runtime,
    parse_bounded,
    reader_translation,
)
from taihu.identifiers import snms
from taihu.identifiers.handle import Handle, HandleValueError
from taihu.identifiers.records import (
    RC_SUCCESS,
    RC_VALUES_NOT_FOUND,
    http_status,
    parse_basic,
    parse_values_body,
    response_code,
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
    PublicAnswer,
    Resolver,
    open_resolver,
    resolver_in,
    resolver_of,
)

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


def _json(body: dict[str, Any] | list[Any], status: int = 200, **kwargs: Any) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", **kwargs)


def _error(exc: TaihuError, handle: str) -> Response:
    code = response_code(exc)
    headers = {"WWW-Authenticate": 'Basic realm="handle"'} if code == 402 else None
    if isinstance(exc, TooManyRequests):  # a locked-out admin: 403 with responseCode 403
        headers = {"Retry-After": str(exc.retry_after)}
    # The Handle.Net server answers credentials over plain HTTP with 403 (responseCode 402).
    status = 403 if exc.code == "plain_http" else http_status(code)
    return _json(
        {"responseCode": code, "handle": handle, "message": exc.text(reader_translation())},
        status,
        headers=headers,
    )


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


def _flag(query: QueryParams, name: str) -> bool:
    return query.get(name, "").lower() in {"true", "1", "yes"}


def _indexes(query: QueryParams) -> list[int]:
    indexes = [parse_bounded(r, 0, _MAX_INDEX) for r in query.getlist("index")]
    if None in indexes:
        raise InvalidInput(
            N_("index= takes numbers from 0 to {most}"), code="invalid_value", most=_MAX_INDEX
        )
    return [i for i in indexes if i is not None]


class FastResolution:
    """ASGI middleware answering anonymous ``GET /api/handles/{handle}`` before routing.

    Resolution is the node's hot path: this skips FastAPI's routing, dependency solving and the
    request/response objects for requests without credentials (the route below still serves
    authenticated ones and documents the endpoint). The cache holds the answer already rendered,
    so a hit sends stored bytes. Answers are byte-identical to the route's.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer or pass on."""
        path: str = scope.get("path", "")
        if (
            scope["type"] != "http"
            or scope["method"] != "GET"
            or not path.startswith(_HANDLES_PATH)
            or any(name == b"authorization" for name, _ in scope["headers"])
        ):
            await self.app(scope, receive, send)
            return
        scope["route"] = _RESOLVE_ROUTE  # so metrics and access logs name the route
        state = scope["app"].state
        runtime: Runtime = state.runtime
        resolver = resolver_in(state)
        query = scope["query_string"]
        status, body = await _answer_anonymous(
            runtime, resolver, path[len(_HANDLES_PATH) :], QueryParams(query) if query else None
        )
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [  # in the order the route's Response sends them
                    (b"content-length", str(len(body)).encode()),
                    (b"content-type", b"application/json"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
        _flush_soon(runtime, resolver)


_HANDLES_PATH = "/api/handles/"
LARGE_BODIES: dict[str, int] = {}  # paths allowed bodies past TAIHU_HTTP_MAX_BODY_BYTES
_MAX_INDEX = 2**32 - 1  # a Handle value index is an unsigned 32-bit number
_MAX_LIST_SIZE = 10_000
_MAX_LIST_PAGE = MAX_INT // _MAX_LIST_SIZE  # so page * pageSize stays a database integer
_RESOLVE_ROUTE = SimpleNamespace(path="/api/handles/{handle}")
_flushing: set[asyncio.Task[None]] = set()


async def _answer_anonymous(
    runtime: Runtime, resolver: Resolver, handle: str, query: QueryParams | None
) -> tuple[int, bytes]:
    """Status and body of an anonymous resolution (the cache's rendered answer when it can)."""
    types: list[str] = []
    indexes: list[int] = []
    try:
        parsed = parse_handle(handle)
        if query is not None:
            types, indexes = query.getlist("type"), _indexes(query)
        answer = await resolver.public(parsed.key, fresh=query is not None and _flag(query, "auth"))
        if answer is None:
            async with runtime.db.session() as session:
                await identifier_service(session, runtime).get_prefix(parsed.prefix)
            return 404, orjson.dumps({"responseCode": 100, "handle": parsed.text})
    except TaihuError as exc:
        response = _error(exc, handle)
        return response.status_code, bytes(response.body)
    return 200, _filtered(answer, types, indexes)


def resolve_now(state: Any, handle: str, query_string: bytes) -> tuple[int, bytes] | None:
    """Status and body of an anonymous resolution the resolver can give without waiting.

    The HTTP front door (web/front_door.py) asks this before building an ASGI request: on
    SQLite, or from the cache, an existing handle is answered in the protocol's callback, as
    ``FastResolution`` and the route would answer it. ``None`` for everything else (a malformed
    handle or query, a handle not held, a PostgreSQL round trip), which the application serves.
    """
    resolver = resolver_in(state)
    types: list[str] = []
    indexes: list[int] = []
    fresh = False
    try:
        key = parse_handle(handle).key
        if query_string:
            query = QueryParams(query_string)
            types, indexes, fresh = query.getlist("type"), _indexes(query), _flag(query, "auth")
    except TaihuError:
        return None
    answer = resolver.public_now(key, fresh=fresh)
    if answer is None:
        return None
    _flush_soon(state.runtime, resolver)
    return 200, _filtered(answer, types, indexes)


def _filtered(answer: PublicAnswer, types: list[str], indexes: list[int]) -> bytes:
    """The body of an anonymous answer to a request for ``types`` and ``indexes`` (or all)."""
    if not types and not indexes:
        return answer.body
    values = select_values(answer.values(), types=types, indexes=indexes, include_private=False)
    if not values:
        return orjson.dumps({"responseCode": RC_VALUES_NOT_FOUND, "handle": answer.handle})
    return orjson.dumps({"responseCode": RC_SUCCESS, "handle": answer.handle, "values": values})


def _flush_soon(runtime: Runtime, resolver: Resolver) -> None:
    """Add the resolution counts to the daily statistics when a flush is due, off the request."""
    counts = resolver.take_counts()
    if counts:
        task = asyncio.get_running_loop().create_task(_flush(runtime, resolver, counts))
        _flushing.add(task)  # a strong reference until it is done
        task.add_done_callback(_flushing.discard)


async def close_resolver(app: Any, runtime: Runtime) -> None:
    """Save the counts not flushed yet and close the process's resolver (at shut-down)."""
    resolver: Resolver | None = getattr(app.state, "identifier_resolver", None)
    if resolver is None:
        return
    if _flushing:
        await asyncio.gather(*_flushing, return_exceptions=True)
    counts = resolver.take_counts(force=True)
    if counts:
        await _flush(runtime, resolver, counts)
    await resolver.aclose()


async def _flush(runtime: Runtime, resolver: Resolver, counts: dict[tuple[str, str], int]) -> None:
    try:
        async with runtime.db.session() as session:
            await identifier_service(session, runtime).count_resolutions(counts)
    except SQLAlchemyError:
        # A locked or unreachable database: keep the counts for the next flush.
        log.warning("resolution counts not saved yet; retrying with the next flush", exc_info=True)
        resolver.restore_counts(counts)


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
