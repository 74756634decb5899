"""The demo's machines raise and clear alarms: in the back-filled day and when simulated live."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from taihu.accounts import Role
from taihu.alarms import Alarm, AlarmEvent, AlarmNotification
from taihu.core import Database
from taihu.demo.devices import SimulatedDevice, _machine, seed_devices
from tests.conftest import CODE_A, CODE_B, World

NOW = datetime(2026, 12, 6, 10, 3, tzinfo=UTC)


def test_a_simulated_machine_overheats_then_recovers() -> None:
    machine = SimulatedDevice("织机-01", "t", "machine", 1200.0, 4)
    start = int(NOW.timestamp() * 1000)
    temperatures = [_machine(machine, start + i * 5000)["temperature"] for i in range(300)]
    hot = [t > 75 for t in temperatures]  # the demo rule "过热" raises above 75, clears below 65
    assert any(hot)
    first_hot = hot.index(True)
    assert any(t < 65 for t in temperatures[first_hot:])  # and recovers in the same cycle


async def test_the_demo_history_has_cleared_escalated_and_acknowledged_alarms(
    db: Database, world: World
) -> None:
    first = await world.enterprise("甲厂", CODE_A)
    second = await world.enterprise("乙厂", CODE_B)
    await world.user("admin", Role.ADMIN)
    await world.user("factory", Role.ENTERPRISE, enterprises=(first.id,))
    await seed_devices(db, [first.id, second.id], NOW)
    async with db.session() as session:
        alarms = list(await session.scalars(sa.select(Alarm).order_by(Alarm.id)))
        kinds = set(await session.scalars(sa.select(AlarmEvent.kind)))
        notes = list(await session.scalars(sa.select(AlarmNotification)))
    assert {a.name for a in alarms} >= {"过热"}
    assert {a.enterprise_id for a in alarms} == {first.id}  # machines: one enterprise in four
    statuses = {a.status for a in alarms}
    assert "CLEARED_ACK" in statuses
    assert "CLEARED_UNACK" in statuses
    assert {"created", "escalated", "cleared", "acknowledged"} <= kinds
    [acked] = [a for a in alarms if a.acknowledged_at is not None]
    assert acked.acknowledged_by == "factory"
    assert notes  # the admin's console subscription heard of the history's alarms
