"""Adding a device in the console: its credentials once, examples that work, rotate and revoke."""

from __future__ import annotations

import asyncio
import html
import json
import re
import shlex
import shutil
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from taihu.accounts import Principal, Role
from taihu.devices import DeviceHub, DeviceService
from taihu.devices.values import Point
from tests.conftest import CODE_A, World
from tests.devices.conftest import eventually
from tests.web.test_console import sign_in


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found
    return found[1]


def _pre(page: str, element_id: str) -> str:
    found = re.search(rf'<pre id="{element_id}"[^>]*>(.*?)</pre>', page, re.S)
    assert found, element_id
    return html.unescape(found[1])


async def test_add_device_credentials_once_then_rotate_and_revoke(
    client: httpx.AsyncClient, world: World, app: Any, port: int
) -> None:
    factory = await world.enterprise("甲厂", CODE_A)
    await world.user("factory", Role.ENTERPRISE, enterprises=(factory.id,))
    await sign_in(client, "factory")
    form = await client.get("/devices/new")
    assert form.status_code == 200
    fields = {"csrf": _csrf(form.text), "enterprise_id": str(factory.id), "name": "电表-2号车间",
              "kind": "device"}  # fmt: skip
    added = await client.post("/devices/new", data=fields)
    assert added.status_code == 200, added.text
    assert added.headers["cache-control"] == "no-store"
    token = _pre(added.text, "access-token")
    assert token.startswith("dev")
    mosquitto = _pre(added.text, "example-mosquitto")
    assert f"-p {port} " in mosquitto
    assert f"-u {token}" in mosquitto
    sdk = _pre(added.text, "example-sdk")
    assert f"TBDeviceMqttClient('taihu.test', {port}, username='{token}')" in sdk
    curl = _pre(added.text, "example-curl")
    assert f"http://taihu.test/api/v1/{token}/telemetry" in curl
    # The same name again is refused with the form kept, and nothing else is created.
    again = await client.post("/devices/new", data=fields)
    assert again.status_code == 409
    assert 'value="电表-2号车间"' in again.text

    # The HTTP example's request works as written (the host is the test client's).
    body = shlex.split(curl)[-1]
    sent = await client.post(f"/api/v1/{token}/telemetry", content=body.encode(),
                             headers={"content-type": "application/json"})  # fmt: skip
    assert sent.status_code == 200
    # mosquitto_pub, as printed, against the real listener (the host rewritten to loopback).
    if shutil.which("mosquitto_pub") is None:
        pytest.fail("mosquitto_pub is missing: apt-get install mosquitto-clients")
    args = shlex.split(mosquitto)
    args[args.index("-h") + 1] = "127.0.0.1"
    process = await asyncio.create_subprocess_exec(*args)
    assert await process.wait() == 0

    hub: DeviceHub = app.state.device_hub
    listing = await client.get("/devices")
    device_id = int(re.findall(r'href="/devices/(\d+)"', listing.text)[0])

    async def stored() -> bool:
        return bool(await hub.store.latest(device_id))

    await eventually(stored)

    page = await client.get(f"/devices/{device_id}")
    assert 'id="rotate-token"' in page.text
    assert token not in page.text  # shown once, never again
    rotated = await client.post(f"/devices/{device_id}/credentials/rotate",
                                data={"csrf": _csrf(page.text)})  # fmt: skip
    assert rotated.status_code == 200
    new_token = _pre(rotated.text, "access-token")
    assert new_token != token
    old = await client.post(f"/api/v1/{token}/telemetry", json={"kw": 1})
    assert old.status_code == 401
    new = await client.post(f"/api/v1/{new_token}/telemetry", json={"kw": 1})
    assert new.status_code == 200
    revoked = await client.post(f"/devices/{device_id}/credentials/revoke",
                                data={"csrf": _csrf(page.text)})  # fmt: skip
    assert revoked.status_code == 303
    page = await client.get(f"/devices/{device_id}")
    assert 'id="revoked-notice"' in page.text
    assert (await client.post(f"/api/v1/{new_token}/telemetry", json={"kw": 1})).status_code == 401


async def test_only_own_enterprise_and_staff_cannot_add(
    client: httpx.AsyncClient, world: World
) -> None:
    factory = await world.enterprise("甲厂", CODE_A)
    await world.user("analyst", Role.BUREAU)
    await sign_in(client, "analyst")
    assert (await client.get("/devices/new")).status_code == 403
    page = await client.get("/devices")
    answer = await client.post("/devices/new", data={
        "csrf": _csrf(page.text), "enterprise_id": str(factory.id), "name": "x",
    })  # fmt: skip
    assert answer.status_code == 403


async def test_device_page_chart_and_gateway_children(
    client: httpx.AsyncClient, make_device: Any, world: World, app: Any
) -> None:
    gateway = await make_device("网关-1", gateway=True)
    hub: DeviceHub = app.state.device_hub
    now = int(world.clock.now().timestamp() * 1000)
    # A boolean first in the latest values, and a number: the chart shows the number.
    await hub.ingest.write(
        gateway.id, [Point("door_open", now, value=True), Point("kw", now, 42.5)]
    )
    async with world.db.session() as session:
        made = await DeviceService(session, world.clock).create(
            Principal.system("test"), gateway.enterprise_id, "PLC-1", gateway_id=gateway.id
        )
    await hub.ingest.write(made.device.id, [Point("temp", now - 60_000, 21.0)])
    await world.user("factory", Role.ENTERPRISE, enterprises=(gateway.enterprise_id,))
    await sign_in(client, "factory")
    page = (await client.get(f"/devices/{gateway.id}")).text
    chart = json.loads(page.split('id="history-data">')[1].split("</script>")[0])
    assert chart["key"] == "kw"
    assert chart["values"] == [42.5]
    span = datetime.fromisoformat(chart["end"]) - datetime.fromisoformat(chart["start"])
    assert span == timedelta(hours=24)
    children = page.split('id="children"')[1].split("</section>")[0]
    assert f'href="/devices/{made.device.id}">PLC-1</a>' in children
    assert "—" not in children  # its last data is shown as a time
