"""Console pages of the pool: search, a need posted and matched, the enterprise page's panels."""

from __future__ import annotations

import re

import httpx

from taihu.accounts import Role
from tests.conftest import CODE_A, World
from tests.web.test_console import sign_in


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found
    return found[1]


async def test_a_need_posted_in_the_console_is_matched_by_the_bureau(
    client: httpx.AsyncClient, world: World
) -> None:
    silk = await world.enterprise("Wujiang Silk", CODE_A)
    await world.user("silk", Role.ENTERPRISE, enterprises=(silk.id,))
    headers = await world.bearer("bureau", Role.BUREAU)
    provider = (
        await client.post(
            "/api/solutions/providers",
            headers=headers,
            json={"name": "工业互联网研究机构", "kind": "research"},
        )
    ).json()
    offer = (
        await client.post(
            f"/api/solutions/providers/{provider['id']}/solutions",
            headers=headers,
            json={"title_zh": "纺织能耗管理", "title_en": "Textile energy", "tags": ["energy"]},
        )
    ).json()
    await sign_in(client, "silk")
    pool = await client.get("/solutions", params={"q": "能耗"})
    assert pool.status_code == 200
    assert "纺织能耗管理" in pool.text
    assert 'href="/solutions"' in pool.text  # in the navigation
    assert "纺织能耗管理" not in (await client.get("/solutions", params={"tag": "mes"})).text
    page = await client.get("/solutions/needs")
    csrf = _csrf(page.text)
    empty = await client.post(
        "/solutions/needs", data={"csrf": csrf, "enterprise_id": str(silk.id), "title": ""}
    )
    assert empty.status_code == 400
    assert 'id="need-error"' in empty.text
    posted = await client.post(
        "/solutions/needs",
        data={
            "csrf": csrf,
            "enterprise_id": str(silk.id),
            "title": "空压机能耗监测",
            "tag": ["energy"],
        },
    )
    assert posted.status_code == 303
    need_url = posted.headers["location"]
    need = await client.get(need_url)
    assert 'id="match-form"' not in need.text
    assert 'value="withdraw"' in need.text
    await client.post("/logout", data={"csrf": csrf})
    await world.user("analyst", Role.BUREAU)
    await sign_in(client, "analyst")
    need = await client.get(need_url)
    assert 'id="match-form"' in need.text
    assert "纺织能耗管理" in need.text
    matched = await client.post(
        f"{need_url}/step",
        data={"csrf": _csrf(need.text), "action": "match", "solution_id": str(offer["id"])},
    )
    assert matched.status_code == 303
    after = await client.get(need_url)
    assert 'id="need-status"' in after.text
    assert "工业互联网研究机构" in after.text
    wrong = await client.post(
        f"{need_url}/step", data={"csrf": _csrf(after.text), "action": "close"}
    )
    assert wrong.status_code == 400
    assert 'id="step-error"' in wrong.text
    firm = await client.get(f"/enterprises/{silk.id}")
    assert firm.status_code == 200
    for panel in ('id="honours"', 'id="enterprise-applications"', 'id="suggested-solutions"'):
        assert panel in firm.text
    assert (await client.get(f"/solutions/{offer['id']}")).status_code == 200
    assert (await client.get(f"/solutions/providers/{provider['id']}")).status_code == 200
    assert (await client.get("/solutions/999999")).status_code == 404
