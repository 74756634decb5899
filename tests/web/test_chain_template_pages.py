"""The chain template pages: list, editor, history, and analyses naming their template version."""

import re

import httpx

from taihu.accounts import Role
from tests.conftest import World
from tests.web.test_console import _hidden, sign_in


def _form(html: str) -> dict[str, str]:
    """The editor's fields as the browser would send them (checked boxes only)."""
    fields: dict[str, str] = {}
    for tag in re.findall(r"<input [^>]*>", html):
        name = re.search(r'name="([^"]+)"', tag)
        if not name:
            continue
        value = re.search(r'value="([^"]*)"', tag)
        if 'type="checkbox"' in tag and " checked" not in tag:
            continue
        fields[name.group(1)] = value.group(1) if value else ""
    for select in re.finditer(r'<select name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
        chosen = re.search(r'<option value="([^"]+)" selected', select.group(2))
        fields[select.group(1)] = chosen.group(1) if chosen else "upstream"
    return fields


async def test_the_bureau_edits_a_template_and_the_analysis_follows(
    client: httpx.AsyncClient, world: World
) -> None:
    await world.user("ana", Role.BUREAU)
    await sign_in(client, "ana")
    client.cookies.set("taihu_lang", "en")
    listed = await client.get("/industry-map/templates")
    assert listed.status_code == 200
    assert 'href="/industry-map/templates/optical-fibre"' in listed.text
    page = await client.get("/industry-map/templates/optical-fibre")
    assert page.status_code == 200
    fields = _form(page.text)
    assert fields["s1-key"] == "fibre.preform"
    assert fields["s1-supplies"] == "fibre.fibre"
    # Remove the chemicals segment, add a new one in the first empty row.
    fields["s0-remove"] = "1"
    fields |= {
        "s6-key": "fibre.coating", "s6-name_zh": "涂覆材料", "s6-name_en": "Coatings",
        "s6-stage": "upstream", "s6-supplies": "fibre.fibre", "note": "coatings",
    }  # fmt: skip
    saved = await client.post("/industry-map/templates", data=fields)
    assert saved.status_code == 303, saved.text
    again = await client.get("/industry-map/templates/optical-fibre")
    assert "Current version 2" in again.text
    assert 'name="s5-key" value="fibre.coating"' in again.text
    assert "coatings" in again.text  # the note, in the history
    old = await client.get("/industry-map/templates/optical-fibre", params={"version": 1})
    assert 'value="fibre.chemicals"' in old.text
    chain = await client.get("/industry-map/optical-fibre")
    assert "template version 2" in chain.text
    assert "Coatings" in chain.text  # the segment's English name, for an English reader
    client.cookies.set("taihu_lang", "zh_CN")
    chinese = await client.get("/industry-map/optical-fibre")
    assert "按链模板第 2 版分析" in chinese.text
    assert "涂覆材料" in chinese.text


async def test_a_wrong_template_shows_the_reason_and_keeps_the_input(
    client: httpx.AsyncClient, world: World
) -> None:
    await world.user("ana", Role.BUREAU)
    await sign_in(client, "ana")
    page = await client.get("/industry-map/templates/new")
    fields = _form(page.text) | {
        "key": "hand", "name_zh": "手工链", "name_en": "Hand chain", "s0-key": "hand.a",
        "s0-name_zh": "甲", "s0-name_en": "A", "s0-stage": "upstream", "s0-supplies": "hand.zz",
    }  # fmt: skip
    refused = await client.post("/industry-map/templates", data=fields)
    assert refused.status_code == 400
    assert "hand.zz" in refused.text
    assert 'value="hand.a"' in refused.text
    fields["s0-supplies"] = ""
    created = await client.post("/industry-map/templates", data=fields)
    assert created.headers["location"] == "/industry-map/templates/hand"
    client.cookies.set("taihu_lang", "zh_CN")
    listed = await client.get("/industry-map/templates")
    assert "手工链" in listed.text


async def test_only_the_bureau_saves_and_the_form_needs_its_token(
    client: httpx.AsyncClient, world: World
) -> None:
    await world.user("aud", Role.AUDITOR)
    await sign_in(client, "aud")
    page = await client.get("/industry-map/templates/polyester")
    fields = _form(page.text) | {"name_en": "Polyester"}
    refused = await client.post("/industry-map/templates", data=fields)
    assert refused.status_code == 403
    forged = await client.post("/industry-map/templates", data=fields | {"csrf": "x"})
    assert forged.status_code == 403
    assert _hidden(page.text, "creating") == "0"
    unknown = await client.get("/industry-map/templates/nope")
    assert unknown.status_code == 404
