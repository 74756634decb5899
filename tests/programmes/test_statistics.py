"""Award holders per township, industry class and chain: API, console, who may see them."""

from __future__ import annotations

import html
import json
import re
from datetime import date

import httpx
import pytest
import sqlalchemy as sa

from taihu.accounts import Principal, Role
from taihu.chains import SegmentTag, TagStatus
from taihu.core import Database, FrozenClock, PermissionDenied
from taihu.enterprises import Enterprise, townships
from taihu.programmes import ProgrammeService, RegistryService, holders_by, titles_held
from tests.conftest import CODE_A, CODE_B, World
from tests.web.test_console import sign_in

CODE_C = "91320509MA0TXT0377"
BUREAU = Principal("bureau", Role.BUREAU)


async def _district(world: World, db: Database, clock: FrozenClock) -> list[int]:
    """Three enterprises: two of one township and class, one without either; awards of each."""
    town = sorted(townships())[0]
    ids = [
        (await world.enterprise(name, code)).id
        for name, code in (("Silk", CODE_A), ("Cable", CODE_B), ("Loom", CODE_C))
    ]
    async with db.session() as session:
        for enterprise_id in ids[:2]:
            await session.execute(
                sa.update(Enterprise)
                .where(Enterprise.id == enterprise_id)
                .values(township_code=town, industry_code="3833")
            )
        # Silk in two chains (two segments of the fibre chain count once), Cable in none.
        for segment in ("fibre.chemicals", "fibre.cable", "poly.weaving"):
            session.add(
                SegmentTag(
                    enterprise_id=ids[0], segment_key=segment, status=TagStatus.CONFIRMED,
                    score=1.0, reason="test", created_at=clock.now(),
                )
            )  # fmt: skip
        session.add(
            SegmentTag(
                enterprise_id=ids[1], segment_key="fibre.cable", status=TagStatus.SUGGESTED,
                score=0.5, reason="test", created_at=clock.now(),
            )
        )  # fmt: skip
        programmes = ProgrammeService(session, clock)
        stars = await programmes.by_key("cloud_stars")
        pilot = await programmes.by_key("iiot_pilot")
        registry = RegistryService(session, clock)
        today = clock.now().date()
        for enterprise_id in ids:
            await registry.register(BUREAU, stars.id, enterprise_id, grade="3", since=today)
        # Lapsed: three years' validity ended before today.
        await registry.register(
            BUREAU, stars.id, ids[0], grade="2", since=date(today.year - 4, 1, 1)
        )
        await registry.register(BUREAU, pilot.id, ids[0], since=date(today.year - 1, 5, 1))
    return ids


async def test_holders_per_township_class_and_chain(
    world: World, db: Database, clock: FrozenClock
) -> None:
    await _district(world, db, clock)
    town = townships()[sorted(townships())[0]]
    today = clock.now().date()
    async with db.session() as session:
        by_town = await holders_by(session, BUREAU, "township", today=today)
        assert [(h.group, h.name_zh, h.programme, h.count) for h in by_town] == [
            ("", "", "cloud_stars", 1),
            (town.code, town.name_zh, "cloud_stars", 2),
            (town.code, town.name_zh, "iiot_pilot", 1),
        ]
        by_class = await holders_by(session, BUREAU, "industry", today=today)
        assert {(h.group, h.programme): h.count for h in by_class} == {
            ("", "cloud_stars"): 1, ("3833", "cloud_stars"): 2, ("3833", "iiot_pilot"): 1,
        }  # fmt: skip
        by_chain = await holders_by(session, BUREAU, "chain", today=today)
        counts = {(h.group, h.programme): h.count for h in by_chain}
        # A suggested tag is no membership: Cable counts under no chain, with Loom.
        assert counts[("", "cloud_stars")] == 2
        assert counts[("optical-fibre", "cloud_stars")] == 1
        assert counts[("optical-fibre", "iiot_pilot")] == 1
        assert sum(1 for group, _ in counts if group not in ("", "optical-fibre")) == 2
        # Lapsed awards count only when asked for every award ever.
        ever = await holders_by(session, BUREAU, "township", today=today, current=False)
        assert {(h.group, h.programme): h.count for h in ever}[(town.code, "cloud_stars")] == 2
        pilot = await ProgrammeService(session).by_key("iiot_pilot")
        only = await holders_by(session, BUREAU, "township", today=today, programme_id=pilot.id)
        assert [(h.programme, h.count) for h in only] == [("iiot_pilot", 1)]
        with pytest.raises(PermissionDenied):
            await holders_by(session, Principal("e", Role.ENTERPRISE), "township", today=today)


