"""The device pages of the console: list, detail with history and live values, isolation."""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any

import httpx
import uvicorn

from taihu.accounts import Role
from taihu.core import N_, Message
from taihu.devices import DeviceHub
from taihu.devices.values import Point
from tests.conftest import CODE_B, World
from tests.devices.conftest import DEADLINE
from tests.web.test_console import sign_in


async def test_device_pages(
    client: httpx.AsyncClient, make_device: Any, world: World, app: Any
) -> None:
    dev = await make_device("电表-1号车间")
    hub: DeviceHub = app.state.device_hub
    now = int(world.clock.now().timestamp() * 1000)
    await hub.ingest.write(dev.id, [Point("kw", now - 3_600_000, 40.0), Point("kw", now, 42.5)])
    await world.user("factory", Role.ENTERPRISE, enterprises=(dev.enterprise_id,))
    await sign_in(client, "factory")
    listing = await client.get("/devices")
    assert listing.status_code == 200
    assert "电表-1号车间" in listing.text
    assert "离线" in listing.text  # not connected
    assert "设备接入" not in listing.text  # the hub overview is for staff
    detail = await client.get(f"/devices/{dev.id}")
    assert detail.status_code == 200
    assert "最新值" in detail.text
    assert 'data-key="kw"' in detail.text
    chart = json.loads(detail.text.split('id="history-data">')[1].split("</script>")[0])
    assert chart["key"] == "kw"
    assert chart["values"][-2:] == [40.0, 42.5]


async def test_the_device_page_lists_refused_messages(
    client: httpx.AsyncClient, make_device: Any, world: World, app: Any
) -> None:
    dev = await make_device()
    await world.user("factory", Role.ENTERPRISE, enterprises=(dev.enterprise_id,))
    await sign_in(client, "factory")
    assert "没有消息被拒绝" in (await client.get(f"/devices/{dev.id}")).text
    bad = await client.post(
        f"/api/v1/{dev.token}/telemetry", content=b"{oops",
        headers={"content-type": "application/json"},
    )  # fmt: skip
    assert bad.status_code == 400
    hub: DeviceHub = app.state.device_hub
    await hub.rejects.flush()  # what the background writer does within a second
    page = (await client.get(f"/devices/{dev.id}")).text
    assert "被拒绝的消息" in page
    assert "共拒绝 1 条" in page
    assert "载荷格式错误" in page  # the reason, in the reader's language
    assert "0x99" in page
    # The detail in the reader's language too (the device itself was told it in English).
    assert "消息内容不是有效的 JSON" in page
    assert "payload is not valid JSON" not in page


async def test_a_quoted_value_of_a_refusal_is_shown_as_text(
    client: httpx.AsyncClient, make_device: Any, world: World, app: Any
) -> None:
    dev = await make_device()
    await world.user("factory", Role.ENTERPRISE, enterprises=(dev.enterprise_id,))
    await sign_in(client, "factory")
    hub: DeviceHub = app.state.device_hub
    why = Message(N_("gateway {gateway_id} has a child named {name!r} already"),
                  gateway_id=dev.id, name="泵<1>")  # fmt: skip
    hub.rejects.record(dev.id, "not_authorized", 0x87, why, transport="mqtt")
    await hub.rejects.flush()
    page = (await client.get(f"/devices/{dev.id}")).text
    # ``{name!r}`` quotes the value itself, marked as data and escaped; before, the console
    # showed the repr of its HTML wrapper: Markup('<span translate="no">…</span>').
    quoted = '<span translate="no">&#39;泵&lt;1&gt;&#39;</span>'
    assert f"网关 {dev.id} 已有名为 {quoted} 的子设备" in page
    assert "Markup(" not in page


async def test_other_enterprises_devices_are_hidden(
    client: httpx.AsyncClient, make_device: Any, world: World
) -> None:
    dev = await make_device()
    other = await world.enterprise("乙厂", CODE_B)
    await world.user("bob", Role.ENTERPRISE, enterprises=(other.id,))
    await sign_in(client, "bob")
    assert dev.token not in (await client.get("/devices")).text
    assert "meter" not in (await client.get("/devices")).text
    assert (await client.get(f"/devices/{dev.id}")).status_code == 404
    assert (await client.get(f"/devices/{dev.id}/live")).status_code == 404


async def test_staff_see_the_hub_overview(client: httpx.AsyncClient, world: World) -> None:
    await world.user("analyst", Role.BUREAU)
    await sign_in(client, "analyst")
    page = await client.get("/devices")
    assert "设备接入" in page.text
    assert "每秒消息数" in page.text


async def test_live_values_stream(app: Any, make_device: Any, world: World, settings: Any) -> None:
    """The SSE stream through a real HTTP server (httpx's in-process transport buffers streams)."""
    dev = await make_device()
    await world.user("factory", Role.ENTERPRISE, enterprises=(dev.enterprise_id,))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, lifespan="off"))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", trust_env=False, timeout=DEADLINE
        ) as http:
            while not server.started:  # noqa: ASYNC110 - uvicorn has no "started" event
                await asyncio.sleep(0.01)
            await sign_in(http, "factory")
            hub: DeviceHub = app.state.device_hub
            async with http.stream("GET", f"/devices/{dev.id}/live") as stream:

                async def publish() -> None:
                    while True:
                        # Stored first, then announced: as telemetry from a device is.
                        stored = await hub.submit_points(
                            dev.id, [Point("rpm", 1_764_057_600_000, 1200)]
                        )
                        await stored
                        await asyncio.sleep(0.05)

                feeding = asyncio.create_task(publish())
                try:
                    async with asyncio.timeout(DEADLINE):
                        async for line in stream.aiter_lines():
                            if line.startswith("data: "):
                                assert json.loads(line[6:]) == {
                                    "rpm": {"ts": 1_764_057_600_000, "value": 1200}
                                }
                                break
                finally:
                    feeding.cancel()
    finally:
        server.should_exit = True
        await serving
