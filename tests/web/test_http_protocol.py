"""One write per response: uvicorn with the coalescing protocol, over real loopback sockets."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
import uvicorn
from starlette.types import Receive, Scope, Send

from taihu.web import CoalescingHttpToolsProtocol
from taihu.web.http_protocol import _CoalescedTransport


async def _app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    await receive()
    if scope["path"] == "/stream":  # chunked, three body messages
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for part in (b"one ", b"two ", b"three"):
            await send({"type": "http.response.body", "body": part, "more_body": True})
            await asyncio.sleep(0)
        await send({"type": "http.response.body", "body": b""})
        return
    body = f"hello {scope['path']}".encode()
    headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]
    if scope["path"] == "/bye":
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@pytest.fixture
async def port() -> AsyncIterator[int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(_app, http=CoalescingHttpToolsProtocol, log_config=None, lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:  # noqa: ASYNC110 - uvicorn has no "started" event
        await asyncio.sleep(0.01)
    yield sock.getsockname()[1]
    server.should_exit = True
    await task


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> bytes:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    if request.startswith(b"HEAD "):
        return head
    if b"content-length:" in head:
        length = int(head.split(b"content-length: ")[1].split(b"\r\n")[0])
        return head + await reader.readexactly(length)
    return head + await reader.readuntil(b"0\r\n\r\n")


async def test_responses_arrive_whole_in_order_and_keep_alive_works(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    first = await _exchange(reader, writer, b"GET /a HTTP/1.1\r\nHost: t\r\n\r\n")
    assert first.startswith(b"HTTP/1.1 200 OK\r\n")
    assert first.endswith(b"\r\n\r\nhello /a")
    streamed = await _exchange(reader, writer, b"GET /stream HTTP/1.1\r\nHost: t\r\n\r\n")
    assert b"transfer-encoding: chunked" in streamed
    assert streamed.endswith(b"4\r\none \r\n4\r\ntwo \r\n5\r\nthree\r\n0\r\n\r\n")
    head = await _exchange(reader, writer, b"HEAD /h HTTP/1.1\r\nHost: t\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")  # headers only, sent though no body follows
    last = await _exchange(reader, writer, b"GET /bye HTTP/1.1\r\nHost: t\r\n\r\n")
    assert last.endswith(b"hello /bye")
    assert await reader.read() == b""  # Connection: close ends it after the whole answer
    writer.close()
    await writer.wait_closed()


class _Recording(asyncio.Transport):
    """An in-process transport that records what reaches it."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_write_buffer_size(self) -> int:
        return 0


async def test_the_writes_of_one_loop_turn_reach_the_transport_as_one() -> None:
    recording = _Recording()
    coalesced = _CoalescedTransport(recording, asyncio.get_running_loop())
    coalesced.write(b"HTTP/1.1 200 OK\r\n\r\n")
    coalesced.write(b"")
    coalesced.write(b"body")
    assert recording.writes == []
    assert coalesced.get_write_buffer_size() == 23
    await asyncio.sleep(0)
    assert recording.writes == [b"HTTP/1.1 200 OK\r\n\r\nbody"]
    coalesced.write(b"last words")
    coalesced.close()  # what is kept goes out before the close
    assert (recording.writes[-1], recording.closed) == (b"last words", True)


async def test_a_large_response_is_not_kept_back() -> None:
    recording = _Recording()
    coalesced = _CoalescedTransport(recording, asyncio.get_running_loop())
    coalesced.write(b"HTTP/1.1 200 OK\r\n\r\n")
    coalesced.write(bytes(70_000))  # past 64 KiB: written now, so flow control sees it
    assert [len(w) for w in recording.writes] == [70_019]
    await asyncio.sleep(0)
    assert len(recording.writes) == 1
