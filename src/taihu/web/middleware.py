"""ASGI middleware: request ids, security headers, access log and HTTP metrics in one pass."""

from __future__ import annotations

import logging
import re
import time
from typing import Any

import orjson
from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from taihu.core import new_request_id, request_id_var

__all__ = [
    "CLIENT_REQUEST_ID",
    "HTTP_REQUESTS",
    "HTTP_SECONDS",
    "SECURITY_HEADERS",
    "Metrics",
    "RequestMiddleware",
    "log_request",
]

log = logging.getLogger("taihu.http")

HTTP_REQUESTS = Counter(
    "taihu_http_requests_total", "HTTP requests served", ["method", "route", "status"]
)
HTTP_SECONDS = Histogram(
    "taihu_http_request_duration_seconds",
    "Time to serve an HTTP request",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)

# A caller's id is echoed only when it is short and plain, so it cannot inject into logs.
CLIENT_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        b"script-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
    ),
)


def _with_headers(message: Message, request_id: str) -> None:
    """Add the request id and the security headers a response does not set itself."""
    # Raw header pairs rather than MutableHeaders: this runs on every response of the node's
    # hot path, and ASGI header names are lower-case already.
    raw = list(message.get("headers", ()))
    present = {name.lower() for name, _ in raw}
    raw = [pair for pair in raw if pair[0].lower() != b"x-request-id"]
    raw.append((b"x-request-id", request_id.encode("latin-1")))
    raw.extend(pair for pair in SECURITY_HEADERS if pair[0] not in present)
    message["headers"] = raw


def log_request(method: str, path: str, route: str, status: int, elapsed: float) -> None:
    """The access-log line of one answered request."""
    log.info(
        "%s %s %s %.1fms", method, path, status, elapsed * 1000,
        extra={"status": status, "route": route, "duration_ms": round(elapsed * 1000, 2)},
    )  # fmt: skip


class Metrics:
    """The labelled children of the HTTP metrics, looked up once per label set."""

    def __init__(self) -> None:
        self._requests: dict[tuple[str, str, int], Any] = {}
        self._seconds: dict[tuple[str, str], Any] = {}

    def observe(self, method: str, route: str, status: int, elapsed: float) -> None:
        """Count one request and its duration."""
        counter = self._requests.get((method, route, status))
        if counter is None:
            counter = HTTP_REQUESTS.labels(method, route, str(status))
            self._requests[(method, route, status)] = counter
        counter.inc()
        histogram = self._seconds.get((method, route))
        if histogram is None:
            histogram = HTTP_SECONDS.labels(method, route)
            self._seconds[(method, route)] = histogram
        histogram.observe(elapsed)


class RequestMiddleware:
    """Tag each HTTP request with an id, add security headers, log it and count it."""

    def __init__(self, app: ASGIApp, *, access_log: bool = True) -> None:
        self.app = app
        self.access_log = access_log
        self.metrics = Metrics()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent_id = ""
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                sent_id = value.decode("latin-1")
        request_id = sent_id if CLIENT_REQUEST_ID.match(sent_id) else new_request_id()
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500

        started_response = False

        async def tracking_send(message: Message) -> None:
            nonlocal status, started_response
            if message["type"] == "http.response.start":
                started_response = True
                status = message["status"]
                _with_headers(message, request_id)
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            log.exception("unhandled error in %s %s", scope["method"], scope["path"])
            if started_response:
                raise
            # Answered here rather than by Starlette's outer error middleware, so the body and
            # the X-Request-ID header carry the id the log line above was written with.
            body = orjson.dumps(
                {
                    "error": "internal_error",
                    "message": f"internal error; quote request id {request_id} when reporting it",
                }
            )
            await tracking_send(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await tracking_send({"type": "http.response.body", "body": body})
        finally:
            elapsed = time.perf_counter() - started
            matched = scope.get("route")
            # The path as documented: `{enterprise_id}`, not the convertor's `{enterprise_id:int}`.
            route = (
                getattr(matched, "path_format", None)
                or getattr(matched, "path", None)
                or "unmatched"
            )
            method = scope["method"]
            self.metrics.observe(method, route, status, elapsed)
            if self.access_log:
                log_request(method, scope["path"], route, status, elapsed)
            request_id_var.reset(token)
