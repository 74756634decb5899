"""Statistics and listings: SNMS list and statistics routes, the console's breakdown, Prometheus."""

from __future__ import annotations

import re
from datetime import date

import httpx
import pytest
from prometheus_client import REGISTRY

from taihu.accounts import Role
from taihu.core import Database
from taihu.identifiers import IdentifierService
from tests.conftest import CODE_B, World
from tests.identifiers.conftest import NODE, PREFIX, elevator
from tests.web.test_console import sign_in

pytestmark = pytest.mark.usefixtures("templates")


@pytest.fixture
async def member(world: World, templates: int) -> dict[str, str]:
    """A bearer header of a member of the prefix's owner enterprise."""
    return await world.bearer("lift-erp", Role.ENTERPRISE, enterprises=(templates,))


def _registered() -> float:
    return REGISTRY.get_sample_value("taihu_identifier_registrations_total") or 0.0


async def test_list_pages_through_a_prefix(
    client: httpx.AsyncClient, member: dict[str, str], world: World
) -> None:
    batch = [elevator(f"L{n:02d}") for n in range(12)]
    before = _registered()
    answer = await client.post("/identityv2/data/batchCreate", json=batch, headers=member)
    assert [r["code"] for r in answer.json()["data"]] == [1] * 12
    assert _registered() - before == 12  # batch registrations reach Prometheus too
    first = await client.get(
        "/identityv2/data/list", params={"prefix": PREFIX, "pageSize": 5}, headers=member
    )
    data = first.json()["data"]
    assert data["pager"] == {"page": 1, "pageSize": 5, "total": 13, "totalPage": 3}
    # 13: the prefix's own admin handle PREFIX/ADMIN is an identifier under it as well.
    assert [e["handle"] for e in data["list"]] == [f"{PREFIX}/ADMIN"] + [
        f"{PREFIX}/L{n:02d}" for n in range(4)
    ]
    assert data["list"][1]["templateVersion"] == "elevator-1.0"
    assert data["list"][1]["createTime"] == "2026-11-25T08:00:00Z"
    last = await client.get(
        "/identityv2/data/list",
        params={"prefix": PREFIX, "pageSize": 5, "page": 3},
        headers=member,
    )
    assert [e["handle"] for e in last.json()["data"]["list"]] == [
        f"{PREFIX}/L{n:02d}" for n in (9, 10, 11)
    ]
    other = await world.enterprise("Other Cable", CODE_B)
    outsider = await world.bearer("cable-erp", Role.ENTERPRISE, enterprises=(other.id,))
    refused = await client.get("/identityv2/data/list", params={"prefix": PREFIX}, headers=outsider)
    assert refused.status_code == 403
    assert refused.json()["code"] == 701
    for params in ({}, {"prefix": PREFIX, "page": "0"}, {"prefix": PREFIX, "pageSize": "1001"}):
        bad = await client.get("/identityv2/data/list", params=params, headers=member)
        assert bad.status_code == 400, params
        assert bad.json()["status"] == -2
    unknown = await client.get("/identityv2/data/list", params={"prefix": "77.1"}, headers=member)
    assert unknown.status_code == 404


async def test_statistics_per_day_prefix_and_enterprise(
    client: httpx.AsyncClient, member: dict[str, str], db: Database, world: World
) -> None:
    async with db.session() as session:
        service = IdentifierService(session, world.clock)
        await service.add_stats(date(2026, 11, 20), PREFIX, registrations=5, resolutions=40)
        await service.add_stats(date(2026, 11, 20), NODE, resolutions=7)
    await client.post("/identityv2/data/batchCreate", json=[elevator("S1")], headers=member)
    mine = await client.get(
        "/identityv2/data/statistics", params={"from": "2026-11-01"}, headers=member
    )
    data = mine.json()["data"]
    assert (data["from"], data["to"]) == ("2026-11-01", "2026-11-25")
    # The member sees their enterprise's prefix only, not the node's.
    assert [(d["day"], d["prefix"], d["registrations"]) for d in data["days"]] == [
        ("2026-11-20", PREFIX, 5),
        ("2026-11-25", PREFIX, 2),  # the admin handle of the fixture and S1
    ]
    assert data["days"][0]["enterprise"] == "Hengli Elevator"
    assert data["total"] == {"registrations": 7, "resolutions": 40}
    staff = await world.bearer("analyst", Role.BUREAU)
    everything = await client.get(
        "/identityv2/data/statistics",
        params={"from": "2026-11-20", "to": "2026-11-20"},
        headers=staff,
    )
    assert [(d["prefix"], d["enterpriseId"]) for d in everything.json()["data"]["days"]] == [
        (NODE, None),
        (PREFIX, mine.json()["data"]["days"][0]["enterpriseId"]),
    ]
    refused = await client.get(
        "/identityv2/data/statistics", params={"prefix": NODE}, headers=member
    )
    assert refused.status_code == 403
    for params in ({"from": "yesterday"}, {"from": "2026-11-25", "to": "2026-11-01"},
                   {"from": "2024-01-01"}):  # fmt: skip
        bad = await client.get("/identityv2/data/statistics", params=params, headers=member)
        assert bad.status_code == 400, params


async def test_console_breaks_the_figures_down_by_enterprise(
    client: httpx.AsyncClient, db: Database, world: World, templates: int
) -> None:
    async with db.session() as session:
        await IdentifierService(session, world.clock).add_stats(
            date(2026, 11, 24), PREFIX, registrations=3, resolutions=11
        )
    await world.user("analyst", Role.BUREAU)
    await sign_in(client, "analyst")
    page = await client.get("/identifiers")
    assert page.status_code == 200
    assert "近 14 天最活跃的企业" in page.text
    row = re.search(rf"<td><code>{re.escape(PREFIX)}</code></td><td translate=\"no\">([^<]*)</td>"
                    r"<td>(\d+)</td><td>(\d+)</td>", page.text)  # fmt: skip
    assert row is not None
    assert row.groups() == ("Hengli Elevator", "4", "11")  # 3 + the fixture's admin handle
    assert 'id="id-enterprises-data"' in page.text
