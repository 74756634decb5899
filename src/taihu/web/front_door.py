"""Anonymous resolutions answered in the HTTP protocol's callback, before any ASGI machinery.

``GET /api/handles/{handle}`` is the node's hot path. ``FastResolution`` (identifiers/api.py)
already answers it before FastAPI's routing, but every request still paid for uvicorn's request
cycle (a task, an event, the ASGI messages) and the middleware stack around it (measured in
docs/benchmarks.md, "The front door": 82.8 → 67.3 µs of server CPU per resolution). The protocol
(web/http_protocol.py) asks the front door first, as soon as a request's headers are parsed; the
front door answers only what the resolver can say without waiting (an existing handle, from the
cache or, on SQLite, from its read connection) and only for requests the ASGI path would answer
the same way: GET, no credentials, no body. It writes what the middleware would have added (the
request id, the security headers), counts the request in the same metrics and writes the same
access-log line. Everything else goes to the application unchanged.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from taihu.core import new_request_id, request_id_var
from taihu.web.middleware import CLIENT_REQUEST_ID, SECURITY_HEADERS, Metrics, log_request

__all__ = ["FrontDoor"]

Answer = Callable[[str, bytes], "tuple[int, bytes] | None"]
"""(path after the prefix, query string) → (status, JSON body), or ``None`` to pass on."""

_ROUTE = "/api/handles/{handle}"  # as RequestMiddleware names the route
_PREFIX = "/api/handles/"
_PREFIX_BYTES = _PREFIX.encode()
# A request with any of these goes to the application: credentials (the route decides what an
# admin may see), a body (BodyLimit and the route read it), an upgrade or an expectation.
_PASS_ON = frozenset(
    (b"authorization", b"content-length", b"transfer-encoding", b"expect", b"upgrade")
)


class FrontDoor:
    """Answers ``GET /api/handles/…`` without credentials when the resolver can at once."""

    def __init__(self, answer: Answer, *, access_log: bool) -> None:
        self.answer = answer
        self.access_log = access_log
        self.metrics = Metrics()

    @staticmethod
    def wants(method: bytes, url: bytes) -> bool:
        """Whether a request could be answered here (cheap: method and path only)."""
        return method == b"GET" and url.startswith(_PREFIX_BYTES)

    def respond(
        self, path: str, query: bytes, headers: list[tuple[bytes, bytes]], started: float
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes] | None:
        """Status, headers and body, or ``None`` for the application to answer.

        ``path``: the request's path, percent-decoded as the ASGI scope has it; ``headers``:
        the request's, names lower-case.
        """
        sent_id = b""
        for name, value in headers:
            if name in _PASS_ON:
                return None
            if name == b"x-request-id":
                sent_id = value
        answered = self.answer(path[len(_PREFIX) :], query)
        if answered is None:
            return None
        status, body = answered
        request_id = sent_id.decode("latin-1")
        if not CLIENT_REQUEST_ID.match(request_id):
            request_id = new_request_id()
        response_headers = [
            (b"content-length", str(len(body)).encode()),  # in the route's order
            (b"content-type", b"application/json"),
            (b"x-request-id", request_id.encode("latin-1")),
            *SECURITY_HEADERS,
        ]
        elapsed = time.perf_counter() - started
        self.metrics.observe("GET", _ROUTE, status, elapsed)
        if self.access_log:
            token = request_id_var.set(request_id)
            try:
                log_request("GET", path, _ROUTE, status, elapsed)
            finally:
                request_id_var.reset(token)
        return status, response_headers, body
