"""The Handle.Net-compatible REST API through the application, on a real database."""

from __future__ import annotations

import base64

import httpx
import pytest
import sqlalchemy as sa

from taihu.accounts import AuditEntry, Role
from taihu.core import Database
from tests.conftest import CODE_B, World
from tests.identifiers.conftest import ADMIN, PREFIX, SECRET, basic

H = f"{PREFIX}/ELV-0001"
URL = "https://lift.example/ELV-0001"

pytestmark = pytest.mark.usefixtures("prefixes")


async def _create(client: httpx.AsyncClient, handle: str = H, **params: str) -> httpx.Response:
    body = {
        "values": [
            {"index": 1, "type": "URL", "data": {"format": "string", "value": URL}},
            {"index": 2, "type": "EMAIL", "data": "ops@lift.example"},  # bare string (pyhandle)
            {
                "index": 3,
                "type": "SERIAL",
                "data": {"format": "string", "value": "private"},
                "permissions": "1100",
            },
        ]
    }
    return await client.put(f"/api/handles/{handle}", json=body, params=params, headers=ADMIN)


async def test_create_then_resolve(client: httpx.AsyncClient) -> None:
    created = await _create(client)
    assert created.status_code == 201, created.text
    assert created.json() == {"responseCode": 1, "handle": H}
    got = await client.get(f"/api/handles/{H}")
    assert got.status_code == 200
    body = got.json()
    assert body["responseCode"] == 1
    assert body["handle"] == H
    by_index = {v["index"]: v for v in body["values"]}
    assert by_index[1]["data"] == {"format": "string", "value": URL}
    assert by_index[1]["ttl"] == 86400
    assert by_index[1]["timestamp"] == "2026-11-25T08:00:00Z"
    assert by_index[2]["data"]["value"] == "ops@lift.example"
    assert 3 not in by_index, "a non-public value leaked to an anonymous reader"
    # The default HS_ADMIN names the authenticated admin.
    admin = next(v for v in body["values"] if v["type"] == "HS_ADMIN")
    assert admin["index"] == 100
    assert admin["data"] == {
        "format": "admin",
        "value": {"handle": f"{PREFIX}/ADMIN", "index": 300, "permissions": "111111111111"},
    }


async def test_admin_sees_private_values_unless_public_only(client: httpx.AsyncClient) -> None:
    await _create(client)
    mine = (await client.get(f"/api/handles/{H}", headers=ADMIN)).json()
    assert 3 in {v["index"] for v in mine["values"]}
    public = await client.get(f"/api/handles/{H}", params={"publicOnly": "true"}, headers=ADMIN)
    assert 3 not in {v["index"] for v in public.json()["values"]}


async def test_type_and_index_filters(client: httpx.AsyncClient) -> None:
    await _create(client)
    by_type = (await client.get(f"/api/handles/{H}", params={"type": "URL"})).json()
    assert [v["index"] for v in by_type["values"]] == [1]
    both = await client.get(f"/api/handles/{H}?index=1&index=2")
    assert [v["index"] for v in both.json()["values"]] == [1, 2]
    none = await client.get(f"/api/handles/{H}", params={"type": "NOPE"})
    assert none.status_code == 200
    assert none.json()["responseCode"] == 200


async def test_existing_handle_needs_overwrite(client: httpx.AsyncClient) -> None:
    await _create(client)
    again = await _create(client)
    assert again.status_code == 409
    assert again.json()["responseCode"] == 101
    replaced = await client.put(
        f"/api/handles/{H}",
        params={"overwrite": "true"},
        json={"values": [{"index": 1, "type": "URL", "data": "https://new.example"}]},
        headers=ADMIN,
    )
    assert replaced.status_code == 200
    values = (await client.get(f"/api/handles/{H}")).json()["values"]
    assert {v["type"] for v in values} == {"URL", "HS_ADMIN"}


async def test_index_parameter_modifies_only_those_values(client: httpx.AsyncClient) -> None:
    await _create(client)
    changed = await client.put(
        f"/api/handles/{H}?index=1&index=7&overwrite=true",
        json={
            "values": [
                {"index": 1, "type": "URL", "data": "https://moved.example"},
                {"index": 7, "type": "NOTE", "data": "added"},
            ]
        },
        headers=ADMIN,
    )
    assert changed.status_code == 200, changed.text
    values = {v["index"]: v for v in (await client.get(f"/api/handles/{H}")).json()["values"]}
    assert values[1]["data"]["value"] == "https://moved.example"
    assert values[2]["data"]["value"] == "ops@lift.example"
    assert values[7]["data"]["value"] == "added"
    stray = await client.put(
        f"/api/handles/{H}?index=1",
        json={"values": [{"index": 2, "type": "URL", "data": "x"}]},
        headers=ADMIN,
    )
    assert stray.status_code == 400
    assert stray.json()["responseCode"] == 202


