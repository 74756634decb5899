"""The alarm pages of the console: the list with ack and clear, the rule editor, both languages."""

from __future__ import annotations

import re
from typing import Any

import httpx
import sqlalchemy as sa

from taihu.accounts import Principal, Role
from taihu.alarms import AlarmEngine, AlarmRule, AlarmService
from taihu.core import Database
from taihu.devices import Device
from tests.conftest import World
from tests.web.test_console import sign_in


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found
    return found[1]


async def _profile_id(db: Database, device_id: int) -> int:
    async with db.session() as session:
        return int(await session.scalar(sa.select(Device.profile_id).where(Device.id == device_id)))


async def test_alarm_list_ack_and_clear(
    client: httpx.AsyncClient, db: Database, world: World, make_device: Any, engine: AlarmEngine
) -> None:
    dev = await make_device()
    async with db.session() as session:
        await AlarmService(session).create_rule(
            Principal.system("test"), profile_id=await _profile_id(db, dev.id), name="过热",
            kind="threshold", key="t", severity="major", spec={"op": ">", "value": 80},
        )  # fmt: skip
    await engine.reload()
    engine.stored([(dev.id, "t", 1_765_155_600_000, 1, 90.0, None)])
    await engine.flush()
    await world.user("factory", Role.ENTERPRISE, enterprises=(dev.enterprise_id,))
    await sign_in(client, "factory")
    page = await client.get("/alarms")
    assert page.status_code == 200
    assert "过热" in page.text
    assert "告警" in page.text  # the navigation and the title, in Chinese
    assert "未确认" in page.text
    [alarm_id] = re.findall(r'id="alarm-(\d+)"', page.text)
    acked = await client.post(f"/alarms/{alarm_id}/ack",
                              data={"csrf": _csrf(page.text), "comment": "风机已检修"})  # fmt: skip
    assert acked.status_code == 303
    page = await client.get("/alarms", params={"status": "ACTIVE_ACK"})
    assert "风机已检修" in page.text
    assert (
        await client.post(f"/alarms/{alarm_id}/clear", data={"csrf": "wrong"})
    ).status_code == 403
    cleared = await client.post(f"/alarms/{alarm_id}/clear", data={"csrf": _csrf(page.text)})
    assert cleared.status_code == 303
    assert "风机已检修" not in (await client.get("/alarms", params={"status": "ACTIVE"})).text
    await client.get("/lang/en", params={"next": "/"})
    english = await client.get("/alarms")
    assert "Cleared, acknowledged" in english.text


async def test_rule_editor_for_the_bureau_only(
    client: httpx.AsyncClient, db: Database, world: World, make_device: Any
) -> None:
    dev = await make_device()
    profile_id = await _profile_id(db, dev.id)
    await world.user("analyst", Role.BUREAU)
    await sign_in(client, "analyst")
    page = await client.get(f"/device-profiles/{profile_id}/rules")
    assert page.status_code == 200
    fields = {"csrf": _csrf(page.text), "name": "持续高温", "kind": "duration", "key": "t",
              "severity": "minor", "op": ">", "value": "80", "hold_readings": "3"}  # fmt: skip
    made = await client.post(f"/device-profiles/{profile_id}/rules", data=fields)
    assert made.status_code == 303
    bad = await client.post(f"/device-profiles/{profile_id}/rules",
                            data={**fields, "name": "坏", "hold_readings": ""})  # fmt: skip
    assert bad.status_code == 400
    assert "hold_seconds" in bad.text  # the reason, naming the field
    async with db.session() as session:
        rules = list(await session.scalars(sa.select(AlarmRule)))
    assert [(r.name, r.spec) for r in rules] == [
        ("持续高温", {"op": ">", "value": 80, "hold_readings": 3})]  # fmt: skip
    page = await client.get(f"/device-profiles/{profile_id}/rules")
    assert "持续高温" in page.text
    assert "添加规则" in page.text
    # an enterprise's user reads the rules and gets no editor
    await world.user("factory", Role.ENTERPRISE, enterprises=(dev.enterprise_id,))
    await client.post("/logout", data={"csrf": _csrf(page.text)})
    await sign_in(client, "factory")
    page = await client.get(f"/device-profiles/{profile_id}/rules")
    assert "持续高温" in page.text
    assert "添加规则" not in page.text
