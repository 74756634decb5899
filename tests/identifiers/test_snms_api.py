"""The SNMS-compatible API: token, detail, single and batch writes, templates, errors."""

from __future__ import annotations

import httpx
import pytest
import sqlalchemy as sa

from taihu.accounts import AuditEntry, Role
from taihu.core import Database
from taihu.identifiers import HandleRow
from tests.conftest import CODE_B, PASSWORD, World
from tests.identifiers.conftest import NODE, PREFIX, elevator

pytestmark = pytest.mark.usefixtures("templates")


@pytest.fixture
async def member(world: World, templates: int) -> dict[str, str]:
    """A bearer header of a member of the prefix's owner enterprise."""
    return await world.bearer("lift-erp", Role.ENTERPRISE, enterprises=(templates,))


async def test_token_then_register_and_read(client: httpx.AsyncClient, member: object) -> None:
    token = await client.post(
        "/identity/token", json={"username": "lift-erp", "password": PASSWORD}
    )
    assert token.status_code == 200
    assert token.json()["status"] == 1
    headers = {"Authorization": f"Bearer {token.json()['data']['token']}"}
    created = await client.post("/identityv2/data", json=elevator("E1"), headers=headers)
    assert created.json() == {"status": 1, "message": "success", "data": True}
    detail = await client.get(
        "/identityv2/data/detail", params={"handle": f"{PREFIX}/E1"}, headers=headers
    )
    data = detail.json()["data"]
    assert data["templateVersion"] == "elevator-1.0"
    assert data["prefix"] == PREFIX
    by_type = {v["type"]: v for v in data["value"]}
    assert by_type["model"]["data"] == {"format": "string", "value": "HL-2000"}
    assert by_type["TEMPLATE"]["index"] == 1001
    # The same identifier is reachable over the Handle REST API.
    handle = (await client.get(f"/api/handles/{PREFIX}/E1?type=model")).json()
    assert handle["values"][0]["data"]["value"] == "HL-2000"


async def test_bad_token_and_parameters(client: httpx.AsyncClient, member: dict[str, str]) -> None:
    bad = await client.post("/identity/token", json={"username": "lift-erp", "password": "x"})
    assert bad.status_code == 401
    assert bad.json()["status"] == -2
    missing = await client.post("/identity/token", json={"username": "lift-erp"})
    assert missing.status_code == 400
    assert missing.json()["status"] == -2
    anonymous = await client.get("/identityv2/data/detail", params={"handle": f"{PREFIX}/E1"})
    assert anonymous.status_code == 401
    no_handle = await client.get("/identityv2/data/detail", headers=member)
    assert no_handle.status_code == 400
    assert no_handle.json() == {
        "status": -2,
        "message": "缺少必要的请求参数: handle (missing parameter)",
        "data": None,
    }
    not_json = await client.post("/identityv2/data", content=b"{", headers=member)
    assert not_json.json()["status"] == -2


async def test_template_errors_name_the_item(
    client: httpx.AsyncClient, member: dict[str, str]
) -> None:
    response = await client.post(
        "/identityv2/data", json=elevator("E2", model="", colour="red"), headers=member
    )
    assert response.status_code == 400
    assert "'colour'" in response.json()["message"]
    response = await client.post("/identityv2/data", json=elevator("E2", model=""), headers=member)
    assert "item 'model'" in response.json()["message"]
    unknown = await client.post(
        "/identityv2/data", json={**elevator("E3"), "templateVersion": "nope-9"}, headers=member
    )
    assert unknown.status_code == 400
    assert "no template 'nope-9'" in unknown.json()["message"]


async def test_another_enterprise_gets_701(
    client: httpx.AsyncClient, world: World, member: dict[str, str]
) -> None:
    other = await world.enterprise("Other", CODE_B)
    stranger = await world.bearer("stranger", Role.ENTERPRISE, enterprises=(other.id,))
    refused = await client.post("/identityv2/data", json=elevator("E4"), headers=stranger)
    assert refused.status_code == 403
    assert refused.json()["code"] == 701
    await client.post("/identityv2/data", json=elevator("E4"), headers=member)
    batch = await client.request(
        "DELETE", "/identityv2/data/batchDelete", json=[f"{PREFIX}/E4"], headers=stranger
    )
    assert batch.json()["data"] == [
        {
            "handle": f"{PREFIX}/E4",
            "code": -2,
            "msg": f"stranger may not write under prefix {PREFIX}",
            "reason": 701,
        }
    ]


