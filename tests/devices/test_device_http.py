"""ThingsBoard's HTTP device API: the token first, a bounded body, ThingsBoard's empty 200.

httpx against the application in-process, and curl against a real uvicorn.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn

from taihu.accounts import Role
from taihu.devices import DeviceHub
from tests.devices.conftest import DEADLINE, Dev, eventually, latest


def _limit(app: Any) -> int:
    hub: DeviceHub = app.state.device_hub
    return hub.settings.max_packet_size


async def _rejects(client: httpx.AsyncClient, dev: Dev, total: int) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        body: dict[str, Any] = (
            await client.get(f"/api/devices/{dev.id}/rejects", headers=dev.headers)
        ).json()
        return body if body["total"] >= total else None

    found: dict[str, Any] = await eventually(check)
    return found


async def test_a_wrong_token_gets_401_whatever_the_body(client: httpx.AsyncClient) -> None:
    for route in ("telemetry", "attributes"):
        bad_json = await client.post(
            f"/api/v1/dev_wrong/{route}", content=b"{nope",
            headers={"content-type": "application/json"},
        )  # fmt: skip
        assert bad_json.status_code == 401, bad_json.text
        assert bad_json.json()["error"] == "bad_device_token"
        empty = await client.post(f"/api/v1/dev_wrong/{route}")
        assert empty.status_code == 401


async def test_success_is_an_empty_200(client: httpx.AsyncClient, make_device: Any) -> None:
    dev = await make_device()
    stored = await client.post(f"/api/v1/{dev.token}/telemetry", json={"kw": 1.5})
    assert (stored.status_code, stored.content) == (200, b"")
    attrs = await client.post(f"/api/v1/{dev.token}/attributes", json={"fw": "1.0"})
    assert (attrs.status_code, attrs.content) == (200, b"")
    assert await latest(client, dev) == {"kw": 1.5}


async def test_a_body_over_the_limit_gets_413_and_is_recorded(
    client: httpx.AsyncClient, make_device: Any, app: Any
) -> None:
    dev = await make_device()
    limit = _limit(app)
    value = "x" * limit
    over = await client.post(f"/api/v1/{dev.token}/telemetry", json={"s": value})
    assert over.status_code == 413, over.text
    assert over.json()["error"] == "payload_too_large"

    # No Content-Length (chunked): refused once the bytes read pass the limit.
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"s": "'
        for _ in range(limit // 1024 + 2):
            yield b"y" * 1024
        yield b'"}'

    streamed = await client.post(
        f"/api/v1/{dev.token}/attributes", content=chunks(),
        headers={"content-type": "application/json"},
    )  # fmt: skip
    assert streamed.status_code == 413, streamed.text
    # Exactly the limit is read and parsed (and refused for its 'value', not its size).
    at_limit = b'{"s":"' + b"x" * (limit - 8) + b'"}'
    assert len(at_limit) == limit
    read = await client.post(
        f"/api/v1/{dev.token}/telemetry", content=at_limit,
        headers={"content-type": "application/json"},
    )  # fmt: skip
    assert read.status_code == 400, read.text
    assert "strings are limited" in read.json()["message"]
    record = await _rejects(client, dev, 3)
    assert record["by_reason"]["too_large"]["count"] == 2
    assert {r["transport"] for r in record["recent"]} == {"http"}
    assert [r["topic"] for r in record["recent"]] == ["telemetry", "attributes", "telemetry"]


async def test_a_malformed_body_is_recorded_on_the_device(
    client: httpx.AsyncClient, make_device: Any
) -> None:
    dev = await make_device()
    bad = await client.post(
        f"/api/v1/{dev.token}/telemetry", content=b"{nope",
        headers={"content-type": "application/json"},
    )  # fmt: skip
    assert bad.status_code == 400
    assert bad.json()["error"] == "bad_payload"
    record = await _rejects(client, dev, 1)
    assert record["recent"][0]["reason"] == "malformed"
    assert record["recent"][0]["transport"] == "http"


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
async def test_curl_against_a_real_server(app: Any, make_device: Any) -> None:
    dev = await make_device()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}/api/v1"
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, lifespan="off"))
    serving = asyncio.create_task(server.serve(sockets=[sock]))

    async def curl(*args: str) -> tuple[str, str]:
        """(status, body) of one curl request."""
        process = await asyncio.create_subprocess_exec(
            "curl", "-sS", "-o", "-", "-w", "\n%{http_code}", *args,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(process.communicate(), DEADLINE)
        assert process.returncode == 0, err.decode()
        body, _, status = out.decode().rpartition("\n")
        return status, body

    try:
        while not server.started:  # noqa: ASYNC110 - uvicorn has no "started" event
            await asyncio.sleep(0.01)
        json_header = ("-H", "Content-Type: application/json")
        assert await curl(f"{base}/{dev.token}/telemetry", *json_header,
                          "-d", '{"temperature": 25}') == ("200", "")  # fmt: skip
        assert (await curl(f"{base}/dev_wrong/telemetry", *json_header, "-d", "{nope"))[0] == "401"
        big = "{" + '"s": "' + "z" * _limit(app) + '"}'
        status, body = await curl(f"{base}/{dev.token}/telemetry", *json_header,
                                  "--data-binary", big)  # fmt: skip
        assert status == "413", body
    finally:
        server.should_exit = True
        await serving


async def test_more_points_than_the_limit_ever_allows_is_400_not_429(
    client: httpx.AsyncClient, make_device: Any, world: Any
) -> None:
    bureau = await world.bearer("bu", Role.BUREAU)
    spec = {"name": "two-points", "data_point_limits": "2:60"}
    assert (await client.post("/api/device-profiles", json=spec, headers=bureau)).status_code == 201
    dev = await make_device(profile="two-points")
    never = await client.post(f"/api/v1/{dev.token}/telemetry", json={"a": 1, "b": 2, "c": 3})
    assert never.status_code == 400, never.text  # a resend would never pass: no Retry-After
    assert never.json()["error"] == "too_many_points"
    assert (await client.post(f"/api/v1/{dev.token}/telemetry", json={"a": 1})).status_code == 200
    later = await client.post(f"/api/v1/{dev.token}/telemetry", json={"b": 1, "c": 2})
    assert later.status_code == 429  # two would fit, once the bucket refills
    assert later.headers["retry-after"] == "1"
