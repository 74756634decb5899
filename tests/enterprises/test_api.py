import httpx

from taihu.accounts import Role
from tests.conftest import CODE_A, CODE_B, World


async def test_bureau_registers_enterprises(client: httpx.AsyncClient, world: World) -> None:
    analyst = await world.bearer("ana", Role.BUREAU)
    response = await client.post(
        "/api/enterprises",
        json={"name": "  汾湖示例  电梯 ", "credit_code": CODE_A.lower()},
        headers=analyst,
    )
    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "汾湖示例 电梯"
    assert body["credit_code"] == CODE_A
    again = await client.post(
        "/api/enterprises", json={"name": "Other", "credit_code": CODE_A}, headers=analyst
    )
    assert again.status_code == 409
    assert again.json()["error"] == "enterprise_exists"
    assert again.json()["details"] == {"credit_code": CODE_A}  # a value object, sent as text


async def test_bad_credit_codes_are_rejected_clearly(
    client: httpx.AsyncClient, world: World
) -> None:
    analyst = await world.bearer("ana", Role.BUREAU)
    wrong_check = CODE_A[:17] + ("0" if CODE_A[17] != "0" else "1")
    response = await client.post(
        "/api/enterprises", json={"name": "X", "credit_code": wrong_check}, headers=analyst
    )
    assert response.status_code == 400
    assert response.json()["error"] == "bad_credit_code"
    assert f"should be '{CODE_A[17]}'" in response.json()["message"]
    short = await client.post(
        "/api/enterprises", json={"name": "X", "credit_code": "9132"}, headers=analyst
    )
    assert short.status_code == 400
    assert "18 characters" in short.json()["message"]
    listed = await client.get("/api/enterprises", headers=analyst)
    assert listed.json()["total"] == 0  # nothing half-written


async def test_enterprise_users_see_only_their_own(client: httpx.AsyncClient, world: World) -> None:
    mine = await world.enterprise("我的企业", CODE_A)
    theirs = await world.enterprise("别人的企业", CODE_B)
    auth = await world.bearer("factory", Role.ENTERPRISE, enterprises=(mine.id,))
    listed = await client.get("/api/enterprises", headers=auth)
    assert [e["id"] for e in listed.json()["items"]] == [mine.id]
    assert listed.json()["total"] == 1
    assert (await client.get(f"/api/enterprises/{mine.id}", headers=auth)).status_code == 200
    other = await client.get(f"/api/enterprises/{theirs.id}", headers=auth)
    assert other.status_code == 403
    assert other.json() == {
        "error": "enterprise_forbidden",
        "message": f"factory does not act for enterprise {theirs.id}",
        "details": {"name": "factory", "enterprise_id": theirs.id},  # the message's values
    }
    missing = await client.get("/api/enterprises/999", headers=auth)
    assert missing.status_code == 404


async def test_search_by_name_part_or_code(client: httpx.AsyncClient, world: World) -> None:
    await world.enterprise("盛泽示例丝绸", CODE_A)
    await world.enterprise("七都示例光缆", CODE_B)
    auth = await world.bearer("ana", Role.BUREAU)
    by_name = await client.get("/api/enterprises", params={"q": "光缆"}, headers=auth)
    assert [e["name"] for e in by_name.json()["items"]] == ["七都示例光缆"]
    by_code = await client.get("/api/enterprises", params={"q": CODE_A.lower()}, headers=auth)
    assert [e["name"] for e in by_code.json()["items"]] == ["盛泽示例丝绸"]
    wildcard = await client.get("/api/enterprises", params={"q": "%"}, headers=auth)
    assert wildcard.json()["items"] == []  # LIKE wildcards in input are literal


async def test_enterprise_list_pages(client: httpx.AsyncClient, world: World) -> None:
    await world.enterprise("A 企业", CODE_A)
    await world.enterprise("B 企业", CODE_B)
    auth = await world.bearer("ana", Role.BUREAU)
    second = await client.get("/api/enterprises", params={"page": 2, "page_size": 1}, headers=auth)
    assert second.json() == {
        "items": [second.json()["items"][0]],
        "total": 2,
        "page": 2,
        "page_size": 1,
    }
    assert second.json()["items"][0]["name"] == "B 企业"
