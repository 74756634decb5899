"""Pages by role: navigation and action links follow the routes' own guards; a home per role."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from taihu.accounts import Principal, Role
from taihu.chains import TemplateStore, parse_template
from taihu.devices import DeviceService
from tests.conftest import CODE_A, CODE_B, World
from tests.web.test_console import sign_in

# Pages every role's navigation may offer; which it offers is the point of these tests.
GUARDED = ["/industry-map", "/monitor", "/monitor/lists", "/audit", "/wall", "/enterprises/import",
           "/monitor/import"]  # fmt: skip
_SKIP = ("/lang/", "/static/", "/r/", "/api/", "/logout", "/login")


def _nav(html: str) -> list[str]:
    block = html.split('<nav class="sidenav"', 1)[1].split("</nav>", 1)[0]
    return re.findall(r'<a href="([^"]+)"', block)


def _links(html: str) -> set[str]:
    found = set(re.findall(r'href="(/[^"#]*)"', html))
    return {link.replace("&amp;", "&") for link in found if not link.startswith(_SKIP)}


async def _world(world: World) -> int:
    """Two enterprises, a device in the first, and one user per role; the device's id."""
    first = await world.enterprise("甲厂", CODE_A)
    await world.enterprise("乙厂", CODE_B)
    async with world.db.session() as session:
        issued = await DeviceService(session, world.clock).create(
            Principal.system("test"), first.id, "电表-甲"
        )
    await world.user("admin", Role.ADMIN)
    await world.user("analyst", Role.BUREAU)
    await world.user("auditor", Role.AUDITOR)
    await world.user("factory", Role.ENTERPRISE, enterprises=(first.id,))
    return issued.device.id


EXPECTED = {
    "admin": {"/industry-map", "/monitor", "/audit", "/wall"},
    "analyst": {"/industry-map", "/monitor", "/audit", "/wall"},
    "auditor": {"/industry-map", "/monitor", "/audit"},
    "factory": set(),
}


@pytest.mark.parametrize("username", sorted(EXPECTED))
async def test_every_link_a_role_is_shown_opens(
    client: httpx.AsyncClient, world: World, username: str
) -> None:
    await _world(world)
    await sign_in(client, username)
    home = await client.get("/")
    assert home.status_code == 200
    nav = _nav(home.text)
    assert {p for p in nav if p in GUARDED} == EXPECTED[username]
    # Every page of the navigation, and every console link on those pages, opens: no 403, no 404.
    seen: dict[str, int] = {}
    for path in nav:
        page = await client.get(path)
        seen[path] = page.status_code
        for link in _links(page.text) - set(seen):
            seen[link] = (await client.get(link)).status_code
    refused = {link: status for link, status in seen.items() if status >= 400}
    assert not refused, refused
    # And what is not shown does not open either: the guard and the link are the same check.
    for path in set(GUARDED) - set(seen):
        assert (await client.get(path)).status_code == 403, path


async def test_auditor_is_not_offered_imports(client: httpx.AsyncClient, world: World) -> None:
    await _world(world)
    await sign_in(client, "auditor")
    for path in ("/enterprises", "/industry-map", "/identifiers"):
        text = (await client.get(path)).text
        assert 'href="/enterprises/import"' not in text
        assert 'href="/identifiers/import"' not in text
    assert 'href="/monitor/import"' not in (await client.get("/monitor")).text
    assert (await client.get("/enterprises/import")).status_code == 403


async def test_the_bureau_sees_devices_without_links_to_their_data(
    client: httpx.AsyncClient, world: World
) -> None:
    device_id = await _world(world)
    await sign_in(client, "analyst")
    listing = (await client.get("/devices")).text
    assert "电表-甲" in listing
    assert f'href="/devices/{device_id}"' not in listing
    client.cookies.clear()
    await sign_in(client, "factory")
    listing = (await client.get("/devices")).text
    assert f'href="/devices/{device_id}"' in listing
    assert (await client.get(f"/devices/{device_id}")).status_code == 200


async def test_home_of_the_bureau_shows_the_district(
    client: httpx.AsyncClient, world: World
) -> None:
    await _world(world)
    segment = {"key": "own.one", "name_zh": "环节一", "name_en": "One", "stage": "upstream"}
    own = {"key": "own-chain", "name_zh": "区内自定链", "name_en": "Own chain",
           "segments": [segment]}  # fmt: skip
    async with world.db.session() as session:
        await TemplateStore(session, world.clock).save(Principal.system(), parse_template(own))
    await sign_in(client, "analyst")
    home = (await client.get("/")).text
    data = json.loads(home.split('id="district-data">')[1].split("</script>")[0])
    assert {"resumption_rate", "production_rate", "trend", "warnings", "overdue",
            "devices_online", "identifiers", "chain_alerts", "chains"} <= set(data)  # fmt: skip
    # The district's own template is one of its chains, beside the six built-ins.
    assert {c["key"]: c["name"] for c in data["chains"]}["own-chain"] == "区内自定链"
    assert len(data["chains"]) == 7
    assert "复工率" in home
    assert "逾期" in home
    assert 'href="/wall"' in home


async def test_home_of_an_enterprise_user_shows_its_own(
    client: httpx.AsyncClient, world: World
) -> None:
    device_id = await _world(world)
    await sign_in(client, "factory")
    home = (await client.get("/")).text
    assert f'href="/devices/{device_id}"' in home
    assert "甲厂" in home
    assert "乙厂" not in home
    assert 'id="asked"' in home
    assert 'href="/wall"' not in home
    assert "district-data" not in home


async def test_home_of_the_auditor_shows_security_events(
    client: httpx.AsyncClient, world: World
) -> None:
    await _world(world)
    refused = await sign_in(client, "analyst", "not-the-password")
    assert refused.status_code == 401
    await sign_in(client, "auditor")
    home = (await client.get("/")).text
    events = home.split('id="events-title"')[1].split("</section>")[0]
    assert "analyst" in events
    assert "district-data" not in home


async def test_the_wall_is_for_the_bureau(client: httpx.AsyncClient, world: World) -> None:
    await _world(world)
    await sign_in(client, "factory")
    assert (await client.get("/wall")).status_code == 403
    assert (await client.get("/wall/live")).status_code == 403
    client.cookies.clear()
    await sign_in(client, "analyst")
    wall = await client.get("/wall")
    assert wall.status_code == 200
    assert '<html lang="zh-CN" class="wall">' in wall.text
    data = json.loads(wall.text.split('id="wall-data">')[1].split("</script>")[0])
    assert data["chains"]
    assert "identifiers" in data
