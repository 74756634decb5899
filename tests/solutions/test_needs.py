"""Matchmaking: a need's life cycle, who may take each step, isolation, history and audit."""

from __future__ import annotations

import httpx
import sqlalchemy as sa

from taihu.accounts import AuditEntry
from taihu.core import Database
from tests.solutions.conftest import Pool, solution


async def _step(
    client: httpx.AsyncClient, pool: Pool, who: str, need: int, **body: object
) -> httpx.Response:
    return await client.post(f"/api/solutions/needs/{need}/steps", json=body, headers=pool.h[who])


async def _post(client: httpx.AsyncClient, pool: Pool, who: str, enterprise: int) -> httpx.Response:
    body = {"enterprise_id": enterprise, "title": "空压机能耗监测", "tags": ["energy"]}
    return await client.post("/api/solutions/needs", json=body, headers=pool.h[who])


async def test_a_need_from_posting_through_match_and_work_to_its_outcome(
    client: httpx.AsyncClient, pool: Pool, db: Database
) -> None:
    offer = await solution(client, pool, "vendor", pool.provider, tags=["energy"])
    posted = await _post(client, pool, "factory", pool.factory)
    assert posted.status_code == 201, posted.text
    need = posted.json()
    assert need["status"] == "open"
    assert [e["action"] for e in need["events"]] == ["post"]
    nid = need["id"]
    # Only the bureau matches; the enterprise cannot close; a need cannot start before a match.
    assert (
        await _step(client, pool, "factory", nid, action="match", solution_id=offer["id"])
    ).status_code == 403
    assert (await _step(client, pool, "bureau", nid, action="start")).status_code == 409
    assert (await _step(client, pool, "bureau", nid, action="match")).status_code == 400
    matched = await _step(
        client,
        pool,
        "bureau",
        nid,
        action="match",
        solution_id=offer["id"],
        comment="推荐能耗管理方案",
    )
    assert matched.status_code == 200, matched.text
    assert (matched.json()["status"], matched.json()["provider_id"]) == ("matched", pool.provider)
    started = await _step(client, pool, "factory", nid, action="start", comment="已签约")
    assert started.json()["status"] == "in_progress"
    assert (
        await _step(
            client, pool, "factory", nid, action="close", outcome="resolved", comment="done"
        )
    ).status_code == 403
    no_outcome = await _step(client, pool, "bureau", nid, action="close", comment="上线")
    assert (no_outcome.status_code, no_outcome.json()["error"]) == (400, "bad_outcome")
    closed = await _step(
        client,
        pool,
        "bureau",
        nid,
        action="close",
        outcome="resolved",
        comment="平台已上线 月度电耗可视",
    )
    assert (closed.json()["status"], closed.json()["outcome"]) == ("closed", "resolved")
    assert [e["action"] for e in closed.json()["events"]] == ["post", "match", "start", "close"]
    late = await _step(client, pool, "factory", nid, action="withdraw")
    assert (late.status_code, late.json()["error"]) == (409, "bad_need_state")
    async with db.session() as session:
        actions = list(
            await session.scalars(
                sa.select(AuditEntry.action).where(AuditEntry.entity_type == "solution_need")
            )
        )
    assert actions == [
        "solution_need.post",
        "solution_need.match",
        "solution_need.start",
        "solution_need.close",
    ]


async def test_an_enterprise_sees_only_its_own_needs_and_may_withdraw_them(
    client: httpx.AsyncClient, pool: Pool
) -> None:
    assert (await _post(client, pool, "factory", pool.provider_firm)).status_code == 403
    own = (await _post(client, pool, "factory", pool.factory)).json()
    other = (await _post(client, pool, "vendor", pool.provider_firm)).json()
    mine = (await client.get("/api/solutions/needs", headers=pool.h["factory"])).json()
    assert [n["id"] for n in mine] == [own["id"]]
    everything = (await client.get("/api/solutions/needs", headers=pool.h["bureau"])).json()
    assert {n["id"] for n in everything} == {own["id"], other["id"]}
    hidden = await client.get(f"/api/solutions/needs/{other['id']}", headers=pool.h["factory"])
    assert hidden.status_code == 404
    foreign = await _step(client, pool, "factory", other["id"], action="withdraw")
    assert foreign.status_code == 404
    withdrawn = await _step(client, pool, "factory", own["id"], action="withdraw")
    assert withdrawn.json()["status"] == "withdrawn"
    open_only = await client.get(
        "/api/solutions/needs", params={"status": "open"}, headers=pool.h["bureau"]
    )
    assert [n["id"] for n in open_only.json()] == [other["id"]]
