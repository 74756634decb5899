"""uvicorn's httptools protocol, writing each response to the socket once instead of twice.

uvicorn writes a response's status line and headers when the application starts it and the
body when the application sends it: two ``send`` system calls for a small JSON answer. On the
node's hot path (an anonymous resolution, about 150 µs of a worker's CPU) those two calls were a
quarter of the workers' busy time (py-spy under wrk, docs/benchmarks.md). Here the writes of
one turn of the event loop are kept and handed to the transport together at the end of the
turn, in order; closing or aborting the connection settles what is kept first. Past 64 KiB
kept, writes go through at once, so the transport's flow control (pausing a large response
when the socket's buffer is full) works as before.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["CoalescingHttpToolsProtocol"]

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


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    """``HttpToolsProtocol`` over a transport that writes each loop turn's output once."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Wrap the connection's transport, then set the connection up as uvicorn does."""
        coalesced = _CoalescedTransport(transport, self.loop)
        super().connection_made(coalesced)  # type: ignore[arg-type]
