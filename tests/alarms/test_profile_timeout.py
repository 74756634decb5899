"""Each profile's own inactivity timeout: set over the API, bounded, used by the tick."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
import orjson
import sqlalchemy as sa

from taihu.accounts import AuditEntry, Principal, Role
from taihu.alarms import AlarmEngine, PresenceEvent
from taihu.core import Database, FrozenClock
from taihu.devices import DeviceService, MqttClient
from tests.conftest import World
from tests.web.test_console import sign_in

SYSTEM = Principal.system("test")


async def _send(port: int, token: str) -> None:
    async with MqttClient("127.0.0.1", port, token, client_id="c") as client:
        done = await client.publish("v1/devices/me/telemetry", orjson.dumps({"t": 1}))
        assert await done == 0


async def _history(db: Database, device_id: int) -> list[str]:
    async with db.session() as session:
        return list(
            await session.scalars(
                sa.select(PresenceEvent.state)
                .where(PresenceEvent.device_id == device_id)
                .order_by(PresenceEvent.id)
            )
        )


async def test_two_profiles_go_inactive_at_their_own_times(
    db: Database,
    engine: AlarmEngine,
    port: int,
    make_device: Any,
    clock: FrozenClock,
    client: httpx.AsyncClient,
    world: World,
) -> None:
    async with db.session() as session:
        registry = DeviceService(session, clock)
        await registry.create_profile(SYSTEM, "fast", inactivity_timeout=60)
        slow = await registry.create_profile(SYSTEM, "slow")
    admin = await world.bearer("root", Role.ADMIN)
    answer = await client.put(
        f"/api/device-profiles/{slow.id}/inactivity-timeout",
        json={"inactivity_timeout": 300},
        headers=admin,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["inactivity_timeout"] == 300
    fast_dev = await make_device("fast-1", profile="fast")
    slow_dev = await make_device("slow-1", profile="slow")
    plain_dev = await make_device("plain-1")  # its profile has none: the setting (600 s)
    await engine.reload()
    for dev in (fast_dev, slow_dev, plain_dev):
        await _send(port, dev.token)
    await engine.flush()
    assert engine.settings.inactivity_timeout == 600

    clock.advance(timedelta(seconds=60))
    await engine.tick()
    await engine.flush()
    assert (await _history(db, fast_dev.id))[-1] == "inactive"
    assert (await _history(db, slow_dev.id))[-1] != "inactive"

    clock.advance(timedelta(seconds=240))
    await engine.tick()
    await engine.flush()
    assert (await _history(db, slow_dev.id))[-1] == "inactive"
    assert (await _history(db, plain_dev.id))[-1] != "inactive"

    clock.advance(timedelta(seconds=300))
    await engine.tick()
    await engine.flush()
    assert (await _history(db, plain_dev.id))[-1] == "inactive"
    for dev in (fast_dev, slow_dev, plain_dev):
        assert (await _history(db, dev.id)).count("inactive") == 1


async def test_timeout_bounds_rights_and_audit(
    db: Database, client: httpx.AsyncClient, world: World, make_device: Any
) -> None:
    dev = await make_device()  # an enterprise user's headers come with it
    async with db.session() as session:
        profile = await DeviceService(session).create_profile(SYSTEM, "meters")
    url = f"/api/device-profiles/{profile.id}/inactivity-timeout"
    admin = await world.bearer("root", Role.ADMIN)
    for bad in (0, 9, 2_592_001, "soon"):
        answer = await client.put(url, json={"inactivity_timeout": bad}, headers=admin)
        assert answer.status_code == 422, answer.text
    answer = await client.put(url, json={"inactivity_timeout": 120}, headers=dev.headers)
    assert answer.status_code == 403
    answer = await client.put(
        "/api/device-profiles/999999/inactivity-timeout",
        json={"inactivity_timeout": 120},
        headers=admin,
    )
    assert answer.status_code == 404
    for value in (120, None):
        answer = await client.put(url, json={"inactivity_timeout": value}, headers=admin)
        assert answer.status_code == 200
        assert answer.json()["inactivity_timeout"] == value
    async with db.session() as session:
        entries = list(
            await session.scalars(
                sa.select(AuditEntry)
                .where(AuditEntry.action == "device_profile.update")
                .order_by(AuditEntry.id)
            )
        )
    assert [(e.before, e.after) for e in entries] == [
        ({"inactivity_timeout": None}, {"inactivity_timeout": 120}),
        ({"inactivity_timeout": 120}, {"inactivity_timeout": None}),
    ]


async def test_the_profile_page_sets_the_timeout(
    db: Database, client: httpx.AsyncClient, world: World
) -> None:
    async with db.session() as session:
        profile = await DeviceService(session).create_profile(SYSTEM, "tanks")
    await world.user("analyst", Role.BUREAU)
    await sign_in(client, "analyst")
    page = await client.get(f"/device-profiles/{profile.id}/rules")
    assert "600" in page.text  # the setting, while the profile has none
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found is not None
    url = f"/device-profiles/{profile.id}/inactivity-timeout"
    refused = await client.post(url, data={"csrf": found[1], "inactivity_timeout": "5"})
    assert refused.status_code == 400
    assert 'role="alert"' in refused.text
    saved = await client.post(url, data={"csrf": found[1], "inactivity_timeout": "7200"})
    assert saved.status_code == 303
    async with db.session() as session:
        assert (await DeviceService(session).profile(profile.id)).inactivity_timeout == 7200
    page = await client.get(f"/device-profiles/{profile.id}/rules")
    assert 'value="7200"' in page.text
