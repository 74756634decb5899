"""Suggestions from an enterprise's industry, its chains' gaps and what it lacks; guides."""

from __future__ import annotations

import httpx

from taihu.chains import SegmentTag, TagStatus
from taihu.core import Database, utcnow
from taihu.enterprises import Enterprise
from tests.solutions.conftest import Pool, solution


async def _suggested(client: httpx.AsyncClient, pool: Pool, who: str) -> dict[str, list[str]]:
    answer = await client.get(
        "/api/solutions/suggestions", params={"enterprise_id": pool.factory}, headers=pool.h[who]
    )
    assert answer.status_code == 200, answer.text
    return {s["solution"]["title_en"]: s["reasons"] for s in answer.json()}


async def test_suggestions_from_industry_chain_gaps_and_lacks(
    client: httpx.AsyncClient, pool: Pool, db: Database
) -> None:
    async with db.session() as session:
        firm = await session.get(Enterprise, pool.factory)
        assert firm is not None
        firm.industry_code = "3833"
        # A cable maker placed in the fibre chain: no local preform maker, a 补链 gap.
        session.add(
            SegmentTag(
                enterprise_id=pool.factory,
                segment_key="fibre.cable",
                status=TagStatus.CONFIRMED,
                score=1.0,
                reason="test",
                created_at=utcnow(),
            )
        )
    await solution(
        client, pool, "bureau", pool.institute, title_en="Cable MES", industry_codes=["3833"]
    )
    await solution(
        client,
        pool,
        "bureau",
        pool.institute,
        title_en="Preform sourcing",
        segments=["fibre.preform"],
    )
    await solution(
        client, pool, "bureau", pool.provider, title_en="Devices kit", tags=["device_cloud"]
    )
    await solution(
        client,
        pool,
        "bureau",
        pool.provider,
        title_en="Cloud stars coaching",
        tags=["enterprise_cloud"],
    )
    await solution(
        client, pool, "bureau", pool.provider, title_en="Codes", tags=["identifier_apps"]
    )
    await solution(
        client,
        pool,
        "bureau",
        pool.provider,
        title_en="Textile energy",
        industry_codes=["1751"],
        tags=["energy"],
    )
    found = await _suggested(client, pool, "factory")
    assert "Textile energy" not in found  # nothing ties it to this enterprise
    assert found["Cable MES"] == ["fits its industry class 3833"]
    assert found["Preform sourcing"] == ["fills a chain gap: no local enterprise in 光纤预制棒"]
    assert found["Devices kit"] == ["no device connected to the platform yet"]
    assert found["Codes"] == ["no identifier prefix registered yet"]
    assert found["Cloud stars coaching"] == ["not yet a star-rated cloud enterprise"]
    # Once the registry holds a 星级上云 award, that lack is gone.
    programmes = (await client.get("/api/programmes", headers=pool.h["bureau"])).json()
    stars = next(p for p in programmes if p["key"] == "cloud_stars")
    award = await client.post(
        "/api/programmes/awards",
        headers=pool.h["bureau"],
        json={
            "programme_id": stars["id"],
            "enterprise_id": pool.factory,
            "grade": "3",
            "since": "2025-06-01",
        },
    )
    assert award.status_code == 201, award.text
    assert "Cloud stars coaching" not in await _suggested(client, pool, "bureau")
    # Another enterprise's user reads nothing of it.
    hidden = await client.get(
        "/api/solutions/suggestions",
        params={"enterprise_id": pool.factory},
        headers=pool.h["vendor"],
    )
    assert hidden.status_code == 404
    providers = await client.get(
        "/api/solutions/segment-providers",
        params={"segment": "fibre.preform"},
        headers=pool.h["bureau"],
    )
    assert [p["id"] for p in providers.json()] == [pool.institute]


async def test_a_published_guide_is_a_public_page_and_a_draft_is_not(
    client: httpx.AsyncClient, pool: Pool
) -> None:
    offer = await solution(
        client,
        pool,
        "vendor",
        pool.provider,
        title_zh="光缆质量追溯",
        title_en="Cable traceability",
    )
    await client.post(
        f"/api/solutions/{offer['id']}/cases",
        headers=pool.h["vendor"],
        json={
            "enterprise_name": "松陵某光缆厂",
            "change": "盘具赋码",
            "results": "客诉定位 2 小时",
        },
    )
    guide = {
        "industry_code": "3833",
        "title_zh": "光缆行业应用指南",
        "title_en": "Cable guide",
        "body": "三步走",
        "solution_ids": [offer["id"]],
    }
    refused = await client.post("/api/solutions/guides", json=guide, headers=pool.h["factory"])
    assert refused.status_code == 403
    draft = (
        await client.post("/api/solutions/guides", json=guide, headers=pool.h["bureau"])
    ).json()
    anonymous = httpx.AsyncClient(transport=client._transport, base_url=str(client.base_url))
    assert (await anonymous.get(f"/guides/{draft['id']}")).status_code == 404
    seen = await client.get("/api/solutions/guides", headers=pool.h["factory"])
    assert seen.json() == []
    published = await client.put(
        f"/api/solutions/guides/{draft['id']}",
        json=guide | {"published": True},
        headers=pool.h["bureau"],
    )
    assert published.status_code == 200, published.text
    page = await anonymous.get(f"/guides/{draft['id']}", headers={"Accept-Language": "zh-CN"})
    assert page.status_code == 200
    assert "光缆行业应用指南" in page.text
    assert "客诉定位 2 小时" in page.text
    listing = await anonymous.get("/guides")
    assert f'href="/guides/{draft["id"]}"' in listing.text
    bad = await client.post(
        "/api/solutions/guides", headers=pool.h["bureau"], json=guide | {"solution_ids": [99999]}
    )
    assert bad.status_code == 400
