"""SNMS routes checked against the public SNMS documentation (teleinfo-dev/id-guide, docs/openApi).

Each test names the page it was written from; the shapes asserted are the documented ones.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from taihu.accounts import AuditEntry, Role
from taihu.core import Database
from tests.conftest import PASSWORD, World
from tests.identifiers.conftest import NODE, PREFIX, elevator

pytestmark = pytest.mark.usefixtures("templates")

DONE = {"message": "success", "status": 1, "data": True}


@pytest.fixture
async def member(world: World, templates: int) -> dict[str, str]:
    """A bearer header of a member of the prefix's owner enterprise."""
    return await world.bearer("lift-erp", Role.ENTERPRISE, enterprises=(templates,))


def _parts_template(**item: Any) -> dict[str, Any]:
    return {
        "prefix": PREFIX,
        "version": "parts-1.0",
        "industryCategory": "C",
        "industrySpecific": "34",
        "industryTrade": "343",
        "industrySubclass": "3435",
        "type": 1,
        "description": "零部件",
        "items": [
            {"name": "部件", "idType": "part", "required": True,
             "metadata": {"type": "string", "minLength": 1, "maxLength": 20}, **item},
            {"name": "批次", "idType": "lot", "required": False,
             "metadata": {"type": "string", "minLength": 1, "maxLength": 20}},
        ],
    }  # fmt: skip


async def audits(db: Database, action: str) -> int:
    """How many audit entries of one action there are."""
    async with db.session() as session:
        count = await session.scalar(
            sa.select(sa.func.count()).select_from(AuditEntry).where(AuditEntry.action == action)
        )
    return int(count or 0)


async def test_token_plain(client: httpx.AsyncClient, member: dict[str, str]) -> None:
    """docs/openApi/v5/identity-auth.md, 明文传输: token in data.token; a wrong one is -2, null."""
    good = await client.post("/identity/token", json={"username": "lift-erp", "password": PASSWORD})
    assert good.json()["status"] == 1
    assert good.json()["message"] == "success"
    assert isinstance(good.json()["data"]["token"], str)
    bad = await client.post("/identity/token", json={"username": "lift-erp", "password": "nope"})
    assert bad.json()["status"] == -2
    assert bad.json()["data"] is None


async def test_single_writes_answer_true(
    client: httpx.AsyncClient, member: dict[str, str], db: Database
) -> None:
    """docs/openApi/v5/handle-operate.md, 注册/更新/删除标识: each answers ``data: true``."""
    created = await client.post("/identityv2/data", json=elevator("D1"), headers=member)
    assert created.json() == DONE
    updated = await client.put("/identityv2/data", json=elevator("D1", model="X"), headers=member)
    assert updated.json() == DONE
    # The documented delete sends the handle in the body.
    deleted = await client.request(
        "DELETE", "/identityv2/data", json={"handle": f"{PREFIX}/D1"}, headers=member
    )
    assert deleted.json() == DONE
    missing = await client.request(
        "DELETE", "/identityv2/data", json={"handle": f"{PREFIX}/D1"}, headers=member
    )
    assert missing.json()["status"] == -2
    assert missing.json()["data"] is None
    assert await audits(db, "handle.create") >= 1
    assert await audits(db, "handle.delete") >= 1


async def test_reserved_template_index(client: httpx.AsyncClient, member: dict[str, str]) -> None:
    """docs/openApi/v5/handle-operate.md, 注意事项: value[i].index may not be 1001 (reserved)."""
    body = elevator("R1")
    body["value"] = [{**body["value"][0], "index": 1001}, *body["value"][1:]]  # type: ignore[index]
    refused = await client.post("/identityv2/data", json=body, headers=member)
    assert refused.status_code == 400
    assert refused.json()["status"] == -2
    assert "1001" in refused.json()["message"]
    assert (await client.get(f"/api/handles/{PREFIX}/R1")).status_code == 404


