"""uvicorn's httptools protocol, writing each response to the socket once instead of twice.

uvicorn writes a response's status line and headers when the application starts it and the
body when the application sends it: two ``send`` system calls for a small JSON answer. On the
node's hot path (an anonymous resolution, about 150 µs of a worker's CPU) those two calls were a
quarter of the workers' busy time (py-spy under wrk, docs/benchmarks.md). Here the writes of
one turn of the event loop are kept and handed to the transport together at the end of the
turn, in order; closing or aborting the connection settles what is kept first. Past 64 KiB
kept, writes go through at once, so the transport's flow control (pausing a large response
when the socket's buffer is full) works as before.

It also opens the front door (web/front_door.py): as soon as a request's headers are parsed, an
anonymous resolution the resolver can answer at once is written here, without a request cycle,
a task or the ASGI stack; any other request goes on as uvicorn would serve it.
"""

from __future__ import annotations

import asyncio
import logging
import time
import urllib.parse
from typing import Any

import httptools
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from taihu.web.front_door import FrontDoor

__all__ = ["CoalescingHttpToolsProtocol"]

log = logging.getLogger("taihu.http")

_KEEP_AT_MOST = 64 * 1024


class _CoalescedTransport:
    """A transport whose writes within one loop turn reach the socket as one."""

    __slots__ = ("_kept", "_loop", "_pending", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] | None = None
        self._kept = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Keep ``data`` for the end of this loop turn (or write it all now, past 64 KiB)."""
        if not data:
            return
        if self._pending is None:
            self._pending = [bytes(data)]
            self._kept = len(data)
            self._loop.call_soon(self._flush)
        else:
            self._pending.append(bytes(data))
            self._kept += len(data)
        if self._kept >= _KEEP_AT_MOST:
            self._flush()  # the call scheduled above then finds nothing kept

    def writelines(self, chunks: Any) -> None:
        """``write`` each chunk."""
        for chunk in chunks:
            self.write(chunk)

    def _flush(self) -> None:
        pending, self._pending = self._pending, None
        if pending and not self._transport.is_closing():
            self._transport.write(pending[0] if len(pending) == 1 else b"".join(pending))

    def close(self) -> None:
        """Write what is kept, then close."""
        self._flush()
        self._transport.close()

    def abort(self) -> None:
        """Drop what is kept and abort."""
        self._pending = None
        self._transport.abort()

    def get_write_buffer_size(self) -> int:
        """The transport's buffer plus what is kept."""
        kept = self._kept if self._pending is not None else 0
        return int(self._transport.get_write_buffer_size()) + kept

    def __getattr__(self, name: str) -> Any:
        # Everything else (reading, flow control, extra info, set_protocol) is the transport's.
        return getattr(self._transport, name)


def _front_door(app: Any) -> FrontDoor | None:
    """The front door of the application under uvicorn's wrappers (proxy headers, tracing)."""
    for _ in range(8):
        door = getattr(getattr(app, "state", None), "front_door", None)
        if isinstance(door, FrontDoor):
            return door
        app = getattr(app, "app", None)
    return None


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    """``HttpToolsProtocol`` over a transport that writes each loop turn's output once."""

    _door: FrontDoor | None = None
    _answered = False  # the request being parsed was answered at the front door

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Wrap the connection's transport, then set the connection up as uvicorn does."""
        coalesced = _CoalescedTransport(transport, self.loop)
        super().connection_made(coalesced)  # type: ignore[arg-type]
        self._door = None if self.root_path else _front_door(self.app)

    def on_message_begin(self) -> None:
        """A new request: not answered yet."""
        self._answered = False
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        """Answer at the front door when it can, else start the request as uvicorn does."""
        door = self._door
        if (
            door is not None
            and (self.cycle is None or self.cycle.response_complete)
            and not self.pipeline  # a request still being served answers first
            and door.wants(self.parser.get_method(), self.url)
            and self._answer_at(door)
        ):
            return
        super().on_headers_complete()

    def _answer_at(self, door: FrontDoor) -> bool:
        started = time.perf_counter()
        parsed = httptools.parse_url(self.url)
        path = parsed.path.decode("ascii")
        if "%" in path:
            path = urllib.parse.unquote(path)
        try:
            answer = door.respond(path, parsed.query or b"", self.headers, started)
        except Exception:  # the application answers, and reports, what went wrong
            log.warning("front door failed; the application answers", exc_info=True)
            answer = None
        if answer is None:
            return False
        status, headers, body = answer
        version = self.parser.get_http_version()
        keep_alive = version != "1.0" and self.parser.should_keep_alive()
        content = [STATUS_LINE[status]]
        for name, value in [*self.server_state.default_headers, *headers]:
            content.extend((name, b": ", value, b"\r\n"))
        if not keep_alive:
            content.append(b"connection: close\r\n")
        content.extend((b"\r\n", body))
        self._answered = True
        self.transport.write(b"".join(content))
        if not keep_alive:
            self.transport.close()
        self.on_response_complete()
        return True

    def on_body(self, body: bytes) -> None:
        """The body of a request (none for one answered at the front door)."""
        if not self._answered:
            super().on_body(body)

    def on_message_complete(self) -> None:
        """The end of a request (already answered, or handed to its request cycle)."""
        if not self._answered:
            super().on_message_complete()
