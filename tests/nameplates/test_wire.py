"""A linked identifier resolved over the Handle protocol leads to the device's public page.

The device is registered with its identifier (`POST /api/devices`), the identifier is resolved
by the wire client over UDP and TCP against a live Handle server on the same database, and the
page its `URL` value names shows presence and the latest telemetry only once the owner shares
them; the device sends over real MQTT.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
import sqlalchemy as sa

from taihu.accounts import Role
from taihu.alarms import AlarmEngine
from taihu.core import Database
from taihu.devices import MqttClient, store_for
from taihu.enterprises import Enterprise
from taihu.identifiers.wire import HandleClient
from tests.conftest import CODE_A, World
from tests.devices.conftest import eventually
from tests.identifiers.wire.conftest import PREFIX, Node

HANDLE = f"{PREFIX}/W1"  # the fixture's handle, of its enterprise's prefix


async def _page(client: httpx.AsyncClient, path: str) -> str:
    answer = await client.get(path)
    assert answer.status_code == 200, answer.text
    return answer.text


async def test_resolved_over_udp_and_tcp_to_the_shared_state(
    client: httpx.AsyncClient,
    db: Database,
    node: Node,
    world: World,
    port: int,
    engine: AlarmEngine,
    app: Any,
) -> None:
    async with db.session() as session:
        enterprise_id = await session.scalar(
            sa.select(Enterprise.id).where(Enterprise.credit_code == CODE_A)
        )
    assert enterprise_id is not None
    owner = await world.bearer("alice", Role.ENTERPRISE, enterprises=(enterprise_id,))
    made = await client.post(
        "/api/devices",
        json={"enterprise_id": enterprise_id, "name": "电梯-1号楼", "identifier": HANDLE},
        headers=owner,
    )
    assert made.status_code == 201, made.text
    device_id, token = made.json()["device"]["id"], made.json()["access_token"]
    page = f"http://taihu.test/public/devices/{device_id}"

    for transport in ("udp", "tcp"):
        async with HandleClient(node.host, node.port, transport=transport) as wire:  # type: ignore[arg-type]
            reply = await wire.resolve(HANDLE, types=("URL",))
        urls = {v.index: v.data.decode() for v in reply.values}
        # The record's own URL stays; the link takes the first free index from 100 (the
        # fixture's HS_ADMIN holds 100).
        assert urls == {1: "https://example.cn/w1", 101: page}, transport
    path = urlsplit(page).path

    async with MqttClient("127.0.0.1", port, token, client_id="lift") as mqtt:
        sent = await mqtt.publish("v1/devices/me/telemetry", orjson.dumps({"speed": 1.75}))
        assert await sent == 0

        async def stored() -> bool:
            return "speed" in await store_for(db).latest(device_id)

        await eventually(stored)
        await engine.flush()  # presence: connected
        private = await _page(client, path)
        assert HANDLE in private
        assert "1.75" not in private
        assert "已连接" not in private
        assert "电梯-1号楼" not in private
        body = (await client.get(f"/api/public/devices/{device_id}")).json()
        assert body == {"id": device_id, "identifier": HANDLE, "public_state": False}

        shared = await client.put(
            f"/api/devices/{device_id}/public-state", json={"public_state": True}, headers=owner
        )
        assert shared.status_code == 200, shared.text
        public = await _page(client, path)
        assert "1.75" in public
        assert "<dd>已连接</dd>" in public  # presence, in the console's default language
        assert "电梯-1号楼" in public
        body = (await client.get(f"/api/public/devices/{device_id}")).json()
        assert body["presence"] == "connected"
        assert body["telemetry"]["speed"]["value"] == 1.75