async def test_batch_create_lists_handle_and_msg(
    client: httpx.AsyncClient, member: dict[str, str]
) -> None:
    """docs/openApi/v5/handle-operate.md, 批量注册标识: data is a list of {handle, msg} in order;
    an existing identifier answers msg 标识已存在."""
    items = [elevator("C1"), elevator("C2")]
    first = await client.post("/identityv2/data/batchCreate", json=items, headers=member)
    assert first.json()["status"] == 1
    assert [(r["handle"], r["msg"]) for r in first.json()["data"]] == [
        (f"{PREFIX}/C1", "success"), (f"{PREFIX}/C2", "success"),
    ]  # fmt: skip
    again = await client.post(
        "/identityv2/data/batchCreate", json=[elevator("C3"), elevator("C1")], headers=member
    )
    assert [(r["handle"], r["msg"]) for r in again.json()["data"]] == [
        (f"{PREFIX}/C3", "success"), (f"{PREFIX}/C1", "标识已存在"),
    ]  # fmt: skip
    # Other values under an existing handle: exists as well (batchUpdate changes them).
    other = await client.post(
        "/identityv2/data/batchCreate", json=[elevator("C2", model="HL-9")], headers=member
    )
    assert other.json()["data"][0]["msg"] == "标识已存在"


async def test_batch_update_is_put(client: httpx.AsyncClient, member: dict[str, str]) -> None:
    """docs/openApi/v5/handle-operate.md, 批量更新标识: PUT, answered as batchCreate."""
    await client.post("/identityv2/data/batchCreate", json=[elevator("U1")], headers=member)
    updated = await client.put(
        "/identityv2/data/batchUpdate", json=[elevator("U1", model="HL-9")], headers=member
    )
    assert updated.json()["data"] == [{"handle": f"{PREFIX}/U1", "code": 1, "msg": "success"}]
    model = await client.get(f"/api/handles/{PREFIX}/U1?type=model")
    assert model.json()["values"][0]["data"]["value"] == "HL-9"


async def test_batch_delete_is_delete(client: httpx.AsyncClient, member: dict[str, str]) -> None:
    """docs/openApi/v5/handle-operate.md, 批量删除标识: DELETE with a list of handles; per item
    {handle, code, msg}, code 1 success, -2 with 标识不存在 for a missing one."""
    await client.post("/identityv2/data/batchCreate", json=[elevator("X1")], headers=member)
    deleted = await client.request(
        "DELETE",
        "/identityv2/data/batchDelete",
        json=[f"{PREFIX}/X1", f"{PREFIX}/X2"],
        headers=member,
    )
    assert deleted.status_code == 200
    answer = deleted.json()
    assert (answer["status"], answer["message"]) == (1, "success")
    assert answer["data"][0] == {"handle": f"{PREFIX}/X1", "code": 1, "msg": "success"}
    assert {k: answer["data"][1][k] for k in ("handle", "code", "msg")} == {
        "handle": f"{PREFIX}/X2", "code": -2, "msg": "标识不存在",
    }  # fmt: skip
    assert (await client.get(f"/api/handles/{PREFIX}/X1")).status_code == 404


@pytest.mark.parametrize("version", ["v3", "v5"])
async def test_template_routes(
    client: httpx.AsyncClient, member: dict[str, str], db: Database, version: str
) -> None:
    """docs/openApi/v5/template.md and docs/openApi/v3/template.md: GET one version; POST, PUT
    and DELETE (body {prefix, version}) answer ``data: true``; v5 items carry idIndex."""
    path = f"/snms/api/{version}/template"
    created = await client.post(path, json=_parts_template(idIndex="2000"), headers=member)
    assert created.json() == DONE, created.text
    got = await client.get(path, params={"prefix": PREFIX, "version": "parts-1.0"}, headers=member)
    data = got.json()["data"]
    assert (data["prefix"], data["version"], data["industrySubclass"]) == (
        PREFIX, "parts-1.0", "3435",
    )  # fmt: skip
    assert [(i["idType"], i["idIndex"]) for i in data["items"]] == [("part", 2000), ("lot", 2001)]
    changed = _parts_template(required=False)
    assert (await client.put(path, json=changed, headers=member)).json() == DONE
    assert await audits(db, "template.create") >= 1
    assert await audits(db, "template.update") >= 1
    gone = await client.request(
        "DELETE", path, json={"prefix": PREFIX, "version": "parts-1.0"}, headers=member
    )
    assert gone.json() == DONE
    missing = await client.get(
        path, params={"prefix": PREFIX, "version": "parts-1.0"}, headers=member
    )
    assert missing.json()["status"] == -2
    assert missing.json()["data"] is None