async def test_delete_values_then_handle(client: httpx.AsyncClient) -> None:
    await _create(client)
    removed = await client.delete(f"/api/handles/{H}?index=2", headers=ADMIN)
    assert removed.status_code == 200
    left = (await client.get(f"/api/handles/{H}")).json()["values"]
    assert 2 not in {v["index"] for v in left}
    gone = await client.delete(f"/api/handles/{H}", headers=ADMIN)
    assert gone.json() == {"responseCode": 1, "handle": H}
    missing = await client.get(f"/api/handles/{H}")
    assert missing.status_code == 404
    assert missing.json()["responseCode"] == 100


async def test_mint_new_suffix(client: httpx.AsyncClient) -> None:
    minted = await client.post(
        f"/api/handles/{PREFIX}/?mintNewSuffix=true",
        json={"values": [{"index": 1, "type": "URL", "data": URL}]},
        headers=ADMIN,
    )
    assert minted.status_code == 201, minted.text
    handle = minted.json()["handle"]
    assert handle.startswith(f"{PREFIX}/")
    assert len(handle) > len(PREFIX) + 30
    assert (await client.get(f"/api/handles/{handle}")).status_code == 200


async def test_prefix_and_suffix_are_case_insensitive(client: httpx.AsyncClient) -> None:
    await _create(client, f"{PREFIX}/Abc")
    assert (await client.get(f"/api/handles/{PREFIX.lower()}/Abc")).status_code == 200
    assert (await client.get(f"/api/handles/{PREFIX}/ABC")).status_code == 200


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/api/handles/no-slash", 400, 102),
        ("/api/handles/88.118.8/", 400, 102),
        ("/api/handles/99.999/X", 404, 301),
        ("/api/handles/88.118.8/X?index=one", 400, 202),
    ],
)
async def test_malformed_resolution(
    client: httpx.AsyncClient, path: str, status: int, code: int
) -> None:
    response = await client.get(path)
    assert response.status_code == status
    assert response.json()["responseCode"] == code


async def test_oversized_value_and_message(client: httpx.AsyncClient) -> None:
    big = {"values": [{"index": 1, "type": "DATA", "data": "x" * (64 * 1024 + 1)}]}
    response = await client.put(f"/api/handles/{H}", json=big, headers=ADMIN)
    assert response.status_code == 400
    assert "64 KiB" in response.json()["message"]
    huge = {"values": [{"index": i, "type": "D", "data": "x" * 60000} for i in range(1, 6)]}
    response = await client.put(f"/api/handles/{H}", json=huge, headers=ADMIN)
    assert response.status_code == 400
    assert "256 KiB" in response.json()["message"]


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b'{"values": {}}',
        b'{"values": [{"index": 0, "type": "URL", "data": "x"}]}',
        b'{"values": [{"index": 1, "type": "URL", "data": {"format": "hex", "value": "zz"}}]}',
        b'{"values": [{"index": 1, "type": "URL", "data": {"format": "site", "value": "x"}}]}',
        b'{"values": [{"index": 1, "type": "A", "data": "x"}, {"index": 1, "type": "B"}]}',
        b'{"values": [{"index": 1, "type": "HS_ADMIN", "data": {"format": "admin", '
        b'"value": {"handle": "0.NA/88", "index": "200", "permissions": "12"}}}]}',
    ],
)
async def test_malformed_values(client: httpx.AsyncClient, body: bytes) -> None:
    response = await client.put(f"/api/handles/{H}", content=body, headers=ADMIN)
    assert response.status_code == 400, response.text
    assert response.json()["responseCode"] == 202


