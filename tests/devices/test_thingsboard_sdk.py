"""ThingsBoard's own Python SDK (tb-mqtt-client, MQTT 5) against the hub, unchanged.

The SDK runs paho's network loop and its own worker threads; the hub runs in the test's event
loop, so every blocking SDK call goes through ``asyncio.to_thread``.
"""

from __future__ import annotations

import asyncio
import logging
import queue
from typing import Any

import httpx
import pytest
from tb_device_mqtt import TBDeviceMqttClient

from taihu.accounts import Principal
from taihu.devices import DeviceHub, DeviceService
from tests.devices.conftest import DEADLINE, eventually, latest


@pytest.fixture
async def tb(port: int, make_device: Any) -> Any:
    dev = await make_device("tb-device")
    sdk = TBDeviceMqttClient("127.0.0.1", port, username=dev.token)
    rpc_requests: queue.Queue[tuple[str, Any]] = queue.Queue()
    sdk.set_server_side_rpc_request_handler(lambda rid, body: rpc_requests.put((rid, body)))
    sdk.connect()

    async def connected() -> bool:
        return bool(sdk.is_connected() and sdk.rate_limits_received)

    # The SDK asks for getSessionLimits on connect and waits for the answer before sending.
    await eventually(connected)
    yield sdk, dev, rpc_requests
    await asyncio.to_thread(sdk.disconnect)
    logging.getLogger("tb_connection").handlers.clear()


async def test_sdk_telemetry_attributes_requests_and_rpc(
    tb: Any, client: httpx.AsyncClient, hub: DeviceHub
) -> None:
    sdk, dev, rpc_requests = tb
    # Session limits were applied from our answer.
    assert sdk.max_payload_size == int(hub.settings.max_packet_size * 0.8)
    t = 1_764_057_600_000
    result = await asyncio.to_thread(
        lambda: sdk.send_telemetry(
            {"ts": t, "values": {"temperature": 21.5, "running": True}}
        ).get()
    )
    assert result == 0
    assert await latest(client, dev) == {"temperature": 21.5, "running": True}
    assert await asyncio.to_thread(lambda: sdk.send_attributes({"firmware": "2.0"}).get()) == 0

    # Shared attribute updates reach the SDK's subscription.
    updates: queue.Queue[Any] = queue.Queue()
    sdk.subscribe_to_all_attributes(lambda result, *_: updates.put(result))
    url = f"/api/devices/{dev.id}/attributes/shared"
    assert (
        await client.post(url, json={"values": {"mode": "eco"}}, headers=dev.headers)
    ).status_code == 204
    assert await asyncio.to_thread(updates.get, timeout=DEADLINE) == {"mode": "eco"}

    # Attribute request and response.
    answers: queue.Queue[Any] = queue.Queue()
    sdk.request_attributes(["firmware"], ["mode"], callback=lambda result, *_: answers.put(result))
    assert await asyncio.to_thread(answers.get, timeout=DEADLINE) == {
        "client": {"firmware": "2.0"}, "shared": {"mode": "eco"},
    }  # fmt: skip

    # Server-side RPC: the API calls, the SDK's handler answers.
    async def device_side() -> None:
        request_id, body = await asyncio.to_thread(rpc_requests.get, timeout=DEADLINE)
        assert body == {"method": "setSpeed", "params": {"rpm": 900}}
        await asyncio.to_thread(sdk.send_rpc_reply, request_id, {"ok": True})

    answering = asyncio.create_task(device_side())
    call = await client.post(
        f"/api/plugins/rpc/twoway/{dev.id}", json={"method": "setSpeed", "params": {"rpm": 900}},
        headers=dev.headers,
    )  # fmt: skip
    await answering
    assert call.json() == {"ok": True}

    # Client-side RPC.
    replies: queue.Queue[Any] = queue.Queue()
    sdk.send_rpc_call("getCurrentTime", {}, lambda _rid, content, _exc: replies.put(content))
    reply = await asyncio.to_thread(replies.get, timeout=DEADLINE)
    assert reply == {"currentTime": hub.now_ms()}


async def test_sdk_receives_the_data_point_limit(
    port: int, make_device: Any, world: Any, hub: DeviceHub
) -> None:
    async with world.db.session() as session:
        await DeviceService(session, world.clock).create_profile(
            Principal.system(), "metered", rate_limits="50:1", data_point_limits="200:1,5000:60"
        )
    dev = await make_device("tb-metered", profile="metered")
    sdk = TBDeviceMqttClient("127.0.0.1", port, username=dev.token)
    sdk.connect()
    try:
        await eventually(lambda: _ready(sdk))
        replies: queue.Queue[Any] = queue.Queue()
        sdk.send_rpc_call("getSessionLimits", {}, lambda _rid, content, _exc: replies.put(content))
        limits = await asyncio.to_thread(replies.get, timeout=DEADLINE)
        assert limits["rateLimits"]["telemetryDataPoints"] == "200:1,5000:60"
        assert limits["maxInflightMessages"] == hub.settings.receive_maximum
        # The SDK took them as its own client-side limits (it throttles before sending).
        assert sdk._telemetry_dp_rate_limit.has_limit()
        result = await asyncio.to_thread(
            lambda: sdk.send_telemetry({"ts": 1_764_057_600_000, "values": {"kw": 1.5}}).get()
        )
        assert result == 0
    finally:
        await asyncio.to_thread(sdk.disconnect)
        logging.getLogger("tb_connection").handlers.clear()


async def _ready(sdk: TBDeviceMqttClient) -> bool:
    return bool(sdk.is_connected() and sdk.rate_limits_received)