async def test_template_index_is_the_registration_index(
    client: httpx.AsyncClient, member: dict[str, str]
) -> None:
    """docs/openApi/v5/template.md (items[i].idIndex) with handle-operate.md (index and type as in
    the template): the idIndex a template gives is the index a client registers at."""
    template = await client.get(
        "/snms/api/v5/template", params={"prefix": NODE, "version": "elevator-1.0"}, headers=member
    )
    items = template.json()["data"]["items"]
    assert [i["idIndex"] for i in items] == list(range(2000, 2000 + len(items)))
    sent = elevator("I1")
    by_type = {i["idType"]: i["idIndex"] for i in items}
    values: list[dict[str, Any]] = sent["value"]  # type: ignore[assignment]
    sent["value"] = [{**v, "index": by_type[v["type"]]} for v in values]
    assert (await client.post("/identityv2/data", json=sent, headers=member)).json() == DONE
    # Sent without indexes, in another order: each value still lands at its item's idIndex.
    unindexed = {**elevator("I2"), "value": values[::-1]}
    assert (await client.post("/identityv2/data", json=unindexed, headers=member)).json() == DONE
    for suffix in ("I1", "I2"):
        detail = await client.get(
            "/identityv2/data/detail", params={"handle": f"{PREFIX}/{suffix}"}, headers=member
        )
        shown = {v["type"]: v["index"] for v in detail.json()["data"]["value"]}
        assert shown.pop("TEMPLATE") == 1001
        shown.pop("HS_ADMIN", None)
        assert shown == {v["type"]: by_type[v["type"]] for v in values}


async def test_template_index_must_match(client: httpx.AsyncClient, member: dict[str, str]) -> None:
    """docs/openApi/v5/template.md, 新增数据模板: idIndex given per item; Taihu numbers items from
    2000 in order, so another number is refused rather than silently changed."""
    refused = await client.post(
        "/snms/api/v5/template", json=_parts_template(idIndex=1999), headers=member
    )
    assert refused.status_code == 400
    assert refused.json()["status"] == -2
    assert "idIndex 1999" in refused.json()["message"]


async def test_template_writes_need_the_prefix(
    client: httpx.AsyncClient, world: World, member: dict[str, str]
) -> None:
    """docs/openApi/v5/template.md: writes are the prefix admins'; others get -2 (code 701)."""
    stranger = await world.bearer("reader", Role.ENTERPRISE)
    refused = await client.post("/snms/api/v5/template", json=_parts_template(), headers=stranger)
    assert refused.status_code == 403
    assert refused.json()["status"] == -2
    anonymous = await client.request(
        "DELETE", "/snms/api/v5/template", json={"prefix": PREFIX, "version": "elevator-1.0"}
    )
    assert anonymous.status_code == 401


async def test_openapi_documents_the_routes(client: httpx.AsyncClient) -> None:
    """The documented v3/v5 routes are in the OpenAPI description with examples."""
    paths = (await client.get("/openapi.json")).json()["paths"]
    for path, methods in {
        "/snms/api/v5/template": ("get", "post", "put", "delete"),
        "/snms/api/v3/template": ("get", "post", "put", "delete"),
        "/identityv2/data/batchUpdate": ("put",),
        "/identityv2/data/batchDelete": ("delete",),
    }.items():
        for method in methods:
            answer = paths[path][method]["responses"]["200"]["content"]["application/json"]
            assert "example" in answer, (path, method)


async def test_hashed_sign_in_is_refused_in_the_envelope(client: httpx.AsyncClient) -> None:
    """docs/openApi/v5/identity-auth.md, 密文传输: the route exists and answers in the SNMS
    envelope; Taihu cannot check sha256(sha256(password) + day) against salted hashes."""
    answer = await client.post(
        "/identity/token/v1", json={"username": "lift-erp", "password": "0" * 64}
    )
    assert answer.status_code == 400
    assert answer.json()["status"] == -2
    assert answer.json()["data"] is None
    assert "/identity/token" in answer.json()["message"]
