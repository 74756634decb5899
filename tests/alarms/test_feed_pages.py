"""Console pages of notifications and presence: subscribe, the live list, presence counts, home."""

from __future__ import annotations

from typing import Any

import httpx

from taihu.accounts import Role
from taihu.alarms import AlarmEngine
from taihu.core import Database
from tests.alarms.test_console import _csrf
from tests.alarms.test_engine import HOT, _profile_rule, _send
from tests.conftest import World
from tests.web.test_console import sign_in


async def test_subscribe_in_the_console_and_see_notifications_live(
    client: httpx.AsyncClient, db: Database, world: World, make_device: Any,
    engine: AlarmEngine, port: int,
) -> None:  # fmt: skip
    dev = await make_device()
    await world.user("factory", Role.ENTERPRISE, enterprises=(dev.enterprise_id,))
    await sign_in(client, "factory")
    page = await client.get("/alarms/notifications")
    assert page.status_code == 200
    assert "告警通知" in page.text  # the title, in Chinese
    made = await client.post(
        "/alarms/notifications/subscribe",
        data={"csrf": _csrf(page.text), "channel": "console", "min_severity": "major"},
    )
    assert made.status_code == 303
    bad = await client.post(
        "/alarms/notifications/subscribe",
        data={"csrf": _csrf(page.text), "channel": "webhook", "target": "ftp://x"},
    )
    assert bad.status_code == 400
    hook = await client.post(
        "/alarms/notifications/subscribe",
        data={"csrf": _csrf(page.text), "channel": "webhook", "target": "http://127.0.0.1:9/h"},
    )
    assert hook.status_code == 200
    assert 'id="webhook-secret"' in hook.text
    await _profile_rule(db, dev.id, **HOT)
    await engine.reload()
    await _send(port, dev.token, 91)
    await engine.flush()
    items = await client.get("/alarms/notifications/items")
    assert items.status_code == 200
    assert "hot" in items.text
    assert "91.0" in items.text
    assert 'class="unread"' in items.text
    read = await client.post("/alarms/notifications/read", data={"csrf": _csrf(page.text)})
    assert read.status_code == 303
    assert 'class="unread"' not in (await client.get("/alarms/notifications/items")).text
    filtered = await client.get("/alarms", params={"enterprise_id": dev.enterprise_id})
    assert "hot" in filtered.text
    assert "hot" not in (await client.get("/alarms", params={"enterprise_id": 999})).text


async def test_presence_in_lists_and_on_the_bureau_home(
    client: httpx.AsyncClient, world: World, make_device: Any, engine: AlarmEngine, port: int
) -> None:
    live, silent = await make_device("live"), await make_device("silent")
    await _send(port, live.token, 1)
    await _send(port, silent.token, 1)
    await engine.flush()
    engine.last_data[silent.id] -= engine.settings.inactivity_timeout + 1
    await engine.tick()
    await engine.flush()
    await world.user("analyst", Role.BUREAU)
    await sign_in(client, "analyst")
    home = await client.get("/")
    assert home.status_code == 200
    assert 'href="/presence?state=inactive"' in home.text
    assert "1 台设备不活跃" in home.text or "不活跃" in home.text
    inactive = await client.get("/presence", params={"state": "inactive"})
    assert ">silent<" in inactive.text
    assert ">live<" not in inactive.text
    devices = await client.get("/devices")
    assert f'href="/presence/{silent.id}"' in devices.text
    history = await client.get(f"/presence/{silent.id}")
    assert history.status_code == 200
    assert history.text.count("<tr><td>") >= 2  # connected, then inactive (after disconnecting)
    assert (await client.get("/presence/999999")).status_code == 404
