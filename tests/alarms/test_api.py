"""Alarm routes: rules as data, the list per role, ack with comment, clear, ThingsBoard shapes."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import sqlalchemy as sa

from taihu.accounts import AuditEntry, Role
from taihu.alarms import AlarmEngine, AlarmRule
from taihu.core import Database
from taihu.devices import Device, MqttClient
from tests.conftest import CODE_B, World

HOT = {
    "name": "过热",
    "kind": "threshold",
    "key": "t",
    "severity": "major",
    "spec": {"op": ">", "value": 80},
}


async def _profile_id(db: Database, device_id: int) -> int:
    async with db.session() as session:
        return int(await session.scalar(sa.select(Device.profile_id).where(Device.id == device_id)))


async def _raise(engine: AlarmEngine, port: int, token: str) -> None:
    await engine.reload()
    async with MqttClient("127.0.0.1", port, token, client_id="a") as client:
        done = await client.publish("v1/devices/me/telemetry", orjson.dumps({"t": 90}))
        assert await done == 0
    await engine.flush()


async def test_rules_are_data_with_rights_and_audit(
    client: httpx.AsyncClient, db: Database, world: World, make_device: Any
) -> None:
    dev = await make_device()
    profile_id = await _profile_id(db, dev.id)
    bureau = await world.bearer("bu", Role.BUREAU)
    # an enterprise's user may not write the platform's profile rules
    refused = await client.post(
        "/api/alarm-rules", json={**HOT, "profile_id": profile_id}, headers=dev.headers
    )
    assert refused.status_code == 403
    made = await client.post(
        "/api/alarm-rules", json={**HOT, "profile_id": profile_id}, headers=bureau
    )
    assert made.status_code == 201, made.text
    rule = made.json()
    # a device's own rule, by its enterprise's user
    own = await client.post(
        "/api/alarm-rules",
        headers=dev.headers,
        json={**HOT, "device_id": dev.id, "spec": {"op": ">", "value": 90}},
    )
    assert own.status_code == 201, own.text
    # a bad rule is refused and nothing is written
    bad = await client.post(
        "/api/alarm-rules",
        headers=bureau,
        json={**HOT, "name": "bad", "profile_id": profile_id, "spec": {"op": ">"}},
    )
    assert bad.status_code == 400
    assert bad.json()["error"] == "bad_rule"
    changed = await client.patch(
        f"/api/alarm-rules/{rule['id']}", headers=bureau, json={"severity": "critical"}
    )
    assert changed.json()["severity"] == "critical"
    listed = await client.get(
        "/api/alarm-rules", params={"profile_id": profile_id}, headers=dev.headers
    )
    assert [r["severity"] for r in listed.json()] == ["critical"]
    async with db.session() as session:
        assert await session.scalar(sa.select(sa.func.count()).select_from(AlarmRule)) == 2
        actions = list(
            await session.scalars(
                sa.select(AuditEntry.action)
                .where(AuditEntry.entity_type == "alarm_rule")
                .order_by(AuditEntry.id)
            )
        )
    assert actions == ["alarm_rule.create", "alarm_rule.create", "alarm_rule.update"]


async def test_alarm_list_ack_and_clear_by_role(
    client: httpx.AsyncClient,
    db: Database,
    world: World,
    make_device: Any,
    engine: AlarmEngine,
    port: int,
) -> None:
    dev = await make_device()
    bureau = await world.bearer("bu", Role.BUREAU)
    other = await world.enterprise("乙厂", CODE_B)
    bob = await world.bearer("bob", Role.ENTERPRISE, enterprises=(other.id,))
    await client.post(
        "/api/alarm-rules",
        headers=bureau,
        json={**HOT, "profile_id": await _profile_id(db, dev.id)},
    )
    await _raise(engine, port, dev.token)

    mine = (await client.get("/api/alarms", headers=dev.headers)).json()
    assert mine["total"] == 1
    alarm = mine["items"][0]
    assert (alarm["status"], alarm["severity"], alarm["device_id"]) == (
        "ACTIVE_UNACK",
        "major",
        dev.id,
    )
    assert (await client.get("/api/alarms", headers=bureau)).json()["total"] == 1
    assert (await client.get("/api/alarms", headers=bob)).json()["total"] == 0
    assert (await client.get(f"/api/alarms/{alarm['id']}", headers=bob)).status_code == 404
    filtered = await client.get(
        "/api/alarms", headers=bureau, params={"severity": "minor", "status": "ACTIVE"}
    )
    assert filtered.json()["total"] == 0
    for params, total in (
        ({"enterprise_id": dev.enterprise_id, "severity": "major", "status": "ACTIVE_UNACK"}, 1),
        ({"enterprise_id": other.id}, 0),
        ({"device_id": dev.id}, 1),
        ({"device_id": dev.id + 1000}, 0),
    ):
        listed = await client.get("/api/alarms", headers=bureau, params=params)
        assert listed.json()["total"] == total, params
    # staff read, the enterprise acts
    assert (
        await client.post(f"/api/alarms/{alarm['id']}/ack", json={}, headers=bureau)
    ).status_code == 403
    assert (
        await client.post(f"/api/alarms/{alarm['id']}/ack", json={}, headers=bob)
    ).status_code == 404
    acked = await client.post(
        f"/api/alarms/{alarm['id']}/ack", json={"comment": "风机已检修"}, headers=dev.headers
    )
    assert acked.json()["status"] == "ACTIVE_ACK"
    assert acked.json()["ack_comment"] == "风机已检修"
    # ThingsBoard's routes
    tb = await client.get(
        f"/api/alarm/DEVICE/{dev.id}",
        headers=dev.headers,
        params={"pageSize": 10, "page": 0, "searchStatus": "ACTIVE"},
    )
    assert tb.status_code == 200, tb.text
    [item] = tb.json()["data"]
    assert (item["status"], item["severity"], item["originator"]["id"]) == (
        "ACTIVE_ACK",
        "MAJOR",
        str(dev.id),
    )
    again = await client.post(f"/api/alarm/{alarm['id']}/ack", headers=dev.headers)
    assert again.status_code == 200, again.text
    assert (again.json()["status"], again.json()["id"]["entityType"]) == ("ACTIVE_ACK", "ALARM")
    cleared = await client.post(f"/api/alarm/{alarm['id']}/clear", headers=dev.headers)
    assert cleared.json()["status"] == "CLEARED_ACK"
    history = await client.get(f"/api/alarms/{alarm['id']}/history", headers=bureau)
    assert [(e["kind"], e["actor"]) for e in history.json()] == [
        ("created", None),
        ("acknowledged", "alice"),
        ("cleared", "alice"),
    ]
    async with db.session() as session:
        actions = list(
            await session.scalars(
                sa.select(AuditEntry.action)
                .where(AuditEntry.entity_type == "alarm")
                .order_by(AuditEntry.id)
            )
        )
    assert actions == ["alarm.acknowledge", "alarm.clear"]
    # the engine was told: the next reading over the threshold raises a new alarm
    await _raise(engine, port, dev.token)
    assert (
        await client.get("/api/alarms", headers=dev.headers, params={"status": "ACTIVE_UNACK"})
    ).json()["total"] == 1


async def test_presence_route(
    client: httpx.AsyncClient, world: World, make_device: Any, engine: AlarmEngine, port: int
) -> None:
    dev = await make_device()
    async with MqttClient("127.0.0.1", port, dev.token, client_id="p"):
        await engine.flush()
        answer = await client.get(f"/api/devices/{dev.id}/presence", headers=dev.headers)
    assert answer.json()["state"] == "connected"
    bureau = await world.bearer("bu", Role.BUREAU)
    assert (await client.get(f"/api/devices/{dev.id}/presence", headers=bureau)).status_code == 200
