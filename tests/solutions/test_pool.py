"""The pool: tag vocabulary, providers' own solutions, cases, search in both languages."""

from __future__ import annotations

import httpx
import sqlalchemy as sa

from taihu.accounts import AuditEntry
from taihu.core import Database
from tests.solutions.conftest import Pool, solution


async def _actions(db: Database) -> list[str]:
    async with db.session() as session:
        return list(await session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)))


async def test_the_vocabulary_is_seeded_and_only_an_admin_adds_to_it(
    client: httpx.AsyncClient, pool: Pool, db: Database
) -> None:
    tags = (await client.get("/api/solutions/tags", headers=pool.h["factory"])).json()
    names = {t["key"]: (t["name_zh"], t["name_en"]) for t in tags}
    assert names["device_cloud"] == ("设备上云", "Devices to the cloud")
    assert {"energy", "quality_trace", "predictive", "supply_chain", "identifier_apps"} <= set(
        names
    )
    new = {"key": "aps", "name_zh": "高级排产", "name_en": "Advanced scheduling"}
    denied = await client.post("/api/solutions/tags", json=new, headers=pool.h["bureau"])
    assert denied.status_code == 403
    added = await client.post("/api/solutions/tags", json=new, headers=pool.h["admin"])
    assert added.status_code == 201, added.text
    again = await client.post("/api/solutions/tags", json=new, headers=pool.h["admin"])
    assert again.status_code == 409
    assert "solution_tag.create" in await _actions(db)


async def test_a_provider_user_edits_only_its_own_solutions(
    client: httpx.AsyncClient, pool: Pool, db: Database
) -> None:
    own = await solution(client, pool, "vendor", pool.provider, tags=["energy"])
    # Another enterprise's user, and the provider's user on someone else's provider: refused.
    for who, provider in (("factory", pool.provider), ("vendor", pool.institute)):
        answer = await client.post(
            f"/api/solutions/providers/{provider}/solutions",
            json={"title_zh": "x", "title_en": "x"},
            headers=pool.h[who],
        )
        assert answer.status_code == 403, (who, answer.text)
    change = {"title_zh": "能耗管理平台", "title_en": "Energy platform", "tags": ["energy"]}
    stolen = await client.put(f"/api/solutions/{own['id']}", json=change, headers=pool.h["factory"])
    assert stolen.status_code == 403
    changed = await client.put(f"/api/solutions/{own['id']}", json=change, headers=pool.h["vendor"])
    assert changed.status_code == 200
    assert changed.json()["title_zh"] == "能耗管理平台"
    case = {"enterprise_name": "盛泽某织造厂", "change": "分项计量", "results": "能耗降 8%"}
    added = await client.post(
        f"/api/solutions/{own['id']}/cases", json=case, headers=pool.h["vendor"]
    )
    assert added.status_code == 201, added.text
    got = (await client.get(f"/api/solutions/{own['id']}", headers=pool.h["factory"])).json()
    assert [c["results"] for c in got["cases"]] == ["能耗降 8%"]
    actions = await _actions(db)
    for action in (
        "solution_provider.create",
        "solution.create",
        "solution.update",
        "solution_case.create",
    ):
        assert action in actions


async def test_bad_solutions_are_refused_with_a_reason(
    client: httpx.AsyncClient, pool: Pool
) -> None:
    url = f"/api/solutions/providers/{pool.institute}/solutions"
    base = {"title_zh": "x", "title_en": "x"}
    for extra, code in (
        ({"tags": ["no_such_tag"]}, "bad_tag"),
        ({"industry_codes": ["9999"]}, "bad_industry"),
        ({"price_min": 50, "price_max": 10}, "bad_price"),
    ):
        answer = await client.post(url, json=base | extra, headers=pool.h["bureau"])
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"] == code


async def test_search_by_text_in_either_language_tag_industry_and_segment(
    client: httpx.AsyncClient, pool: Pool
) -> None:
    energy = await solution(
        client,
        pool,
        "bureau",
        pool.institute,
        tags=["energy"],
        industry_codes=["1751"],
        summary="空压站分项计量",
    )
    trace = await solution(
        client,
        pool,
        "bureau",
        pool.provider,
        title_zh="光缆质量追溯",
        title_en="Cable traceability",
        tags=["quality_trace"],
        industry_codes=["3833"],
        segments=["fibre.cable"],
    )

    async def ids(**params: str) -> set[int]:
        answer = await client.get("/api/solutions", params=params, headers=pool.h["factory"])
        assert answer.status_code == 200, answer.text
        return {s["id"] for s in answer.json()}

    assert await ids() == {energy["id"], trace["id"]}
    assert await ids(q="追溯") == {trace["id"]}
    assert await ids(q="TRACEABILITY") == {trace["id"]}
    assert await ids(q="分项计量") == {energy["id"]}
    assert await ids(q="Energy management") == {energy["id"]}  # the tag's English name
    assert await ids(q="Taihu IIoT") == {trace["id"]}  # the provider's name
    assert await ids(tag="quality_trace") == {trace["id"]}
    assert await ids(industry="38") == {trace["id"]}  # a division finds its classes
    assert await ids(industry="17") == {energy["id"]}
    assert await ids(segment="fibre.cable") == {trace["id"]}
    assert await ids(q="追溯", tag="energy") == set()