async def test_batch_partial_success_and_idempotent_retry(
    client: httpx.AsyncClient, member: dict[str, str], db: Database
) -> None:
    items = [elevator(f"B{n:04d}") for n in range(50)]
    items[7] = elevator("B0007", ratedLoadKg="heavy")
    items[9] = {"handle": "no-slash", "value": []}
    items[11] = elevator("B0003")  # duplicate within the batch
    first = await client.post("/identityv2/data/batchCreate", json={"data": items}, headers=member)
    # The next batch of a kept-alive client comes on a new connection, which the least busy
    # worker accepts (see docs/identifiers.md, "Batch registration").
    assert first.headers["connection"] == "close"
    data = first.json()["data"]
    assert [r["code"] for r in data].count(1) == 47
    reasons = {r["handle"]: r.get("reason") for r in data}
    assert reasons[f"{PREFIX}/B0007"] == 202
    assert reasons["no-slash"] == 102
    assert data[11]["reason"] == 202
    assert "item 'ratedLoadKg'" in data[7]["msg"]
    # Re-sent after a "timeout": nothing is duplicated, items say they exist (the same values).
    again = await client.post("/identityv2/data/batchCreate", json=items, headers=member)
    results = again.json()["data"]
    assert results[0] == {"handle": f"{PREFIX}/B0000", "code": -2, "msg": "标识已存在", "reason": 2}
    async with db.session() as session:
        count = await session.scalar(
            sa.select(sa.func.count())
            .select_from(HandleRow)
            .where(HandleRow.key.like(f"{PREFIX}/B%"))
        )
        audits = await session.scalar(
            sa.select(sa.func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "handle.create")
            .where(AuditEntry.entity_id.like(f"{PREFIX}/B%"))
        )
    assert count == 47
    assert audits == 47
    # A changed item under the same handle is a conflict for create, fine for update.
    changed = [elevator("B0000", model="HL-3000")]
    conflict = await client.post("/identityv2/data/batchCreate", json=changed, headers=member)
    assert conflict.json()["data"][0]["reason"] == 101
    updated = await client.put("/identityv2/data/batchUpdate", json=changed, headers=member)
    assert updated.json()["data"][0]["code"] == 1
    model = await client.get(f"/api/handles/{PREFIX}/B0000?type=model")
    assert model.json()["values"][0]["data"]["value"] == "HL-3000"
    deleted = await client.request(
        "DELETE",
        "/identityv2/data/batchDelete",
        json=[f"{PREFIX}/B0000", {"handle": f"{PREFIX}/B0001"}, f"{PREFIX}/B9999"],
        headers=member,
    )
    assert [r.get("reason", r["code"]) for r in deleted.json()["data"]] == [1, 1, 100]
    assert (await client.get(f"/api/handles/{PREFIX}/B0000")).status_code == 404


async def test_batch_limit(client: httpx.AsyncClient, member: dict[str, str]) -> None:
    items = [{"handle": f"{PREFIX}/X{n}", "value": []} for n in range(2001)]
    response = await client.post("/identityv2/data/batchCreate", json=items, headers=member)
    assert response.status_code == 400
    assert "2000" in response.json()["message"]


async def test_single_update_and_delete(client: httpx.AsyncClient, member: dict[str, str]) -> None:
    await client.post("/identityv2/data", json=elevator("U1"), headers=member)
    updated = await client.put(
        "/identityv2/data",
        json=elevator("U1", maintenanceRecord="2026-11 年检合格"),
        headers=member,
    )
    assert updated.json()["status"] == 1
    missing = await client.put("/identityv2/data", json=elevator("U404"), headers=member)
    assert missing.status_code == 404
    assert missing.json()["status"] == -2
    gone = await client.delete(
        "/identityv2/data", params={"handle": f"{PREFIX}/U1"}, headers=member
    )
    assert gone.json()["status"] == 1
    again = await client.delete(
        "/identityv2/data", params={"handle": f"{PREFIX}/U1"}, headers=member
    )
    assert again.status_code == 404


async def test_template_crud(
    client: httpx.AsyncClient, member: dict[str, str], world: World
) -> None:
    listed = await client.get("/snms/api/v3/template", params={"prefix": NODE}, headers=member)
    assert {t["version"] for t in listed.json()["data"]} == {
        "elevator-1.0", "optical-cable-1.0", "fabric-1.0",
    }  # fmt: skip
    one = await client.get(
        "/snms/api/v3/template", params={"prefix": NODE, "version": "elevator-1.0"}, headers=member
    )
    assert one.json()["data"]["industrySubclass"] == "3435"
    body = {
        "prefix": PREFIX,
        "version": "lift-parts-1",
        "industrySubclass": "3435",
        "description": "零部件",
        "items": [{"name": "部件", "idType": "part", "required": True,
                   "metadata": {"type": "string", "minLength": 1, "maxLength": 20}}],
    }  # fmt: skip
    created = await client.post("/snms/api/v3/template", json=body, headers=member)
    assert created.json() == {"status": 1, "message": "success", "data": True}, created.text
    duplicate = await client.post("/snms/api/v3/template", json=body, headers=member)
    assert duplicate.status_code == 409
    bad = await client.post(
        "/snms/api/v3/template", json={**body, "version": "x", "items": []}, headers=member
    )
    assert bad.status_code == 400
    # The node's templates are the bureau's: an enterprise member may not publish there.
    node = await client.post("/snms/api/v3/template", json={**body, "prefix": NODE}, headers=member)
    assert node.status_code == 403
    assert node.json()["code"] == 701
    registered = await client.post(
        "/identityv2/data",
        json={"handle": f"{PREFIX}/P1", "templateVersion": "lift-parts-1",
              "value": [{"type": "part", "data": "曳引机"}]},
        headers=member,
    )  # fmt: skip
    assert registered.json()["status"] == 1, registered.text
    in_use = await client.put("/snms/api/v3/template", json=body, headers=member)
    assert in_use.status_code == 409
    delete = await client.delete(
        "/snms/api/v3/template",
        params={"prefix": PREFIX, "version": "lift-parts-1"},
        headers=member,
    )
    assert delete.status_code == 409
