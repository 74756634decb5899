"""A programme's own form: filled without the survey's assignment, kept, reviewed, exported."""

from __future__ import annotations

import io
import re

import httpx
from openpyxl import load_workbook

from tests.programmes.test_applications import DOCS, FIELDS
from tests.surveys.conftest import Field, field  # noqa: F401 - the surveys' fixture, reused
from tests.surveys.helpers import instance
from tests.web.test_console import sign_in

XML = "xml_submission_file"


async def _programme(client: httpx.AsyncClient, headers: dict[str, str], key: str) -> int:
    rows = (await client.get("/api/programmes", headers=headers)).json()
    return next(int(p["id"]) for p in rows if p["key"] == key)


def _application(programme: int, enterprise: int, instance_id: str) -> dict[str, object]:
    return {
        **FIELDS, "programme_id": str(programme), "enterprise_id": str(enterprise),
        "kind": ["licence", "application_form"], "instance_id": instance_id,
    }  # fmt: skip


async def test_an_enterprise_not_asked_fills_the_programmes_form_through_the_api(
    client: httpx.AsyncClient,
    field: Field,  # noqa: F811 - the fixture imported above
) -> None:
    a, c = field.enterprise_ids[0], field.enterprise_ids[2]  # the survey is not asked of C
    programme = await _programme(client, field.bureau, "cloud_stars")
    set_form = await client.put(
        f"/api/programmes/{programme}/form", json={"form_id": "chain_survey"}, headers=field.bureau
    )
    assert set_form.status_code == 200, set_form.text
    xform = f"/api/programmes/{programme}/form.xml"
    got = await client.get(xform, params={"enterprise_id": c}, headers=field.owner_c)
    assert got.status_code == 200, got.text
    assert b"chain_survey" in got.content
    # Only the enterprise's own users: not another enterprise's, not the bureau.
    other = await client.get(xform, params={"enterprise_id": c}, headers=field.owner_a)
    assert other.status_code == 403
    staff = await client.get(xform, params={"enterprise_id": c}, headers=field.bureau)
    assert staff.status_code == 403
    plain = await _programme(client, field.bureau, "benchmark_factory")
    none = await client.get(
        f"/api/programmes/{plain}/form.xml", params={"enterprise_id": c}, headers=field.owner_c
    )
    assert none.status_code == 404
    assert none.json()["error"] == "no_programme_form"

    submissions = f"/api/programmes/{programme}/form-submissions"
    borrowed = await client.post(
        submissions, data={"enterprise_id": str(c)},
        files=[(XML, ("x.xml", instance("1", instance_id="uuid:c-0"), "text/xml"))],
        headers=field.owner_a,
    )  # fmt: skip
    assert borrowed.status_code == 403
    broken = await client.post(
        submissions, data={"enterprise_id": str(c)},
        files=[(XML, ("x.xml", b"<not xml", "text/xml"))], headers=field.owner_c,
    )  # fmt: skip
    assert broken.status_code == 400
    sent = await client.post(
        submissions, data={"enterprise_id": str(c)},
        files=[(XML, ("x.xml", instance("1", instance_id="uuid:c-1", company="震泽"), "text/xml"))],
        headers=field.owner_c,
    )  # fmt: skip
    assert sent.status_code == 201, sent.text
    assert sent.json() == {"form_id": "chain_survey", "instance_id": "uuid:c-1"}
    applied = await client.post(
        "/api/programmes/applications", data=_application(programme, c, "uuid:c-1"),
        files=DOCS, headers=field.owner_c,
    )  # fmt: skip
    assert applied.status_code == 201, applied.text
    answers = applied.json()["answers"]
    assert next(r for r in answers["rows"] if r["path"] == "company")["value"] == "震泽"
    # A's user cannot apply for C with it, nor C's user for A.
    crossed = await client.post(
        "/api/programmes/applications", data=_application(programme, a, "uuid:c-1"),
        files=DOCS, headers=field.owner_c,
    )  # fmt: skip
    assert crossed.status_code == 403

    # The review runs through the stages to the award; the export carries the answers.
    application = applied.json()["id"]
    for grade in ("", "", "4"):
        step = await client.post(
            "/api/programmes/decisions",
            data={"application_id": str(application), "decision": "pass", "grade": grade},
            headers=field.bureau,
        )
        assert step.status_code == 200, step.text
    assert step.json()["status"] == "approved"
    exported = await client.get("/api/programmes/awards/export", headers=field.bureau)
    book = load_workbook(io.BytesIO(exported.content))
    assert book.sheetnames == ["registry", "answers"]
    sheet = book["answers"]
    header = [c.value for c in sheet[1]]
    assert header[:5] == ["programme", "credit_code", "企业名称", "year", "application"]
    row = [c.value for c in sheet[2]]
    assert row[0] == "cloud_stars"
    assert row[4] == application
    assert row[header.index("instance_id")] == "uuid:c-1"
    company = next(i for i, h in enumerate(header) if str(h).endswith("[company]"))
    assert row[company] == "震泽"
    assert row[header.index("summary")] == FIELDS["summary"]
    # The first sheet keeps the import's layout: the export still imports back.
    back = await client.post(
        "/api/programmes/awards/import",
        params={"dry_run": "true"},
        files={"file": ("awards.xlsx", exported.content, "application/x")},
        headers=field.bureau,
    )
    assert back.status_code == 200, back.text
    assert back.json()["problems"] == []


