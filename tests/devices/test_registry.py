"""The device registry through its HTTP API: enterprise isolation, tokens, attributes, audit."""

from __future__ import annotations

import httpx
import sqlalchemy as sa

from taihu.accounts import AuditEntry, Role
from taihu.core import Database
from taihu.devices import DeviceService
from tests.conftest import CODE_A, CODE_B, World


async def _setup(world: World) -> tuple[int, int, dict[str, str], dict[str, str]]:
    a = await world.enterprise("甲厂", CODE_A)
    b = await world.enterprise("乙厂", CODE_B)
    alice = await world.bearer("alice", Role.ENTERPRISE, enterprises=(a.id,))
    bob = await world.bearer("bob", Role.ENTERPRISE, enterprises=(b.id,))
    return a.id, b.id, alice, bob


async def test_create_list_and_isolation(client: httpx.AsyncClient, world: World) -> None:
    a, b, alice, bob = await _setup(world)
    made = await client.post(
        "/api/devices", json={"enterprise_id": a, "name": "meter"}, headers=alice
    )
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["access_token"].startswith("dev_")
    assert body["device"]["kind"] == "device"
    device_id = body["device"]["id"]
    # Bob may neither create for A nor see A's device.
    denied = await client.post("/api/devices", json={"enterprise_id": a, "name": "x"}, headers=bob)
    assert denied.status_code == 403
    assert (await client.get(f"/api/devices/{device_id}", headers=bob)).status_code == 404
    assert (await client.get("/api/devices", headers=bob)).json()["total"] == 0
    assert (await client.get("/api/devices", headers=alice)).json()["total"] == 1
    dup = await client.post(
        "/api/devices", json={"enterprise_id": a, "name": "meter"}, headers=alice
    )
    assert dup.status_code == 409
    assert dup.json()["error"] == "device_exists"
    # The same name in another enterprise is fine.
    other = await client.post(
        "/api/devices", json={"enterprise_id": b, "name": "meter"}, headers=bob
    )
    assert other.status_code == 201


async def test_tokens_rotate_and_revoke(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    a, _, alice, bob = await _setup(world)
    made = (await client.post(
        "/api/devices", json={"enterprise_id": a, "name": "gw", "gateway": True}, headers=alice
    )).json()  # fmt: skip
    first = made["access_token"]
    device_id = made["device"]["id"]
    assert made["device"]["kind"] == "gateway"
    async with db.session() as session:
        auth = await DeviceService(session).authenticate(first)
    assert auth is not None
    assert auth.device_id == device_id
    assert auth.is_gateway
    assert (await client.post(f"/api/devices/{device_id}/token", headers=bob)).status_code == 404
    rotated = await client.post(f"/api/devices/{device_id}/token", headers=alice)
    assert rotated.status_code == 200
    second = rotated.json()["access_token"]
    assert second != first
    async with db.session() as session:
        registry = DeviceService(session)
        assert await registry.authenticate(first) is None
        assert (await registry.authenticate(second)) is not None
    assert (
        await client.delete(f"/api/devices/{device_id}/token", headers=alice)
    ).status_code == 204
    async with db.session() as session:
        assert await DeviceService(session).authenticate(second) is None
        actions = [e.action for e in await session.scalars(sa.select(AuditEntry))]
    assert {"device.create", "device.token_rotate", "device.token_revoke"} <= set(actions)


async def test_attributes_scopes(client: httpx.AsyncClient, world: World) -> None:
    a, _, alice, bob = await _setup(world)
    device_id = (
        await client.post("/api/devices", json={"enterprise_id": a, "name": "m"}, headers=alice)
    ).json()["device"]["id"]
    url = f"/api/devices/{device_id}/attributes"
    assert (
        await client.post(f"{url}/client", json={"values": {"x": 1}}, headers=alice)
    ).status_code == 400
    assert (
        await client.post(f"{url}/shared", json={"values": {"x": 1}}, headers=bob)
    ).status_code == 404
    assert (
        await client.post(f"{url}/shared", json={"values": {"mode": "eco"}}, headers=alice)
    ).status_code == 204
    assert (
        await client.post(f"{url}/server", json={"values": {"rack": 3}}, headers=alice)
    ).status_code == 204
    listed = (await client.get(url, headers=alice)).json()
    assert {(x["scope"], x["key"], x["value"]) for x in listed} == {
        ("shared", "mode", "eco"),
        ("server", "rack", 3),
    }
    assert (await client.get(url, headers=bob)).status_code == 404


async def test_profiles(client: httpx.AsyncClient, world: World) -> None:
    a, _, alice, _ = await _setup(world)
    bureau = await world.bearer("bu", Role.BUREAU)
    spec = {"name": "meter", "telemetry_keys": [{"key": "p", "unit": "kW"}], "rate_limits": "10:1"}
    assert (await client.post("/api/device-profiles", json=spec, headers=alice)).status_code == 403
    assert (await client.post("/api/device-profiles", json=spec, headers=bureau)).status_code == 201
    bad = await client.post(
        "/api/device-profiles", json={**spec, "name": "x", "rate_limits": "ten"}, headers=bureau
    )
    assert bad.status_code == 400
    assert bad.json()["error"] == "bad_rate_limits"
    made = await client.post(
        "/api/devices", json={"enterprise_id": a, "name": "m", "profile": "meter"}, headers=alice
    )
    assert made.status_code == 201
    missing = await client.post(
        "/api/devices", json={"enterprise_id": a, "name": "n", "profile": "nope"}, headers=alice
    )
    assert missing.status_code == 404
