"""One request-size limit for every route, enforced while the body streams in.

A body announced larger than its route's limit (``Content-Length``) is refused with 413 before a
byte of it is read; a chunked body is counted as it arrives and cut off with 413 the moment it
passes the limit, so no route ever buffers more than its limit. JSON routes share
``TAIHU_HTTP_MAX_BODY_BYTES``; file uploads and SNMS batches name their larger limits by path.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

import orjson
from fastapi import APIRouter, params
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["BodyLimit", "BodyTooLarge", "upload_paths"]


class BodyTooLarge(HTTPException):
    """The request body passed its route's limit (answered 413 with the JSON error body)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes")
        self.limit = limit


def upload_paths(routers: Iterable[APIRouter]) -> set[str]:
    """The paths of the routes that take a file (multipart uploads)."""
    return {
        route.path
        for router in routers
        for route in router.routes
        if isinstance(route, APIRoute)
        and any(isinstance(field.field_info, params.File) for field in route.dependant.body_params)
    }


class BodyLimit:
    """Refuse request bodies over ``default`` bytes (or the larger limit of their path)."""

    def __init__(self, app: ASGIApp, *, default: int, larger: Mapping[str, int]) -> None:
        self.app = app
        self.default = default
        # Paths with parameters (``/openrosa/{kind}/{token}/submission``) are matched by pattern;
        # the plain ones by a dictionary look-up, as before.
        self.larger = {p: n for p, n in larger.items() if "{" not in p}
        self.patterns = [
            (re.compile(re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(p)) + "$"), n)
            for p, n in larger.items()
            if "{" in p
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the announced size, then count what arrives."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.larger.get(scope["path"], self.default)
        if limit == self.default and self.patterns:
            path = scope["path"]
            limit = next((n for p, n in self.patterns if p.match(path)), self.default)
        announced: int | None = None
        chunked = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                announced = int(value) if value.isdigit() else None
            elif name == b"transfer-encoding":
                chunked = True
        if announced is not None and announced > limit:
            # Refused before the application asks for the body: the server discards what
            # still arrives instead of keeping it (uvicorn drops body bytes of a request it has
            # answered), and a client that sent Expect: 100-continue never sends it. The
            # connection stays open, so a client that writes its whole body before reading
            # still gets this answer rather than a reset.
            await _refuse(send, limit)
            return
        if announced is None and not chunked:
            await self.app(scope, receive, send)  # no body (HTTP/1.1 without either header)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            # Raised where no exception handler turned it into a response (outside routing).
            if started:
                raise
            await _refuse(send, limit)


async def _refuse(send: Send, limit: int) -> None:
    body = orjson.dumps(
        {
            "error": "too_large",
            "message": f"the request body is larger than {limit} bytes",
        }
    )
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
