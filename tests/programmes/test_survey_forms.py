"""A survey form as a programme's application form: filled in the web form, kept, reviewed."""

from __future__ import annotations

import re

import httpx

from tests.programmes.test_applications import DOCS, FIELDS
from tests.surveys.conftest import Field, field  # noqa: F401 - the surveys' fixture, reused
from tests.surveys.helpers import instance
from tests.web.test_console import sign_in

FILL = "/my-surveys/chain_survey/fill"


async def _cloud_stars(client: httpx.AsyncClient, headers: dict[str, str]) -> int:
    rows = (await client.get("/api/programmes", headers=headers)).json()
    return next(int(p["id"]) for p in rows if p["key"] == "cloud_stars")


async def _fill(client: httpx.AsyncClient, enterprise_id: int, instance_id: str) -> None:
    await sign_in(client, "owner.a")
    page = await client.get(f"{FILL}/{enterprise_id}")
    token = re.search(r'data-csrf="([^"]+)"', page.text)
    assert token
    sent = await client.post(
        f"{FILL}/{enterprise_id}/submission",
        files=[
            ("xml_submission_file", ("x.xml", instance("1", instance_id=instance_id), "text/xml"))
        ],
        headers={"X-CSRF-Token": token[1]},
    )
    assert sent.status_code == 201, sent.text
    client.cookies.clear()  # the API calls that follow go with their bearer tokens only


def _application(programme: int, enterprise: int, instance_id: str | None) -> dict[str, object]:
    data: dict[str, object] = {
        **FIELDS, "programme_id": str(programme), "enterprise_id": str(enterprise),
        "kind": ["licence", "application_form"],
    }  # fmt: skip
    if instance_id is not None:
        data["instance_id"] = instance_id
    return data


async def test_an_application_carries_the_filled_survey_form(
    client: httpx.AsyncClient,
    field: Field,  # noqa: F811 - the fixture imported above
) -> None:
    a = field.enterprise_ids[0]
    programme = await _cloud_stars(client, field.bureau)
    url = f"/api/programmes/{programme}/form"
    refused = await client.put(url, json={"form_id": "chain_survey"}, headers=field.owner_a)
    assert refused.status_code == 403
    bad = await client.put(url, json={"form_id": "no spaces allowed"}, headers=field.bureau)
    assert bad.status_code == 400
    assert bad.json()["error"] == "bad_form_id"
    made = await client.put(url, json={"form_id": "chain_survey"}, headers=field.bureau)
    assert made.status_code == 200, made.text
    assert made.json()["form_id"] == "chain_survey"

    applications = "/api/programmes/applications"
    without = await client.post(
        applications, data=_application(programme, a, None), files=DOCS, headers=field.owner_a
    )
    assert without.status_code == 400
    assert without.json()["error"] == "form_required"
    unknown = await client.post(
        applications, data=_application(programme, a, "uuid:nope"), files=DOCS,
        headers=field.owner_a,
    )  # fmt: skip
    assert unknown.status_code == 404

    await _fill(client, a, "uuid:apply-1")
    # Another enterprise's user cannot borrow A's submission for its own application.
    c = field.enterprise_ids[2]
    borrowed = await client.post(
        applications, data=_application(programme, c, "uuid:apply-1"), files=DOCS,
        headers=field.owner_c,
    )  # fmt: skip
    assert borrowed.status_code == 404
    applied = await client.post(
        applications, data=_application(programme, a, "uuid:apply-1"), files=DOCS,
        headers=field.owner_a,
    )  # fmt: skip
    assert applied.status_code == 201, applied.text
    answers = applied.json()["answers"]
    assert (answers["form_id"], answers["instance_id"], answers["version"]) == (
        "chain_survey", "uuid:apply-1", "1",
    )  # fmt: skip
    company = next(r for r in answers["rows"] if r["path"] == "company")
    assert company["value"] == "华纺"
    assert company["label"]

    # The reviewer reads the answers on the application's page, labelled in the page's language.
    await sign_in(client, "zhang.wei")
    page = await client.get(f"/programmes/applications/{applied.json()['id']}")
    assert page.status_code == 200
    assert 'id="answers"' in page.text
    assert "华纺" in page.text
    # The programme's page offers the web form and the enterprise's submissions to apply with.
    client.cookies.clear()
    await sign_in(client, "owner.a")
    offer = await client.get(f"/programmes/{programme}")
    assert f'href="/programmes/{programme}/form/{a}"' in offer.text  # its own form route
    assert 'value="uuid:apply-1"' in offer.text