async def test_the_console_fills_the_programmes_form_and_the_bureau_reads_it(
    client: httpx.AsyncClient,
    field: Field,  # noqa: F811 - the fixture imported above
) -> None:
    c = field.enterprise_ids[2]
    programme = await _programme(client, field.bureau, "cloud_stars")
    await client.put(
        f"/api/programmes/{programme}/form", json={"form_id": "chain_survey"}, headers=field.bureau
    )
    await sign_in(client, "owner.c")
    # The survey is not asked of C: its ordinary web form is not C's ...
    assert (await client.get(f"/my-surveys/chain_survey/fill/{c}")).status_code == 404
    offer = await client.get(f"/programmes/{programme}")
    base = f"/programmes/{programme}/form/{c}"
    assert f'href="{base}"' in offer.text  # ... but the programme's own form is
    page = await client.get(base)
    assert page.status_code == 200, page.text
    assert f'data-xform="{base}/form.xml"' in page.text
    assert f'href="/programmes/{programme}#apply"' in page.text
    assert (await client.get(f"{base}/form.xml")).status_code == 200
    token = re.search(r'data-csrf="([^"]+)"', page.text)
    assert token
    no_token = await client.post(
        f"{base}/submission",
        files=[(XML, ("x.xml", instance("1", instance_id="uuid:web-0"), "text/xml"))],
    )
    assert no_token.status_code == 403
    sent = await client.post(
        f"{base}/submission",
        files=[(XML, ("x.xml", instance("1", instance_id="uuid:web-1"), "text/xml"))],
        headers={"X-CSRF-Token": token[1]},
    )
    assert sent.status_code == 201, sent.text
    offer = await client.get(f"/programmes/{programme}")
    assert 'value="uuid:web-1"' in offer.text  # ready to apply with
    csrf = re.search(r'name="csrf" value="([^"]+)"', offer.text)
    assert csrf
    applied = await client.post(
        "/programmes/apply",
        data={**_application(programme, c, "uuid:web-1"), "csrf": csrf[1]},
        files=DOCS,
    )
    assert applied.status_code == 303, applied.text
    application = applied.headers["location"]
    # Another enterprise's user may not open C's form.
    client.cookies.clear()
    await sign_in(client, "owner.a")
    assert (await client.get(base)).status_code == 403
    refused = await client.post(
        f"{base}/submission",
        files=[(XML, ("x.xml", instance("1"), "text/xml"))],
        headers={"X-CSRF-Token": "x"},
    )
    assert refused.status_code == 403
    client.cookies.clear()
    await sign_in(client, "zhang.wei")
    review = await client.get(application)
    assert 'id="answers"' in review.text
    assert "华纺" in review.text
