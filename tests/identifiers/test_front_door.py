"""Resolutions answered at the HTTP front door are byte for byte what the FastAPI route sends.

Two copies of the application on the same database, each behind the server's own protocol on a
real socket: one as served (the front door, then ``FastResolution``, then the route), one with
both fast paths removed so that every request reaches the route. The same raw requests go to
both and the raw responses (status line, headers in order, body) must match.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from uvicorn.server import ServerState

from taihu.core import Database
from taihu.identifiers import api as identifiers_api
from taihu.identifiers.resolution import resolver_in
from taihu.settings import Settings
from taihu.web import CoalescingHttpToolsProtocol, create_app
from taihu.web.front_door import FrontDoor
from tests.conftest import FrozenClock
from tests.identifiers.conftest import ADMIN, PREFIX

pytestmark = pytest.mark.usefixtures("prefixes")

PLAIN = f"{PREFIX}/ELV-0001"
UTF8 = f"{PREFIX}/电梯-0001"
_DATE = (b"date", b"Wed, 25 Nov 2026 08:00:00 GMT")


async def _serve(app: FastAPI) -> tuple[asyncio.Server, int]:
    config = uvicorn.Config(app, lifespan="off", http=CoalescingHttpToolsProtocol, access_log=False)
    config.load()
    state = ServerState()
    state.default_headers = [_DATE]  # the server's clock tick sets it; fixed here
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: CoalescingHttpToolsProtocol(config, state, {}, _loop=loop), sock=sock
    )
    return server, int(sock.getsockname()[1])


class _Pair:
    """The application as served, and one that always answers through the route."""

    def __init__(self, served: int, routed: int, door: list[bool], dialect: str) -> None:
        self.dialect = dialect
        self.served = served
        self.routed = routed
        self.door = door  # per request to the served copy: answered at the front door?

    async def both(self, raw: bytes) -> tuple[bytes, bytes]:
        return await _exchange(self.served, raw), await _exchange(self.routed, raw)


async def _exchange(port: int, raw: bytes) -> bytes:
    """Send ``raw`` and read until the server closes the connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(raw)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(-1), 30)
    writer.close()
    return answer


def _get(path: str, *headers: str, close: bool = True, version: str = "1.1") -> bytes:
    lines = [f"GET {path} HTTP/{version}", "Host: taihu.test", *headers]
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _recording(door: FrontDoor, seen: list[bool]) -> Callable[[str, bytes], Any]:
    answer = door.answer

    def recorded(handle: str, query: bytes) -> tuple[int, bytes] | None:
        result = answer(handle, query)
        seen.append(result is not None)
        return result

    return recorded


@pytest.fixture
async def pair(
    settings: Settings, db: Database, clock: FrozenClock, client: httpx.AsyncClient
) -> AsyncIterator[_Pair]:
    values = [
        {"index": 1, "type": "URL", "data": "https://lift.example/ELV-0001"},
        {"index": 2, "type": "EMAIL", "data": "ops@lift.example"},
        {"index": 3, "type": "SERIAL", "data": "private", "permissions": "1100"},
    ]
    for handle in (PLAIN, UTF8):
        created = await client.put(
            f"/api/handles/{quote(handle)}", json={"values": values}, headers=ADMIN
        )
        assert created.status_code == 201, created.text
    served = create_app(settings, db=db, clock=clock)
    door: list[bool] = []
    assert isinstance(served.state.front_door, FrontDoor)
    served.state.front_door.answer = _recording(served.state.front_door, door)
    # On PostgreSQL the door answers only from the cache, and not when a change-log sync is due
    # (every half second, which a slow machine spends on a few requests): time stands still.
    resolver_in(served.state).monotonic = lambda: 1000.0
    routed = create_app(settings, db=db, clock=clock)
    routed.state.front_door = None
    routed.user_middleware = [
        m for m in routed.user_middleware if m.cls is not identifiers_api.FastResolution
    ]
    servers = [await _serve(app) for app in (served, routed)]
    try:
        yield _Pair(servers[0][1], servers[1][1], door, db.dialect)
    finally:
        for server, _ in servers:
            server.close()
            await server.wait_closed()
        for app in (served, routed):
            await resolver_in(app.state).aclose()