async def test_the_api_and_the_registry_page_show_the_breakdown(
    client: httpx.AsyncClient, world: World, db: Database, clock: FrozenClock
) -> None:
    ids = await _district(world, db, clock)
    bureau = await world.bearer("bureau", Role.BUREAU)
    answer = await client.get(
        "/api/programmes/awards/breakdown", params={"by": "chain"}, headers=bureau
    )
    assert answer.status_code == 200, answer.text
    rows = answer.json()
    assert {"group": "optical-fibre", "programme": "iiot_pilot", "count": 1}.items() <= next(
        r for r in rows if r["group"] == "optical-fibre" and r["programme"] == "iiot_pilot"
    ).items()
    refused = await client.get(
        "/api/programmes/awards/breakdown", params={"by": "planet"}, headers=bureau
    )
    assert refused.status_code == 422
    own = await world.bearer("silk", Role.ENTERPRISE, enterprises=(ids[0],))
    answer = await client.get(
        "/api/programmes/awards/breakdown", params={"by": "township"}, headers=own
    )
    assert answer.status_code == 403
    await sign_in(client, "bureau")
    page = await client.get("/programmes/registry", params={"by": "industry"})
    assert page.status_code == 200, page.text
    assert 'id="holders-table"' in page.text
    assert "未登记" in page.text  # Loom has no industry class
    assert '"series"' in page.text
    # The trend: awards per year, one line per programme.
    found = re.search(r'<script type="application/json" id="trend-data">(.*?)</script>', page.text)
    assert found
    trend = json.loads(html.unescape(found[1]))
    year = clock.now().year
    assert trend["years"] == [str(year - 4), str(year - 1), str(year)]
    assert {"name": "星级上云企业", "data": [1, 0, 3]} in trend["series"]
    assert {"name": "工业互联网试点示范项目", "data": [0, 1, 0]} in trend["series"]


async def test_the_bureau_home_counts_the_holders_per_programme(
    client: httpx.AsyncClient, world: World, db: Database, clock: FrozenClock
) -> None:
    ids = await _district(world, db, clock)
    await world.user("bureau", Role.BUREAU)
    await world.user("silk", Role.ENTERPRISE, enterprises=(ids[0],))
    await sign_in(client, "bureau")
    home = (await client.get("/")).text
    honours = home[home.index('id="honours"') :]
    honours = honours[: honours.index("</section>")]
    assert "星级上云企业</a>: 3 家企业" in honours
    assert "工业互联网试点示范项目</a>: 1 家企业" in honours
    assert "两化融合" not in honours  # programmes nobody holds are left out
    await sign_in(client, "silk")
    assert 'id="honours"' not in (await client.get("/")).text


async def test_the_wall_counts_titles_in_force_per_level_and_ever(
    client: httpx.AsyncClient, world: World, db: Database, clock: FrozenClock
) -> None:
    ids = await _district(world, db, clock)
    today = clock.now().date()
    async with db.session() as session:
        sme = await ProgrammeService(session, clock).by_key("specialised_sme")
        registry = RegistryService(session, clock)
        await registry.register(BUREAU, sme.id, ids[0], grade="little_giant", since=today)
        await registry.register(BUREAU, sme.id, ids[1], grade="provincial", since=today)
        # Lapsed long ago: counted in the cumulative figure only.
        await registry.register(
            BUREAU, sme.id, ids[2], grade="provincial", since=date(today.year - 5, 3, 1)
        )
        titles = {t["key"]: t for t in await titles_held(session, BUREAU, today=today)}
        with pytest.raises(PermissionDenied):
            await titles_held(session, Principal("silk", Role.ENTERPRISE), today=today)
        await session.commit()
    assert (titles["cloud_stars"]["current"], titles["cloud_stars"]["total"]) == (3, 3)
    assert titles["cloud_stars"]["levels"] == {"provincial": 3}
    assert titles["specialised_sme"]["levels"] == {"national": 1, "provincial": 1}
    assert (titles["specialised_sme"]["current"], titles["specialised_sme"]["total"]) == (2, 3)
    assert "two_integration" not in titles  # nobody holds it, nor ever did
    # The wall display carries them in its figures (drawn by wall.js; see the browser test).
    await world.user("bureau", Role.BUREAU)
    await sign_in(client, "bureau")
    wall = await client.get("/wall")
    assert wall.status_code == 200
    assert 'id="wall-title-rows"' in wall.text
    assert '"key": "specialised_sme"' in wall.text or '"key":"specialised_sme"' in wall.text
