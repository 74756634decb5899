"""Gateways act only for their own children: two real gateways and a standalone device.

Each gateway is a paho-mqtt 2.x client over a real socket to the hub; the API is the app's.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Connection

from taihu.accounts import AuditEntry, Principal, Role
from taihu.core import Database, upgrade
from taihu.core.migrate import alembic_config
from taihu.devices import Device, DeviceHub, DeviceProfile, DeviceService
from tests.conftest import CODE_B, START, World
from tests.devices.conftest import Dev, latest
from tests.devices.test_mqtt_clients import V5, Paho

T = 1_764_057_600_000


def _series(name: str, ts: int, **values: Any) -> dict[str, Any]:
    return {name: [{"ts": ts, "values": values}]}


@pytest.fixture
async def gateways(
    port: int, make_device: Callable[..., Any]
) -> AsyncIterator[Callable[[str], Any]]:
    """Connects gateways (registered in enterprise A) subscribed to RPC and attribute pushes."""
    opened: list[Paho] = []

    async def _open(name: str) -> tuple[Dev, Paho]:
        dev: Dev = await make_device(name, gateway=True)
        c = Paho(port, dev.token, V5)
        opened.append(c)
        assert await c.connect() == 0
        await c.subscribe("v1/gateway/rpc")
        await c.subscribe("v1/gateway/attributes")
        return dev, c

    yield _open
    for c in opened:
        c.close()


async def _devices_named(world: World, name: str) -> list[Device]:
    async with world.db.session() as session:
        rows, _ = await DeviceService(session).list_devices(Principal.system(), search=name)
    return [d for d in rows if d.name == name]


async def _child(world: World, gateway: Dev, name: str) -> Device:
    found = [d for d in await _devices_named(world, name) if d.gateway_id == gateway.id]
    assert len(found) == 1, found
    return found[0]


async def _audit(world: World, action: str, entity_id: int) -> list[AuditEntry]:
    async with world.db.session() as session:
        rows = await session.scalars(
            sa.select(AuditEntry).where(
                AuditEntry.action == action, AuditEntry.entity_id == str(entity_id)
            )
        )
        return list(rows)


async def _client_attributes(world: World, device_id: int) -> dict[str, Any]:
    async with world.db.session() as session:
        rows = await DeviceService(session).attributes(device_id, "client")
    return {a.key: a.value for a in rows}


async def test_two_gateways_each_have_their_own_child_of_one_name(
    gateways: Any, client: httpx.AsyncClient, world: World
) -> None:
    gw_a, a = await gateways("gw-a")
    gw_b, b = await gateways("gw-b")
    assert await a.publish("v1/gateway/telemetry", _series("PLC-1", T, speed=1)) == 0
    assert await b.publish("v1/gateway/telemetry", _series("PLC-1", T, speed=2)) == 0
    assert await b.publish("v1/gateway/attributes", {"PLC-1": {"fw": "b"}}) == 0

    twins = await _devices_named(world, "PLC-1")
    assert sorted(d.gateway_id for d in twins if d.gateway_id) == sorted([gw_a.id, gw_b.id])
    assert len(twins) == 2
    plc_a, plc_b = await _child(world, gw_a, "PLC-1"), await _child(world, gw_b, "PLC-1")
    assert await latest(client, Dev(plc_a.id, "", plc_a.enterprise_id, gw_a.headers)) == {
        "speed": 1
    }
    assert await latest(client, Dev(plc_b.id, "", plc_b.enterprise_id, gw_b.headers)) == {
        "speed": 2
    }
    assert await _client_attributes(world, plc_a.id) == {}
    assert await _client_attributes(world, plc_b.id) == {"fw": "b"}


async def test_a_gateway_never_writes_to_a_device_it_does_not_own(
    gateways: Any, make_device: Any, client: httpx.AsyncClient, hub: DeviceHub, world: World
) -> None:
    meter: Dev = await make_device("meter")
    gw_a, a = await gateways("gw-a")
    gw_b, b = await gateways("gw-b")
    assert await a.publish("v1/gateway/telemetry", _series("PLC-1", T, speed=1)) == 0

    # B names the standalone device, gateway A itself, itself, and (its own) PLC-1.
    foreign = {
        **_series("meter", T + 1, kw=99),
        **_series("gw-a", T + 1, kw=99),
        **_series("gw-b", T + 1, kw=99),
        **_series("PLC-1", T + 1, speed=2),
    }
    assert await b.publish("v1/gateway/telemetry", foreign) == 0
    assert await b.publish("v1/gateway/connect", {"device": "meter", "type": "hijack"}) == 0
    assert await b.publish("v1/gateway/attributes", {"meter": {"fw": "evil"}}) == 0
    assert await b.publish("v1/gateway/attributes", {"gw-a": {"fw": "evil"}}) == 0

    # Nothing reached the devices B does not own; B's own PLC-1 got its reading.
    for dev in (meter, gw_a, gw_b):
        assert await latest(client, dev) == {}
        assert await _client_attributes(world, dev.id) == {}
    assert [d.gateway_id for d in await _devices_named(world, "meter")] == [None]
    assert [d.gateway_id for d in await _devices_named(world, "gw-a")] == [None]
    plc_a = await _child(world, gw_a, "PLC-1")
    assert await latest(client, Dev(plc_a.id, "", plc_a.enterprise_id, gw_a.headers)) == {
        "speed": 1
    }
    plc_b = await _child(world, gw_b, "PLC-1")
    assert await latest(client, Dev(plc_b.id, "", plc_b.enterprise_id, gw_b.headers)) == {
        "speed": 2
    }

    # Each refusal is counted and told on B's record; the first per name is audited.
    errors = [text for _, text in hub.devices[gw_b.id].errors]
    assert sum("'meter'" in e for e in errors) == 3, errors
    assert any("'gw-a'" in e for e in errors), errors
    assert hub.devices[gw_b.id].refused_children >= 5
    refusals = await _audit(world, "device.gateway_refused", meter.id)
    assert len(refusals) == 1
    assert refusals[0].actor == "gateway:gw-b"
    assert refusals[0].after is not None
    assert refusals[0].after["gateway_id"] == gw_b.id
    assert await _audit(world, "device.gateway_refused", gw_a.id)


async def test_rpc_and_shared_attributes_reach_only_the_owning_gateway(
    gateways: Any, client: httpx.AsyncClient, world: World
) -> None:
    gw_a, a = await gateways("gw-a")
    gw_b, b = await gateways("gw-b")
    assert await a.publish("v1/gateway/connect", {"device": "PLC-1"}) == 0
    assert await b.publish("v1/gateway/connect", {"device": "PLC-1"}) == 0
    assert await b.publish("v1/gateway/connect", {"device": "marker"}) == 0
    plc_a = await _child(world, gw_a, "PLC-1")

    pushed = await client.post(
        f"/api/devices/{plc_a.id}/attributes/shared", json={"values": {"mode": "eco"}},
        headers=gw_a.headers,
    )  # fmt: skip
    assert pushed.status_code == 204, pushed.text
    topic, payload = await a.message()
    assert (topic, json.loads(payload)) == (
        "v1/gateway/attributes", {"device": "PLC-1", "data": {"mode": "eco"}},
    )  # fmt: skip

    async def gateway_a_answers() -> None:
        topic, payload = await a.message()
        request = json.loads(payload)
        assert (topic, request["device"], request["data"]["method"]) == (
            "v1/gateway/rpc", "PLC-1", "reset",
        )  # fmt: skip
        reply = {"device": "PLC-1", "id": request["data"]["id"], "data": {"by": "a"}}
        assert await a.publish("v1/gateway/rpc", reply) == 0

    answering = asyncio.create_task(gateway_a_answers())
    call = await client.post(
        f"/api/plugins/rpc/twoway/{plc_a.id}", json={"method": "reset", "params": {}},
        headers=gw_a.headers,
    )  # fmt: skip
    await answering
    assert call.status_code == 200, call.text
    assert call.json() == {"by": "a"}

    # B's connection is ordered: the first thing it receives is the push to its own child,
    # so neither the attribute update nor the RPC for A's PLC-1 went to B.
    marker = await _child(world, gw_b, "marker")
    await client.post(
        f"/api/devices/{marker.id}/attributes/shared", json={"values": {"m": 1}},
        headers=gw_b.headers,
    )  # fmt: skip
    topic, payload = await b.message()
    assert (topic, json.loads(payload)) == (
        "v1/gateway/attributes", {"device": "marker", "data": {"m": 1}},
    )  # fmt: skip


async def test_moving_a_device_under_a_gateway_is_authorized_audited_and_takes_effect(
    gateways: Any, make_device: Any, client: httpx.AsyncClient, world: World
) -> None:
    meter: Dev = await make_device("meter")
    gw, g = await gateways("gw-a")
    other_gw, _ = await gateways("gw-b")
    assert await g.publish("v1/gateway/telemetry", _series("meter", T, v=1)) == 0
    assert await latest(client, meter) == {}  # not yet its device

    outsider_enterprise = await world.enterprise("乙厂", CODE_B)
    outsider = await world.bearer("bob", Role.ENTERPRISE, enterprises=(outsider_enterprise.id,))
    move = f"/api/devices/{meter.id}/gateway"
    refused = await client.put(move, json={"gateway_id": gw.id}, headers=outsider)
    assert refused.status_code == 404
    not_a_gateway = await client.put(move, json={"gateway_id": meter.id}, headers=meter.headers)
    assert not_a_gateway.status_code == 400
    assert not_a_gateway.json()["error"] == "not_a_gateway"
    nesting = await client.put(
        f"/api/devices/{other_gw.id}/gateway", json={"gateway_id": gw.id}, headers=gw.headers
    )
    assert (nesting.status_code, nesting.json()["error"]) == (400, "gateway_nesting")
    assert await _audit(world, "device.gateway_set", meter.id) == []

    moved = await client.put(move, json={"gateway_id": gw.id}, headers=meter.headers)
    assert moved.status_code == 200, moved.text
    assert moved.json()["gateway_id"] == gw.id
    (entry,) = await _audit(world, "device.gateway_set", meter.id)
    assert entry.actor == "alice"
    assert (entry.before, entry.after) == ({"gateway_id": None}, {"gateway_id": gw.id})

    # The gateway now writes to it, under the name it always used.
    assert await g.publish("v1/gateway/telemetry", _series("meter", T + 1, v=2)) == 0
    assert await latest(client, meter) == {"v": 2}

    # Detached, it is the gateway's no longer (its session forgets it at once).
    detached = await client.put(move, json={"gateway_id": None}, headers=meter.headers)
    assert detached.status_code == 200, detached.text
    assert detached.json()["gateway_id"] is None
    assert await g.publish("v1/gateway/telemetry", _series("meter", T + 2, v=3)) == 0
    assert await latest(client, meter) == {"v": 2}
    assert len(await _audit(world, "device.gateway_set", meter.id)) == 2

    # Names stay unique where the gateway looks them up.
    assert await g.publish("v1/gateway/connect", {"device": "PLC-1"}) == 0
    twin = await client.post(
        "/api/devices", json={"enterprise_id": meter.enterprise_id, "name": "PLC-1"},
        headers=meter.headers,
    )  # fmt: skip
    assert twin.status_code == 201, twin.text
    clash = await client.put(
        f"/api/devices/{twin.json()['device']['id']}/gateway", json={"gateway_id": gw.id},
        headers=meter.headers,
    )  # fmt: skip
    assert clash.status_code == 409
    child = await _child(world, gw, "PLC-1")
    clash = await client.put(
        f"/api/devices/{child.id}/gateway", json={"gateway_id": None}, headers=meter.headers
    )
    assert clash.status_code == 409


async def test_a_childs_type_creates_its_profile_up_to_a_limit(
    gateways: Any, hub: DeviceHub, world: World
) -> None:
    gw, g = await gateways("gw-a")
    assert (
        await g.publish("v1/gateway/connect", {"device": "cutter-1", "type": "laser-cutter"}) == 0
    )
    cutter = await _child(world, gw, "cutter-1")
    async with world.db.session() as session:
        profile = await session.scalar(
            sa.select(DeviceProfile).where(DeviceProfile.name == "laser-cutter")
        )
    assert profile is not None
    assert cutter.profile_id == profile.id
    (entry,) = await _audit(world, "device_profile.create", profile.id)
    assert "gateway:gw-a" in entry.actor

    from taihu.devices.children import GATEWAY_PROFILE_LIMIT  # noqa: PLC0415 - absent before

    for i in range(GATEWAY_PROFILE_LIMIT - 1):
        assert await g.publish("v1/gateway/connect", {"device": f"m{i}", "type": f"kind-{i}"}) == 0
    assert await g.publish("v1/gateway/connect", {"device": "late", "type": "one-too-many"}) == 0
    assert await _devices_named(world, "late") == []
    async with world.db.session() as session:
        names = set(await session.scalars(sa.select(DeviceProfile.name)))
    assert "one-too-many" not in names
    assert {f"kind-{i}" for i in range(GATEWAY_PROFILE_LIMIT - 1)} <= names
    assert any("one-too-many" in text for _, text in hub.devices[gw.id].errors)
    # A known profile still serves new children.
    assert (
        await g.publish("v1/gateway/connect", {"device": "cutter-2", "type": "laser-cutter"}) == 0
    )
    assert (await _child(world, gw, "cutter-2")).profile_id == profile.id


async def test_existing_children_keep_their_gateway_through_the_migration(
    empty_database_url: str,
) -> None:
    db = Database(empty_database_url)
    now = START

    def _devices_at(revision: str) -> Callable[[Connection], None]:
        return lambda conn: command.downgrade(alembic_config(conn), revision)

    try:
        # Every other branch at head first: on SQLite their table rebuilds would cascade.
        await upgrade(db)
        async with db.engine.begin() as conn:
            await conn.run_sync(_devices_at("devices_0003"))
        async with db.engine.begin() as conn:
            await conn.execute(
                sa.text(
                    "INSERT INTO enterprises (id, name, credit_code, created_at) "
                    "VALUES (1, 'e', '91320509MA1Y2B3C0Y', :now)"
                ),
                {"now": now},
            )
            await conn.execute(
                sa.text(
                    "INSERT INTO device_profiles (id, name, description, telemetry_keys, "
                    "retention_days, rate_limits, created_at) "
                    "VALUES (1, 'default', '', '[]', 365, '', :now)"
                ),
                {"now": now},
            )
            await conn.execute(
                sa.text(
                    "INSERT INTO devices (id, enterprise_id, profile_id, name, kind, gateway_id, "
                    "created_at) VALUES (:id, 1, 1, :name, :kind, :gw, :now)"
                ),
                [
                    {"id": 1, "name": "gw-a", "kind": "gateway", "gw": None, "now": now},
                    {"id": 2, "name": "gw-b", "kind": "gateway", "gw": None, "now": now},
                    {"id": 3, "name": "PLC-1", "kind": "device", "gw": 1, "now": now},
                ],
            )
            await conn.execute(
                sa.text(
                    "INSERT INTO device_tokens (device_id, token_hash, created_at) "
                    "VALUES (3, 'h3', :now)"
                ),
                {"now": now},
            )
            await conn.execute(
                sa.text(
                    "INSERT INTO device_attributes (device_id, scope, key, value, updated_at) "
                    "VALUES (3, 'shared', 'mode', '\"eco\"', :now)"
                ),
                {"now": now},
            )
        await upgrade(db)
        await _tokens_and_attributes_kept(db)
        async with db.engine.begin() as conn:
            kept = await conn.execute(sa.text("SELECT gateway_id FROM devices WHERE id = 3"))
            assert kept.scalar_one() == 1
            # B's own PLC-1 is a second device now; a second standalone one is still refused.
            await conn.execute(
                sa.text(
                    "INSERT INTO devices (id, enterprise_id, profile_id, name, kind, gateway_id, "
                    "created_at) VALUES (4, 1, 1, 'PLC-1', 'device', 2, :now)"
                ),
                {"now": now},
            )
        with pytest.raises(sa.exc.IntegrityError):
            async with db.engine.begin() as conn:
                await conn.execute(
                    sa.text(
                        "INSERT INTO devices (id, enterprise_id, profile_id, name, kind, "
                        "created_at) VALUES (5, 1, 1, 'gw-a', 'device', :now)"
                    ),
                    {"now": now},
                )
        # Back to names unique per enterprise: not while two PLC-1s exist.
        with pytest.raises(RuntimeError, match="more than one device named 'PLC-1'"):
            async with db.engine.begin() as conn:
                await conn.run_sync(_devices_at("devices_0003"))
        async with db.engine.begin() as conn:
            await conn.execute(sa.text("DELETE FROM devices WHERE id = 4"))
        async with db.engine.begin() as conn:
            await conn.run_sync(_devices_at("devices_0003"))
        async with db.engine.connect() as conn:
            rows = await conn.execute(sa.text("SELECT id, gateway_id FROM devices ORDER BY id"))
            assert [tuple(r) for r in rows] == [(1, None), (2, None), (3, 1)]
        await _tokens_and_attributes_kept(db)
    finally:
        await db.dispose()


async def _tokens_and_attributes_kept(db: Database) -> None:
    async with db.engine.connect() as conn:
        tokens = await conn.execute(sa.text("SELECT device_id, token_hash FROM device_tokens"))
        assert [tuple(r) for r in tokens] == [(3, "h3")]
        found = await conn.execute(sa.text("SELECT device_id, key FROM device_attributes"))
        assert [tuple(r) for r in found] == [(3, "mode")]
