"""Editing an enterprise in the console (bureau), with its audit trail on the same page."""

from __future__ import annotations

import re

import httpx

from taihu.accounts import Role
from tests.conftest import CODE_A, World
from tests.web.test_console import sign_in


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found
    return found[1]


async def test_bureau_edits_and_sees_the_trail(client: httpx.AsyncClient, world: World) -> None:
    enterprise = await world.enterprise("吴江示范光缆有限公司", CODE_A)
    await world.user("analyst", Role.BUREAU)
    await sign_in(client, "analyst")
    assert 'id="edit-enterprise"' in (await client.get(f"/enterprises/{enterprise.id}")).text
    form = await client.get(f"/enterprises/{enterprise.id}/edit")
    assert form.status_code == 200
    fields = {"csrf": _csrf(form.text), "name": "吴江示范光缆有限公司", "industry_code": "3833",
              "employees": "320", "revenue_band": "100M-1B", "key_enterprise": "1"}  # fmt: skip
    bad = await client.post(f"/enterprises/{enterprise.id}/edit",
                            data={**fields, "industry_code": "9999"})  # fmt: skip
    assert bad.status_code == 400
    assert 'id="edit-error"' in bad.text
    assert 'value="320"' in bad.text  # what was typed stays
    saved = await client.post(f"/enterprises/{enterprise.id}/edit", data=fields)
    assert saved.status_code == 303
    page = await client.get(saved.headers["location"])
    trail = page.text.split('id="history"')[1]
    assert "enterprise.update" in trail
    assert "analyst" in trail
    assert "employees: 320" in trail
    assert "100M-1B" in trail
    again = (await client.get(f"/enterprises/{enterprise.id}/edit")).text
    assert 'name="key_enterprise" value="1" checked' in again


async def test_enterprise_users_cannot_edit(client: httpx.AsyncClient, world: World) -> None:
    enterprise = await world.enterprise("吴江示范光缆有限公司", CODE_A)
    await world.user("factory", Role.ENTERPRISE, enterprises=(enterprise.id,))
    await sign_in(client, "factory")
    assert (await client.get(f"/enterprises/{enterprise.id}/edit")).status_code == 403
    page = await client.get("/devices")
    answer = await client.post(f"/enterprises/{enterprise.id}/edit",
                               data={"csrf": _csrf(page.text), "name": "改名"})  # fmt: skip
    assert answer.status_code == 403
