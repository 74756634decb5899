"""The surveys' console pages: upload (with pyxform's row), survey, review, my surveys."""

from __future__ import annotations

import re

import httpx

from tests.surveys.conftest import Field
from tests.surveys.helpers import TOWN, XLSX, book, chain_form, instance
from tests.web.test_console import sign_in


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]*)"', html)
    assert match is not None
    return match[1]


async def test_the_bureau_uploads_reviews_and_sees_the_rate(
    client: httpx.AsyncClient, field: Field
) -> None:
    await client.post(
        f"/openrosa/key/{field.key_a}/submission",
        files={"xml_submission_file": ("s.xml", instance("1", instance_id="uuid:c1"), "text/xml")},
    )
    await sign_in(client, "zhang.wei")
    listing = await client.get("/surveys")
    assert listing.status_code == 200
    assert "chain_survey" in listing.text
    assert "50%" in listing.text  # one of the two enterprises asked has answered
    token = _csrf(listing.text)
    bad = book(
        [["type", "name", "label"], ["select_one colours", "c", "C"]],
        [["list_name", "name", "label"], ["yn", "yes", "Yes"]],
    )
    refused = await client.post(
        "/surveys", data={"csrf": token}, files={"file": ("bad.xlsx", bad, XLSX)}
    )
    assert refused.status_code == 303
    shown = await client.get("/surveys")
    assert "第 2 行" in shown.text
    assert "colours" in shown.text
    drafted = await client.post(
        "/surveys", data={"csrf": token}, files={"file": ("f.xlsx", chain_form("2"), XLSX)}
    )
    assert "/openrosa/test/draft_" in drafted.text
    page = await client.get("/surveys/chain_survey")
    assert "uuid:c1" in page.text or "华纺" in page.text
    published = await client.post("/surveys/chain_survey/publish", data={"csrf": token})
    assert published.status_code == 303
    url = "/surveys/chain_survey/submissions/uuid:c1"
    review = await client.get(url)
    assert review.status_code == 200
    assert "华纺" in review.text
    await client.post(
        url, data={"csrf": token, "action": "edit", "path": "employees", "value": "130"}
    )
    await client.post(url, data={"csrf": token, "action": "review", "review_state": "approved"})
    after = (await client.get(url)).text
    assert "120 → 130" in after
    detail = (
        await client.get("/api/surveys/chain_survey/submissions/uuid:c1", headers=field.bureau)
    ).json()
    assert detail["review_state"] == "approved"


async def test_an_enterprise_sees_its_surveys_and_makes_a_device(
    client: httpx.AsyncClient, field: Field
) -> None:
    await sign_in(client, "owner.a")
    assert (await client.get("/surveys")).status_code == 403
    client.cookies.set("taihu_lang", "zh-CN")
    mine = await client.get("/my-surveys")
    assert mine.status_code == 200
    assert "产业链摸底" in mine.text
    assert "我的调研" in mine.text
    made = await client.post(
        "/my-surveys/app-users",
        data={
            "csrf": _csrf(mine.text),
            "display_name": "车间平板",
            "enterprise_id": str(field.enterprise_ids[0]),
        },
    )
    found = re.search(r"/openrosa/key/(odk_[\w-]+)", made.text)
    assert found is not None
    listed = await client.get(f"/openrosa/key/{found[1]}/formList")
    assert b"chain_survey" in listed.content


async def test_the_assignment_deadline_is_read_in_the_page_languages_form(
    client: httpx.AsyncClient, field: Field
) -> None:
    await sign_in(client, "zhang.wei")
    await client.get("/lang/en")
    page = await client.get("/surveys/chain_survey")
    assert 'type="date"' not in page.text  # the browser's locale would pick the format
    token = _csrf(page.text)
    form = {"csrf": token, "scope": "township", "value": TOWN}
    refused = await client.post(
        "/surveys/chain_survey/assign", data={**form, "deadline": "06/12/2027"}
    )
    assert refused.status_code == 303
    assert "Deadline is not a date: write it as" in (await client.get("/surveys/chain_survey")).text
    kept = await client.post(
        "/surveys/chain_survey/assign", data={**form, "deadline": "15 Jan 2027"}
    )
    assert kept.status_code == 303
    mine = await client.get("/api/my-surveys", headers=field.owner_a)
    assert [s["deadline"] for s in mine.json()] == ["2027-01-15"], mine.text
