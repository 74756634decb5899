"""Request-size limit (413 as the body streams in), trusted proxies, and the console's 429."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from taihu.accounts import Role
from taihu.cli.server import UVICORN_OPTIONS, bind_tcp
from taihu.core import Database, FrozenClock
from taihu.settings import HttpSettings, Settings
from taihu.web import create_app
from tests.conftest import PASSWORD, World
from tests.web.test_console import sign_in

LIMIT = 1_048_576  # TAIHU_HTTP_MAX_BODY_BYTES' default
CHUNK = 64 * 1024


class Flood:
    """A request body of ``total`` bytes that counts how much of it was pulled."""

    def __init__(self, total: int, head: bytes = b'{"username": "x", "password": "') -> None:
        self.total = total
        self.head = head
        self.sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.head
        self.sent += len(self.head)
        while self.sent < self.total:
            chunk = b"a" * min(CHUNK, self.total - self.sent)
            yield chunk
            self.sent += len(chunk)


async def test_an_announced_oversized_body_is_refused_before_it_is_read(
    client: httpx.AsyncClient,
) -> None:
    flood = Flood(50 * 1024 * 1024)
    response = await client.post(
        "/api/auth/token",
        content=flood,
        headers={"content-type": "application/json", "content-length": str(flood.total)},
    )
    assert response.status_code == 413
    assert response.json() == {
        "error": "too_large",
        "message": f"the request body is larger than {LIMIT} bytes",
    }
    assert flood.sent == 0  # not a byte pulled


async def test_a_chunked_flood_is_cut_off_at_the_limit(client: httpx.AsyncClient) -> None:
    flood = Flood(50 * 1024 * 1024)  # no Content-Length: sent chunked
    response = await client.post(
        "/api/auth/token", content=flood, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["error"] == "too_large"
    assert flood.sent <= LIMIT + 2 * CHUNK  # stopped at the limit, not read to the end


async def test_bodies_within_the_limit_are_served(client: httpx.AsyncClient) -> None:
    flood = Flood(LIMIT - CHUNK)  # a long password, still under the limit: parsed, then 422
    response = await client.post(
        "/api/auth/token", content=flood, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422


async def test_uploads_keep_their_larger_limit(client: httpx.AsyncClient, world: World) -> None:
    headers = await world.bearer("root", Role.ADMIN)
    big_file = b"name,credit_code\n" + b"x" * (2 * LIMIT)
    response = await client.post(
        "/api/enterprises/import",
        files={"file": ("big.csv", big_file, "text/csv")},
        headers=headers,
    )
    assert response.status_code == 400  # read whole, refused as a table, not for its size
    assert response.json()["error"] == "bad_file"
    head = (
        b'--x\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n'
        b"Content-Type: text/csv\r\n\r\n"
    )
    flood = Flood(30 * 1024 * 1024, head=head)
    response = await client.post(
        "/api/enterprises/import",
        content=flood,
        headers={**headers, "content-type": "multipart/form-data; boundary=x"},
    )
    assert response.status_code == 413
    assert flood.sent <= 21 * LIMIT + 2 * CHUNK  # the 20 MiB file limit and its envelope


async def test_console_forms_share_the_limit(client: httpx.AsyncClient) -> None:
    flood = Flood(10 * 1024 * 1024, head=b"username=x&password=")
    response = await client.post(
        "/login", content=flood, headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 413
    assert flood.sent <= LIMIT + 2 * CHUNK


def _app_with(settings: Settings, db: Database, clock: FrozenClock, **http: object) -> FastAPI:
    return create_app(
        settings.model_copy(update={"http": HttpSettings(**http)}), db=db, clock=clock
    )


async def _sign_in_failures(app: FastAPI, peer: str, forwarded: list[str]) -> list[int]:
    """Wrong passwords from ``peer``, each claiming another X-Forwarded-For; the statuses."""
    transport = httpx.ASGITransport(app=app, client=(peer, 4321))  # type: ignore[arg-type]
    statuses = []
    async with httpx.AsyncClient(transport=transport, base_url="http://taihu.test") as http:
        for address in forwarded:
            response = await http.post(
                "/api/auth/token",
                json={"username": "zhang", "password": "wrong-pass"},
                headers={"x-forwarded-for": address},
            )
            statuses.append(response.status_code)
    return statuses


FORWARDED = ["203.0.113.1", "203.0.113.2", "203.0.113.3", "203.0.113.4", "203.0.113.5"]


async def test_forwarded_for_from_loopback_is_not_believed_by_default(
    settings: Settings, db: Database, clock: FrozenClock, world: World
) -> None:
    await world.user("zhang", Role.BUREAU)
    statuses = await _sign_in_failures(_app_with(settings, db, clock), "127.0.0.1", FORWARDED)
    # A new X-Forwarded-For each time does not dodge the throttle (3 failures allowed).
    assert statuses == [401, 401, 401, 429, 429]


async def test_forwarded_for_is_believed_from_a_listed_proxy(
    settings: Settings, db: Database, clock: FrozenClock, world: World
) -> None:
    await world.user("zhang", Role.BUREAU)
    app = _app_with(settings, db, clock, trusted_proxies=["10.0.0.0/8"])
    statuses = await _sign_in_failures(app, "10.1.2.3", FORWARDED)
    assert statuses == [401] * 5  # each client behind the proxy is counted on its own
    # A caller that is not a listed proxy is still counted by its own address.
    statuses = await _sign_in_failures(app, "127.0.0.1", FORWARDED[:4])
    assert statuses == [401, 401, 401, 429]


def test_trusted_proxies_come_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAIHU_HTTP_TRUSTED_PROXIES", "10.0.0.1, 192.168.0.0/16")
    monkeypatch.setenv("TAIHU_HTTP_MAX_BODY_BYTES", "65536")
    http = HttpSettings()
    assert http.trusted_proxies == ["10.0.0.1", "192.168.0.0/16"]
    assert http.max_body_bytes == 65536
    monkeypatch.setenv("TAIHU_HTTP_TRUSTED_PROXIES", "proxy.local")
    with pytest.raises(ValueError, match="not an IP address"):
        HttpSettings()


async def test_a_smaller_limit_from_the_settings_applies(
    settings: Settings, db: Database, clock: FrozenClock
) -> None:
    app = _app_with(settings, db, clock, max_body_bytes=4096)
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://taihu.test") as http:
        response = await http.post(
            "/api/auth/token", json={"username": "x", "password": "p" * 5000}
        )
    assert response.status_code == 413
    assert "4096" in response.json()["message"]


async def test_the_consoles_429_says_when_to_retry(client: httpx.AsyncClient, world: World) -> None:
    await world.user("zhang", Role.BUREAU)
    for _ in range(3):
        assert (await sign_in(client, "zhang", "wrong-pass")).status_code == 401
    refused = await sign_in(client, "zhang", PASSWORD)
    assert refused.status_code == 429
    assert 0 < int(refused.headers["retry-after"]) <= 301  # the 300 s window, rounded up


@contextlib.asynccontextmanager
async def _served(app: FastAPI) -> AsyncIterator[str]:
    """The application behind a real uvicorn, configured as `taihu serve` runs it; its URL."""
    sock = bind_tcp("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(app, **UVICORN_OPTIONS))  # type: ignore[arg-type]
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:  # readiness, not a guessed delay
            if serving.done():
                serving.result()
                pytest.fail("uvicorn stopped before serving (see its log)")
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await serving
        sock.close()


async def test_taihu_serve_does_not_believe_forwarded_for_from_loopback(
    settings: Settings, db: Database, clock: FrozenClock, world: World
) -> None:
    await world.user("zhang", Role.BUREAU)
    async with (
        _served(_app_with(settings, db, clock)) as url,
        httpx.AsyncClient(timeout=60) as http,
    ):
        statuses = []
        for address in FORWARDED:
            response = await http.post(
                f"{url}/api/auth/token",
                json={"username": "zhang", "password": "wrong-pass"},
                headers={"x-forwarded-for": address},
            )
            statuses.append(response.status_code)
        # A huge announced body over a real socket: answered 413, the rest discarded.
        response = await http.post(
            f"{url}/api/auth/token",
            content=Flood(50 * 1024 * 1024),
            headers={"content-type": "application/json", "content-length": str(50 * 1024 * 1024)},
        )
    assert statuses == [401, 401, 401, 429, 429]
    assert response.status_code == 413


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", "/api/handles/88.118.8/X-1"),  # Handle REST reads the raw body itself
        ("POST", "/identityv2/data"),  # so does SNMS
        ("POST", "/identity/token"),
        ("POST", "/api/enterprises"),
    ],
)
async def test_routes_reading_raw_bodies_answer_413_too(
    client: httpx.AsyncClient, world: World, method: str, path: str
) -> None:
    headers = await world.bearer("root", Role.ADMIN)
    flood = Flood(8 * LIMIT, head=b'{"x": "')
    response = await client.request(
        method, path, content=flood, headers={**headers, "content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["error"] == "too_large"
    assert flood.sent <= LIMIT + 2 * CHUNK
