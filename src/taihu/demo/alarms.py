"""Demo alarms: rules on the demo profiles, raised and cleared by the simulated machines.

The machines overheat for a few minutes in every cycle and stop now and then (``devices.py``),
so the rules below raise alarms that their own clear conditions clear. The back-filled day is
replayed through the real alarm engine (a frozen clock stepped over the history), so the list
shows cleared alarms from the start; one is acknowledged by the demo's enterprise user and the
demo's staff hear of new alarms in the console.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from taihu.accounts import Membership, Principal, Role, User
from taihu.alarms import Alarm, AlarmEngine, AlarmService, SubscriptionService
from taihu.core import Database, FrozenClock
from taihu.devices import Point
from taihu.settings import AlarmSettings

__all__ = ["RULES", "seed_alarms"]

RULES: list[dict[str, Any]] = [
    {"name": "过热", "kind": "threshold", "key": "temperature", "severity": "major",
     "spec": {"op": ">", "value": 75, "clear_op": "<", "clear_value": 65,
              "escalate_after_seconds": 150, "escalate_to": "critical"}},
    {"name": "停机", "kind": "duration", "key": "speed", "severity": "minor",
     "spec": {"op": "<", "value": 1, "hold_readings": 3}},
]  # fmt: skip


async def seed_alarms(db: Database, history: list[tuple[int, Point]]) -> None:
    """Rules on the machine profile, the history replayed through the engine, subscriptions."""
    system = Principal.system("demo")
    async with db.session() as session:
        profile_id = await session.scalar(
            sa.text("SELECT id FROM device_profiles WHERE name = 'production-machine'")
        )
        for rule in RULES:
            await AlarmService(session).create_rule(system, profile_id=profile_id, **rule)
    by_ts: dict[int, list[tuple[int, str, int, int, float | None, str | None]]] = defaultdict(list)
    for device_id, point in history:
        number = point.value if isinstance(point.value, int | float) else None
        by_ts[point.ts].append((device_id, point.key, point.ts, 0, number, None))
    if not by_ts:
        return
    clock = FrozenClock(datetime.fromtimestamp(min(by_ts) / 1000, UTC))
    await _subscribe(db, clock.now())
    # Presence is the live simulation's to tell: no inactivity between history steps.
    engine = AlarmEngine(db, AlarmSettings(inactivity_timeout=10 * 86_400), clock=clock)
    await engine.reload()
    for ts in sorted(by_ts):
        clock.advance(datetime.fromtimestamp(ts / 1000, UTC) - clock.now())
        await engine.tick()  # as its periodic job would have, between two readings
        engine.stored(sorted(by_ts[ts]))
    await engine.flush()
    await _people(db, clock.now())


async def _users(session: AsyncSession) -> dict[str, User]:
    names = ["admin", "analyst", "factory"]
    found = await session.scalars(sa.select(User).where(User.username.in_(names)))
    return {user.username: user for user in found}


async def _subscribe(db: Database, now: datetime) -> None:
    async with db.session() as session:
        users = await _users(session)
        subscriptions = SubscriptionService(session, FrozenClock(now))
        for name, role in (("admin", Role.ADMIN), ("analyst", Role.BUREAU)):
            if name in users:
                person = Principal(name, role, users[name].id)
                await subscriptions.subscribe(person, channel="console", min_severity="minor")


async def _people(db: Database, now: datetime) -> None:
    async with db.session() as session:
        users = await _users(session)
        if "factory" not in users:
            return
        member_of = frozenset(
            await session.scalars(
                sa.select(Membership.enterprise_id).where(Membership.user_id == users["factory"].id)
            )
        )
        newest = await session.scalar(
            sa.select(Alarm)
            .where(Alarm.cleared_at.is_not(None), Alarm.enterprise_id.in_(member_of))
            .order_by(Alarm.id.desc())
        )
        if newest is not None:
            factory = Principal("factory", Role.ENTERPRISE, users["factory"].id, member_of)
            await AlarmService(session, FrozenClock(now + timedelta(minutes=1))).acknowledge(
                factory, newest.id, "已检查冷却水路并恢复正常"
            )