_SAME_ANSWERS = [
    f"/api/handles/{PLAIN}",
    f"/api/handles/{quote(UTF8)}",
    f"/api/handles/{PLAIN}?type=URL",
    f"/api/handles/{PLAIN}?index=1&index=2",
    f"/api/handles/{PLAIN}?type=SERIAL",  # non-public only: 200 with responseCode 200
    f"/api/handles/{PLAIN}?type=NOPE&index=7",
    f"/api/handles/{PLAIN}?auth=true",
    f"/api/handles/{PLAIN.lower()}",
]


@pytest.mark.parametrize("path", _SAME_ANSWERS)
async def test_front_door_answers_as_the_route(pair: _Pair, path: str) -> None:
    for _ in range(2):  # the second from the cache (on PostgreSQL the first fills it)
        served, routed = await pair.both(_get(path, "X-Request-ID: req-1"))
        assert served == routed
        assert served.startswith(b"HTTP/1.1 200 OK\r\n")
    if "auth=true" in path and pair.dialect == "postgresql":
        assert not any(pair.door), "auth=true on PostgreSQL needs a database read"
    else:
        assert pair.door[-1], "the front door did not answer a cached resolution"
    assert b'"index":3,' not in served, "a non-public value reached an anonymous reader"


@pytest.mark.parametrize(
    ("path", "status"),
    [
        (f"/api/handles/{PREFIX}/NOPE", b"404"),
        ("/api/handles/99.999/X", b"404"),  # a prefix not served here
        ("/api/handles/no-slash", b"400"),
        (f"/api/handles/{PLAIN}?index=-1", b"400"),
        (f"/api/handles/{PLAIN}?index=99999999999", b"400"),
    ],
)
async def test_what_the_front_door_cannot_answer_reaches_the_route(
    pair: _Pair, path: str, status: bytes
) -> None:
    for language in ("en", "zh-CN"):
        served, routed = await pair.both(
            _get(path, "X-Request-ID: req-2", f"Accept-Language: {language}")
        )
        assert served == routed
        assert served.split(b" ", 2)[1] == status
    assert not any(pair.door)


async def test_credentials_go_to_the_route(pair: _Pair) -> None:
    # An admin sees the non-public value: only the route knows who is asking.
    (auth,) = ADMIN.values()
    raw = _get(f"/api/handles/{PLAIN}", f"Authorization: {auth}", "X-Request-ID: req-3")
    served, routed = await pair.both(raw)
    assert served == routed
    assert b'"index":3,' in served
    assert pair.door == []


async def test_keep_alive_pipelining_and_http_1_0(pair: _Pair) -> None:
    # Three requests in one write on one connection, answered in order: the first at the door,
    # the second (a missing handle) by the route, the third queued behind it as uvicorn queues
    # pipelined requests; the last one closes the connection.
    await pair.both(_get(f"/api/handles/{PLAIN}"))  # cached on PostgreSQL too
    raw = (
        _get(f"/api/handles/{PLAIN}", "X-Request-ID: a", close=False)
        + _get(f"/api/handles/{PREFIX}/NOPE", "X-Request-ID: b", close=False)
        + _get(f"/api/handles/{PLAIN}?type=URL", "X-Request-ID: c")
    )
    pair.door.clear()
    served, routed = await pair.both(raw)
    assert served == routed
    assert served.count(b"HTTP/1.1 ") == 3
    assert pair.door == [True, False]
    assert served.count(b"connection: close\r\n") == 1
    # HTTP/1.0 without keep-alive: the connection closes, and says so.
    served, routed = await pair.both(
        _get(f"/api/handles/{PLAIN}", "X-Request-ID: d", close=False, version="1.0")
    )
    assert served == routed
    assert b"connection: close\r\n" in served


async def test_a_fresh_request_id_and_the_security_headers(pair: _Pair) -> None:
    await _exchange(pair.served, _get(f"/api/handles/{PLAIN}"))  # cached on PostgreSQL too
    pair.door.clear()
    served = await _exchange(pair.served, _get(f"/api/handles/{PLAIN}"))
    head = served.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    names = [line.split(b":", 1)[0] for line in head[1:]]
    assert names == [
        b"date", b"content-length", b"content-type", b"x-request-id",
        b"x-content-type-options", b"referrer-policy", b"x-frame-options",
        b"content-security-policy", b"connection",
    ]  # fmt: skip
    request_id = next(line for line in head if line.startswith(b"x-request-id: "))
    assert len(request_id) == len(b"x-request-id: ") + 16
    assert pair.door == [True]
