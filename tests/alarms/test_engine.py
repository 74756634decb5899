"""The engine on real MQTT ingest: one alarm per (device, rule), silence, escalation, presence."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import orjson
import sqlalchemy as sa

from taihu.accounts import Principal
from taihu.alarms import Alarm, AlarmEngine, AlarmEvent, AlarmService, DevicePresence, PresenceEvent
from taihu.core import Database, FrozenClock
from taihu.devices import Device, MqttClient
from tests.devices.conftest import eventually

SYSTEM = Principal.system("test")


async def _profile_rule(db: Database, device_id: int, **fields: Any) -> int:
    async with db.session() as session:
        profile_id = await session.scalar(
            sa.select(Device.profile_id).where(Device.id == device_id)
        )
        rule = await AlarmService(session).create_rule(SYSTEM, profile_id=profile_id, **fields)
        return rule.id


async def _send(port: int, token: str, *values: float, client_id: str = "c") -> None:
    async with MqttClient("127.0.0.1", port, token, client_id=client_id) as client:
        for value in values:
            done = await client.publish("v1/devices/me/telemetry", orjson.dumps({"t": value}))
            assert await done == 0


async def _alarms(db: Database) -> list[Alarm]:
    async with db.session() as session:
        return list(await session.scalars(sa.select(Alarm).order_by(Alarm.id)))


async def _events(db: Database) -> list[str]:
    async with db.session() as session:
        return list(await session.scalars(sa.select(AlarmEvent.kind).order_by(AlarmEvent.id)))


HOT = {
    "name": "hot",
    "kind": "threshold",
    "key": "t",
    "severity": "major",
    "spec": {"op": ">", "value": 80},
}


async def test_threshold_raises_counts_and_clears(
    db: Database, engine: AlarmEngine, port: int, make_device: Any
) -> None:
    dev = await make_device()
    await _profile_rule(db, dev.id, **HOT)
    await engine.reload()
    await _send(port, dev.token, 70, 85, 90, 95)
    await engine.flush()
    await engine.flush()  # the counts of an alarm written in the same round follow
    [alarm] = await _alarms(db)
    assert (alarm.device_id, alarm.status, alarm.first_value) == (dev.id, "ACTIVE_UNACK", 85)
    assert (alarm.count, alarm.last_value) == (3, 95)
    await _send(port, dev.token, 60)
    await engine.flush()
    [alarm] = await _alarms(db)
    assert alarm.status == "CLEARED_UNACK"
    assert alarm.last_value == 60
    assert await _events(db) == ["created", "cleared"]


async def test_concurrent_messages_raise_one_alarm(
    db: Database, engine: AlarmEngine, port: int, make_device: Any
) -> None:
    dev = await make_device()
    await _profile_rule(db, dev.id, **HOT)
    await engine.reload()
    # three connections of the device publish at once, all over the threshold
    await asyncio.gather(
        *(_send(port, dev.token, *[81.0 + i] * 20, client_id=f"c{i}") for i in range(3))
    )
    await engine.flush()
    await engine.flush()
    [alarm] = await _alarms(db)
    assert alarm.count == 60
    assert alarm.cleared_at is None


async def test_two_processes_share_one_active_alarm(
    db: Database, engine: AlarmEngine, make_device: Any, clock: FrozenClock
) -> None:
    dev = await make_device()
    await _profile_rule(db, dev.id, **HOT)
    other = AlarmEngine(db, clock=clock)  # as another ingest process would hold it
    for each in (engine, other):
        await each.reload()
    row = (dev.id, "t", 1_765_155_600_000, 1, 90.0, None)
    engine.stored([row])
    other.stored([row])
    await asyncio.gather(engine.flush(), other.flush())
    await asyncio.gather(engine.flush(), other.flush())
    [alarm] = await _alarms(db)
    assert alarm.count == 2  # the second process adopted the alarm and counted its reading
    # either process clears it
    other.stored([(dev.id, "t", 1_765_155_601_000, 1, 10.0, None)])
    await other.flush()
    [alarm] = await _alarms(db)
    assert alarm.cleared_at is not None


async def test_no_data_raises_after_silence_and_clears_on_data(
    db: Database, engine: AlarmEngine, port: int, make_device: Any, clock: FrozenClock
) -> None:
    dev = await make_device()
    await _profile_rule(
        db,
        dev.id,
        name="silent",
        kind="no_data",
        key="t",
        severity="minor",
        spec={"silent_minutes": 10},
    )
    await engine.reload()
    clock.advance(timedelta(minutes=9))
    await engine.tick()
    await engine.flush()
    assert await _alarms(db) == []
    clock.advance(timedelta(minutes=2))
    await engine.tick()
    await engine.flush()
    [alarm] = await _alarms(db)
    assert (alarm.name, alarm.severity, alarm.cleared_at) == ("silent", "minor", None)
    await _send(port, dev.token, 1)
    await engine.flush()
    [alarm] = await _alarms(db)
    assert alarm.cleared_at is not None


async def test_escalation_when_it_lasts(
    db: Database, engine: AlarmEngine, port: int, make_device: Any, clock: FrozenClock
) -> None:
    dev = await make_device()
    spec = {"op": ">", "value": 80, "escalate_after_seconds": 600, "escalate_to": "critical"}
    await _profile_rule(db, dev.id, **{**HOT, "spec": spec})
    await engine.reload()
    await _send(port, dev.token, 90)
    await engine.flush()
    clock.advance(timedelta(minutes=5))
    await engine.tick()
    await engine.flush()
    assert [a.severity for a in await _alarms(db)] == ["major"]
    clock.advance(timedelta(minutes=6))
    await engine.tick()
    await engine.flush()
    [alarm] = await _alarms(db)
    assert (alarm.severity, alarm.escalated) == ("critical", True)
    assert await _events(db) == ["created", "escalated"]


async def test_device_rule_overrides_the_profiles(
    db: Database, engine: AlarmEngine, port: int, make_device: Any
) -> None:
    dev = await make_device()
    await _profile_rule(db, dev.id, **HOT)
    async with db.session() as session:
        await AlarmService(session).create_rule(
            SYSTEM, device_id=dev.id, **{**HOT, "spec": {"op": ">", "value": 100}}
        )
    await engine.reload()
    await _send(port, dev.token, 90)
    await engine.flush()
    assert await _alarms(db) == []
    await _send(port, dev.token, 101)
    await engine.flush()
    assert len(await _alarms(db)) == 1


async def test_cleared_by_a_person_then_raised_anew(
    db: Database, engine: AlarmEngine, port: int, make_device: Any
) -> None:
    dev = await make_device()
    await _profile_rule(db, dev.id, **HOT)
    await engine.reload()
    await _send(port, dev.token, 90)
    await engine.flush()
    [alarm] = await _alarms(db)
    async with db.session() as session:
        await AlarmService(session).clear(SYSTEM, alarm.id, "checked")
    await engine.reload()  # how another process learns it (this one is told at once)
    await _send(port, dev.token, 91)
    await engine.flush()
    first, second = await _alarms(db)
    assert first.cleared_by == "test"
    assert second.cleared_at is None


async def test_presence_connected_disconnected_inactive(
    db: Database, engine: AlarmEngine, port: int, make_device: Any, clock: FrozenClock
) -> None:
    dev = await make_device()
    async with MqttClient("127.0.0.1", port, dev.token, client_id="p") as client:
        await engine.flush()
        async with db.session() as session:
            assert (await session.get(DevicePresence, dev.id)).state == "connected"  # type: ignore[union-attr]
        await client.ping()

    async def disconnected() -> bool:
        return engine.presence.get(dev.id) == "disconnected"

    await eventually(disconnected)
    clock.advance(timedelta(seconds=engine.settings.inactivity_timeout))
    await engine.tick()
    await engine.flush()
    async with db.session() as session:
        history = list(
            await session.scalars(
                sa.select(PresenceEvent.state)
                .where(PresenceEvent.device_id == dev.id)
                .order_by(PresenceEvent.id)
            )
        )
    assert history == ["connected", "disconnected", "inactive"]
    await _send(port, dev.token, 1)
    assert engine.presence[dev.id] == "connected"


async def test_a_process_that_stores_no_data_judges_no_silence(
    db: Database, make_device: Any, clock: FrozenClock
) -> None:
    dev = await make_device()
    await _profile_rule(db, dev.id, name="silent", kind="no_data", key="t", severity="minor",
                        spec={"silent_minutes": 10})  # fmt: skip
    # An api or transport process beside ingest processes on a bus: data never passes it.
    engine = AlarmEngine(db, clock=clock, sees_data=False)
    await engine.reload()
    engine.connected(dev.id)
    clock.advance(timedelta(minutes=11))
    await engine.tick()
    await engine.flush()
    assert await _alarms(db) == []
    assert engine.presence[dev.id] == "connected"  # connections it sees are still told
