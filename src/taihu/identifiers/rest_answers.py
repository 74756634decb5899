"""REST answers of the identifier node: JSON, Handle.Net's errors, anonymous resolution.

``json_response`` and ``error_response`` (errors worded as the Handle.Net server's), the query
parameters ``query_flag`` and ``query_indexes``, shared by the routes in ``api``.
``FastResolution`` (ASGI middleware) and ``resolve_now`` (the HTTP front door, web/front_door.py)
answer anonymous ``GET /api/handles/{handle}`` from the resolver's rendered answers, byte for
byte as the route in ``api`` does; the resolution counts are flushed off the request.
"""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace
from typing import Any

import orjson
from fastapi.responses import Response
from sqlalchemy.exc import SQLAlchemyError
from starlette.datastructures import QueryParams
from starlette.types import ASGIApp, Receive, Scope, Send

from taihu.core import (
    N_,
    InvalidInput,
    Runtime,
    TaihuError,
    TooManyRequests,
    parse_bounded,
    reader_translation,
)
from taihu.identifiers.records import (
    RC_SUCCESS,
    RC_VALUES_NOT_FOUND,
    http_status,
    response_code,
    select_values,
)
from taihu.identifiers.registration import identifier_service, parse_handle
from taihu.identifiers.resolution import PublicAnswer, Resolver, resolver_in

__all__ = [
    "FastResolution",
    "answer_anonymous",
    "close_resolver",
    "error_response",
    "flush_soon",
    "json_response",
    "query_flag",
    "query_indexes",
    "resolve_now",
]

log = logging.getLogger("taihu.identifiers")

_HANDLES_PATH = "/api/handles/"
_MAX_INDEX = 2**32 - 1  # a Handle value index is an unsigned 32-bit number
_RESOLVE_ROUTE = SimpleNamespace(path="/api/handles/{handle}")
_flushing: set[asyncio.Task[None]] = set()


def json_response(body: dict[str, Any] | list[Any], status: int = 200, **kwargs: Any) -> Response:
    """A JSON response of ``body`` rendered by orjson."""
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", **kwargs)


def error_response(exc: TaihuError, handle: str) -> Response:
    """The Handle.Net-shaped answer to ``exc`` about ``handle``, in the reader's language."""
    code = response_code(exc)
    headers = {"WWW-Authenticate": 'Basic realm="handle"'} if code == 402 else None
    if isinstance(exc, TooManyRequests):  # a locked-out admin: 403 with responseCode 403
        headers = {"Retry-After": str(exc.retry_after)}
    # The Handle.Net server answers credentials over plain HTTP with 403 (responseCode 402).
    status = 403 if exc.code == "plain_http" else http_status(code)
    return json_response(
        {"responseCode": code, "handle": handle, "message": exc.text(reader_translation())},
        status,
        headers=headers,
    )


def query_flag(query: QueryParams, name: str) -> bool:
    """Whether the query sets ``name`` to a true value (true, 1, yes)."""
    return query.get(name, "").lower() in {"true", "1", "yes"}


def query_indexes(query: QueryParams) -> list[int]:
    """The ``index=`` values asked for; ``InvalidInput`` for one that is not a value index."""
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
        status, body = await answer_anonymous(
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
        flush_soon(runtime, resolver)


async def answer_anonymous(
    runtime: Runtime, resolver: Resolver, handle: str, query: QueryParams | None
) -> tuple[int, bytes]:
    """Status and body of an anonymous resolution (the cache's rendered answer when it can)."""
    types: list[str] = []
    indexes: list[int] = []
    try:
        parsed = parse_handle(handle)
        if query is not None:
            types, indexes = query.getlist("type"), query_indexes(query)
        answer = await resolver.public(
            parsed.key, fresh=query is not None and query_flag(query, "auth")
        )
        if answer is None:
            async with runtime.db.session() as session:
                await identifier_service(session, runtime).get_prefix(parsed.prefix)
            return 404, orjson.dumps({"responseCode": 100, "handle": parsed.text})
    except TaihuError as exc:
        response = error_response(exc, handle)
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
            types, indexes, fresh = (
                query.getlist("type"),
                query_indexes(query),
                query_flag(query, "auth"),
            )
    except TaihuError:
        return None
    answer = resolver.public_now(key, fresh=fresh)
    if answer is None:
        return None
    flush_soon(state.runtime, resolver)
    return 200, _filtered(answer, types, indexes)


def _filtered(answer: PublicAnswer, types: list[str], indexes: list[int]) -> bytes:
    """The body of an anonymous answer to a request for ``types`` and ``indexes`` (or all)."""
    if not types and not indexes:
        return answer.body
    values = select_values(answer.values(), types=types, indexes=indexes, include_private=False)
    if not values:
        return orjson.dumps({"responseCode": RC_VALUES_NOT_FOUND, "handle": answer.handle})
    return orjson.dumps({"responseCode": RC_SUCCESS, "handle": answer.handle, "values": values})


def flush_soon(runtime: Runtime, resolver: Resolver) -> None:
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
