"""ThingsBoard's gateway SDK (tb_gateway_mqtt) against the hub: child devices, data, RPC."""

from __future__ import annotations

import asyncio
import json
import queue
from typing import Any

import httpx
from tb_gateway_mqtt import TBGatewayMqttClient

from taihu.accounts import Principal
from taihu.devices import DeviceHub, DeviceService
from tests.devices.conftest import DEADLINE, Dev, eventually, latest
from tests.devices.test_mqtt_clients import V5, Paho


async def test_gateway_children_telemetry_attributes_and_rpc(
    port: int, make_device: Any, client: httpx.AsyncClient, hub: DeviceHub, world: Any
) -> None:
    gw_dev: Dev = await make_device("edge-gw", gateway=True)
    gw = TBGatewayMqttClient("127.0.0.1", port, username=gw_dev.token)
    rpc: queue.Queue[Any] = queue.Queue()
    gw.gw_set_server_side_rpc_request_handler(lambda _client, content: rpc.put(content))
    gw.connect()
    try:

        async def ready() -> bool:
            return bool(gw.is_connected() and gw.rate_limits_received)

        await eventually(ready)
        await asyncio.to_thread(lambda: gw.gw_connect_device("Meter A", "default").get())
        t = 1_764_057_600_000
        sent = await asyncio.to_thread(
            lambda: gw.gw_send_telemetry("Meter A", [{"ts": t, "values": {"kw": 12.5}}]).get()
        )
        assert sent == 0
        await asyncio.to_thread(lambda: gw.gw_send_attributes("Meter A", {"fw": "3.1"}).get())

        # The child exists under the gateway's enterprise, linked to it, with its data.
        async with world.db.session() as session:
            rows, _ = await DeviceService(session).list_devices(
                Principal.system(),
                search="Meter A",
            )
        assert len(rows) == 1
        child = rows[0]
        assert (child.enterprise_id, child.gateway_id) == (gw_dev.enterprise_id, gw_dev.id)
        child_dev = Dev(child.id, "", child.enterprise_id, gw_dev.headers)
        assert await latest(client, child_dev) == {"kw": 12.5}

        # Shared attributes of the child reach the gateway; so do its attribute requests.
        updates: queue.Queue[Any] = queue.Queue()
        gw.gw_subscribe_to_all_attributes(updates.put)
        await client.post(
            f"/api/devices/{child.id}/attributes/shared", json={"values": {"mode": "eco"}},
            headers=gw_dev.headers,
        )  # fmt: skip
        assert await asyncio.to_thread(updates.get, timeout=DEADLINE) == {
            "device": "Meter A", "data": {"mode": "eco"},
        }  # fmt: skip
        answers: queue.Queue[Any] = queue.Queue()
        gw.gw_request_shared_attributes(
            "Meter A", ["mode"], lambda content, *_: answers.put(content)
        )
        answer = await asyncio.to_thread(answers.get, timeout=DEADLINE)
        assert (
            answer["value"] == "eco" if "value" in answer else answer["values"] == {"mode": "eco"}
        )

        # Server-side RPC to the child goes through the gateway.
        async def gateway_side() -> None:
            content = await asyncio.to_thread(rpc.get, timeout=DEADLINE)
            assert content["device"] == "Meter A"
            assert content["data"]["method"] == "reset"
            gw.gw_send_rpc_reply("Meter A", content["data"]["id"], {"reset": True})

        answering = asyncio.create_task(gateway_side())
        call = await client.post(
            f"/api/plugins/rpc/twoway/{child.id}", json={"method": "reset", "params": {}},
            headers=gw_dev.headers,
        )  # fmt: skip
        await answering
        assert call.json() == {"reset": True}
    finally:
        await asyncio.to_thread(gw.disconnect)


async def test_gateway_children_share_the_gateways_data_point_limit(
    port: int, make_device: Any, client: httpx.AsyncClient, world: Any
) -> None:
    async with world.db.session() as session:
        await DeviceService(session, world.clock).create_profile(
            Principal.system(), "gw-few", data_point_limits="3:60"
        )
    gw_dev: Dev = await make_device("edge-gw", profile="gw-few", gateway=True)
    c = Paho(port, gw_dev.token, V5)
    try:
        assert await c.connect() == 0
        await c.subscribe("v1/devices/me/rpc/response/+")
        await c.publish("v1/devices/me/rpc/request/1", {"method": "getSessionLimits"})
        limits = json.loads((await c.message())[1])
        assert limits["gatewayRateLimits"]["telemetryDataPoints"] == "3:60"
        t = 1_764_057_600_000
        four = {
            "A": [{"ts": t, "values": {"x": 1, "y": 2}}],
            "B": [{"ts": t, "values": {"z": 3, "w": 4}}],
        }
        assert await c.publish("v1/gateway/telemetry", four) == 0x97
        assert await c.publish("v1/gateway/telemetry", {"A": [{"ts": t, "values": {"x": 1}}]}) == 0
    finally:
        c.close()
    async with world.db.session() as session:
        rows, _ = await DeviceService(session).list_devices(Principal.system(), search="A")
    child = next(r for r in rows if r.name == "A")
    assert await latest(client, Dev(child.id, "", child.enterprise_id, gw_dev.headers)) == {"x": 1}
