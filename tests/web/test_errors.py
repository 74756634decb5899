"""Errors found by the API fuzzer that no route could answer better by itself."""

import httpx

from taihu.accounts import Role
from tests.conftest import World


async def test_text_with_a_nul_character_is_never_a_500(
    client: httpx.AsyncClient, world: World
) -> None:
    # Found by the API fuzzer on PostgreSQL, which refuses U+0000 in text (SQLite stores it).
    staff = await world.bearer("analyst", Role.BUREAU)
    made = await client.post("/api/monitor/lists", json={"name": "a\u0000b"}, headers=staff)
    assert made.status_code in {201, 400}, made.text
    if made.status_code == 400:
        assert made.json()["error"] == "bad_text"
    else:
        lists = (await client.get("/api/monitor/lists", headers=staff)).json()
        assert [item["name"] for item in lists] == ["a\u0000b"]
    audit = await client.get("/api/audit", params={"entity_type": "a\u0000"}, headers=staff)
    assert audit.status_code in {200, 400, 403}, audit.text
    admin = await world.bearer("root", Role.ADMIN)
    audit = await client.get("/api/audit", params={"entity_type": "a\u0000"}, headers=admin)
    assert audit.status_code in {200, 400}, audit.text
