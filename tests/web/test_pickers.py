"""Searchable pickers (enterprises, officers), the case actions a state allows, what-if links."""

from __future__ import annotations

import httpx

from taihu.accounts import Principal, Role
from taihu.monitor import CaseService
from taihu.web.pages.pickers import case_actions
from tests.conftest import CODE_A, CODE_B, World
from tests.web.test_console import sign_in


def test_case_actions_follow_the_state_machine() -> None:
    assert case_actions("open", staff=True) == ["assign", "comment"]
    assert case_actions("assigned", staff=True) == ["assign", "start", "close", "comment"]
    assert case_actions("closed", staff=True) == ["reopen"]
    assert case_actions("closed", staff=False) == []
    assert case_actions("in_progress", staff=False) == ["comment"]


async def test_enterprise_and_officer_suggestions(client: httpx.AsyncClient, world: World) -> None:
    cable = await world.enterprise("吴江示范光缆有限公司", CODE_A)
    await world.enterprise("盛泽示范丝绸织造有限公司", CODE_B)
    await world.user("analyst", Role.BUREAU)
    await world.user("factory", Role.ENTERPRISE, enterprises=(cable.id,))
    await sign_in(client, "analyst")
    by_name = (await client.get("/pickers/enterprises", params={"q": "光缆"})).json()
    assert by_name == [{"id": cable.id, "name": "吴江示范光缆有限公司", "credit_code": CODE_A}]
    by_code = (await client.get("/pickers/enterprises", params={"q": CODE_B})).json()
    assert [e["credit_code"] for e in by_code] == [CODE_B]
    officers = (await client.get("/pickers/officers")).json()
    assert [o["username"] for o in officers] == ["analyst"]  # not the factory user
    redirect = await client.get(f"/enterprises/by-code/{CODE_A}")
    assert redirect.headers["location"] == f"/enterprises/{cable.id}"
    client.cookies.clear()
    await sign_in(client, "factory")
    # An enterprise user finds only its own enterprises and no officers.
    assert (await client.get("/pickers/enterprises", params={"q": "示范"})).json() == by_name
    assert (await client.get("/pickers/officers")).status_code == 403


async def test_case_board_offers_only_valid_actions(
    client: httpx.AsyncClient, world: World
) -> None:
    cable = await world.enterprise("吴江示范光缆有限公司", CODE_A)
    async with world.db.session() as session:
        case = await CaseService(session, world.clock).record(
            Principal.system("test"), cable.id, "supplier", "缺光纤预制棒"
        )
    await world.user("analyst", Role.BUREAU)
    await sign_in(client, "analyst")
    board = (await client.get("/monitor/cases")).text
    article = board.split(f"#{case.id} ")[1].split("</article>")[0]
    assert '<option value="assign">' in article
    assert '<option value="start">' not in article  # an open case is assigned first
    assert '<option value="reopen">' not in article
    assert 'data-picker="officer"' in article
    disruption = await client.get("/industry-map/disruption")
    assert 'data-picker="enterprise"' in disruption.text