async def test_credentials(client: httpx.AsyncClient, world: World) -> None:
    value = {"values": [{"index": 1, "type": "URL", "data": URL}]}
    anonymous = await client.put(f"/api/handles/{H}", json=value)
    assert anonymous.status_code == 401
    assert anonymous.json()["responseCode"] == 402
    wrong = await client.put(
        f"/api/handles/{H}", json=value, headers=basic(f"300:{PREFIX}/ADMIN", "wrong")
    )
    assert wrong.status_code == 403
    assert wrong.json()["responseCode"] == 403
    raw = await client.put(  # an unencoded user name works too
        f"/api/handles/{H}",
        json=value,
        headers={"Authorization": "Basic " + _b64(f"300:{PREFIX}/ADMIN:{SECRET}")},
    )
    assert raw.status_code == 201


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


async def test_other_enterprise_is_refused(
    client: httpx.AsyncClient, world: World, prefixes: int
) -> None:
    other = await world.enterprise("Other Cable", CODE_B)
    stranger = await world.bearer("stranger", Role.ENTERPRISE, enterprises=(other.id,))
    member = await world.bearer("member", Role.ENTERPRISE, enterprises=(prefixes,))
    value = {"values": [{"index": 1, "type": "URL", "data": URL}]}
    refused = await client.put(f"/api/handles/{H}", json=value, headers=stranger)
    assert refused.status_code == 403
    assert refused.json()["responseCode"] == 401
    accepted = await client.put(f"/api/handles/{H}", json=value, headers=member)
    assert accepted.status_code == 201
    assert (await client.delete(f"/api/handles/{H}", headers=stranger)).status_code == 403
    # The node admin administers its enterprise prefixes; another prefix's admin does not.
    node = basic("300:88.118/ADMIN", "node-" + SECRET)
    assert (await client.delete(f"/api/handles/{H}?index=1", headers=node)).status_code == 200


async def test_writes_are_audited_with_before_and_after(
    client: httpx.AsyncClient, db: Database
) -> None:
    await _create(client)
    await client.delete(f"/api/handles/{H}", headers=ADMIN)
    async with db.session() as session:
        entries = list(
            await session.scalars(
                sa.select(AuditEntry).where(AuditEntry.entity_id == H).order_by(AuditEntry.id)
            )
        )
    assert [e.action for e in entries] == ["handle.create", "handle.delete"]
    assert entries[0].actor == f"300:{PREFIX}/ADMIN"
    assert entries[0].before is None
    assert entries[1].after is None
    assert entries[1].before is not None
    assert any(v["type"] == "URL" for v in entries[1].before["values"])


async def test_listing_and_reverse_lookup(client: httpx.AsyncClient) -> None:
    await _create(client)
    await _create(client, f"{PREFIX}/ELV-0002")
    listed = await client.get("/api/handles", params={"prefix": PREFIX}, headers=ADMIN)
    assert listed.status_code == 200
    assert listed.json()["handles"] == [f"{PREFIX}/ADMIN", H, f"{PREFIX}/ELV-0002"]
    paged = await client.get(f"/api/handles?prefix={PREFIX}&page=1&pageSize=2", headers=ADMIN)
    assert paged.json()["handles"] == [f"{PREFIX}/ELV-0002"]
    assert paged.json()["totalCount"] == "3"
    assert (await client.get("/api/handles", params={"prefix": PREFIX})).status_code == 401
    found = await client.get("/hrls/handles/", params={"URL": URL}, headers=ADMIN)
    assert found.json() == [H, f"{PREFIX}/ELV-0002"]
    wild = await client.get("/hrls/handles/", params={"URL": "*elv-0001"}, headers=ADMIN)
    assert wild.json() == [H, f"{PREFIX}/ELV-0002"]
    nothing = await client.get("/hrls/handles/", params={"EMAIL": "nobody@x"}, headers=ADMIN)
    assert nothing.json() == []


async def test_fast_path_is_counted_under_its_route(client: httpx.AsyncClient) -> None:
    await _create(client)
    await client.get(f"/api/handles/{H}")
    metrics = (await client.get("/metrics")).text
    assert 'route="/api/handles/{handle}"' in metrics


async def test_basic_credentials_over_plain_http_from_afar_are_refused(app: object) -> None:
    # A client that is not on loopback, as a remote caller without TLS would be.
    transport = httpx.ASGITransport(app=app, client=("192.0.2.7", 40000))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://taihu.test") as remote:
        refused = await remote.put(
            f"/api/handles/{H}", json={"values": [{"index": 1, "type": "URL", "data": URL}]},
            headers=ADMIN,
        )  # fmt: skip
    assert refused.status_code == 403
    assert refused.json()["responseCode"] == 402
    assert "HTTPS" in refused.json()["message"]
