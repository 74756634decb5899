"""Web forms' routes: the XForm for Enketo and submissions from the console, through the intake."""

from __future__ import annotations

import re

import httpx
import sqlalchemy as sa

from taihu.core import Database
from taihu.surveys import Submission, SubmissionAttachment
from tests.surveys.conftest import Field, upload
from tests.surveys.helpers import chain_form, instance
from tests.web.test_console import sign_in

FILL = "/my-surveys/chain_survey/fill"


def _csrf(html: str) -> str:
    match = re.search(r'data-csrf="([^"]+)"', html)
    assert match is not None
    return match[1]


def _files(xml: bytes, *extra: tuple[str, bytes, str]) -> list[tuple[str, tuple[str, bytes, str]]]:
    parts = [("xml_submission_file", ("xml_submission_file.xml", xml, "text/xml"))]
    parts += [(name, (name, content, kind)) for name, content, kind in extra]
    return parts


async def _stored(db: Database, instance_id: str) -> Submission:
    async with db.session() as session:
        found = await session.scalar(
            sa.select(Submission).where(Submission.instance_id == instance_id)
        )
    assert found is not None
    return found


async def test_an_enterprise_fills_its_survey_in_the_console(
    client: httpx.AsyncClient, field: Field, db: Database
) -> None:
    a = field.enterprise_ids[0]
    await sign_in(client, "owner.a")
    mine = await client.get("/my-surveys")
    assert f'href="{FILL}/{a}"' in mine.text
    page = await client.get(f"{FILL}/{a}")
    assert page.status_code == 200
    assert f'data-xform="{FILL}/{a}/form.xml"' in page.text
    assert 'data-lang="zh"' in page.text
    assert "/static/vendor/enketo/webform.js" in page.text
    xform = await client.get(f"{FILL}/{a}/form.xml")
    assert xform.status_code == 200
    assert "<h:html" in xform.text
    assert "jr:itext" in xform.text or "itext" in xform.text
    token = _csrf(page.text)
    xml = instance("1", instance_id="uuid:web-1")
    # A photo larger than a form route's body limit (1 MiB): uploads have their own.
    photo = ("photo.jpg", b"\xff\xd8" + bytes(2_000_000), "image/jpeg")
    url = f"{FILL}/{a}/submission"
    sent = await client.post(url, files=_files(xml, photo), headers={"X-CSRF-Token": token})
    assert sent.status_code == 201, sent.text
    assert sent.json() == {
        "instance_id": "uuid:web-1",
        "created": True,
        "attachments_added": 1,
        "attachments_missing": [],
    }
    stored = await _stored(db, "uuid:web-1")
    assert (stored.channel, stored.enterprise_id, stored.test) == ("web", a, False)
    assert stored.submitter == "web:owner.a"
    assert stored.data["company"] == "华纺"
    # The same instance again (a retry after a lost answer) is the same submission.
    again = await client.post(url, files=_files(xml, photo), headers={"X-CSRF-Token": token})
    assert again.status_code == 201
    assert again.json()["created"] is False
    other = instance("1", instance_id="uuid:web-1", company="别的")
    clash = await client.post(url, files=_files(other), headers={"X-CSRF-Token": token})
    assert clash.status_code == 409
    assert "uuid:web-1" in clash.json()["message"]


async def test_a_restored_drafts_photo_completes_its_submission(
    client: httpx.AsyncClient, field: Field, db: Database
) -> None:
    """The server's side of a draft's files: what the instance names and has not had is said.

    A browser that lost a restored draft's photo sends the instance without it: stored, and the
    answer names the missing file. The same instance with the photo (the draft's file kept in
    IndexedDB, sent again) adds it; other parts than the named files are kept too, as Collect's.
    """
    a = field.enterprise_ids[0]
    await sign_in(client, "owner.a")
    token = _csrf((await client.get(f"{FILL}/{a}")).text)
    url = f"{FILL}/{a}/submission"
    xml = instance("1", instance_id="uuid:web-photo", photo="site-10_4_2.png")
    headers = {"X-CSRF-Token": token}
    bare = await client.post(url, files=_files(xml), headers=headers)
    assert bare.status_code == 201, bare.text
    assert bare.json()["attachments_missing"] == ["site-10_4_2.png"]
    photo = ("site-10_4_2.png", b"\x89PNG photo", "image/png")
    completed = await client.post(url, files=_files(xml, photo), headers=headers)
    assert completed.status_code == 201
    assert completed.json() == {
        "instance_id": "uuid:web-photo",
        "created": False,
        "attachments_added": 1,
        "attachments_missing": [],
    }
    stored = await _stored(db, "uuid:web-photo")
    async with db.session() as session:
        names = list(
            await session.scalars(
                sa.select(SubmissionAttachment.name).where(
                    SubmissionAttachment.submission_id == stored.id
                )
            )
        )
    assert names == ["site-10_4_2.png"]
    # An instance that names no file misses none.
    empty = instance("1", instance_id="uuid:web-nophoto", photo="")
    answer = await client.post(url, files=_files(empty), headers=headers)
    assert answer.json()["attachments_missing"] == []


async def test_a_web_submission_needs_the_csrf_token_and_the_xml(
    client: httpx.AsyncClient, field: Field
) -> None:
    a = field.enterprise_ids[0]
    await sign_in(client, "owner.a")
    token = _csrf((await client.get(f"{FILL}/{a}")).text)
    url = f"{FILL}/{a}/submission"
    forged = await client.post(url, files=_files(instance("1")))
    assert forged.status_code == 403
    empty = await client.post(
        url,
        files=[("photo.jpg", ("photo.jpg", b"x", "image/jpeg"))],
        headers={"X-CSRF-Token": token},
    )
    assert empty.status_code == 422
    assert "xml_submission_file" in empty.text
    garbled = await client.post(url, files=_files(b"<data"), headers={"X-CSRF-Token": token})
    assert garbled.status_code == 400


async def test_an_enterprise_fills_only_its_own_asked_surveys(
    client: httpx.AsyncClient, field: Field, db: Database
) -> None:
    a, _, c = field.enterprise_ids
    await sign_in(client, "owner.c")
    # Enterprise C's user cannot act for A, and C was not asked.
    assert (await client.get(f"{FILL}/{a}")).status_code == 403
    assert (await client.get(f"{FILL}/{a}/form.xml")).status_code == 403
    assert (await client.get(f"{FILL}/{c}")).status_code == 404
    assert (await client.get(f"{FILL}/{c}/form.xml")).status_code == 404
    token = _csrf(
        (await client.get("/my-surveys")).text.replace('name="csrf" value=', "data-csrf=")
    )
    for target in (a, c):
        refused = await client.post(
            f"{FILL}/{target}/submission",
            files=_files(instance("1", instance_id=f"uuid:c-{target}")),
            headers={"X-CSRF-Token": token},
        )
        assert refused.status_code in (403, 404)
    async with db.session() as session:
        assert await session.scalar(sa.select(sa.func.count()).select_from(Submission)) == 0


async def test_the_bureau_tries_the_draft_in_the_browser(
    client: httpx.AsyncClient, field: Field, db: Database
) -> None:
    await sign_in(client, "zhang.wei")
    assert (await client.get("/surveys/chain_survey/try")).status_code == 404  # no draft yet
    assert (await upload(client, field.bureau, chain_form("2"))).status_code == 201
    survey = await client.get("/surveys/chain_survey")
    assert 'href="/surveys/chain_survey/try"' in survey.text
    page = await client.get("/surveys/chain_survey/try")
    assert page.status_code == 200
    xform = await client.get("/surveys/chain_survey/try/form.xml")
    assert 'version="2"' in xform.text
    sent = await client.post(
        "/surveys/chain_survey/try/submission",
        files=_files(instance("2", instance_id="uuid:try-1")),
        headers={"X-CSRF-Token": _csrf(page.text)},
    )
    assert sent.status_code == 201, sent.text
    stored = await _stored(db, "uuid:try-1")
    assert (stored.channel, stored.test) == ("web", True)
    await client.post("/logout", data={"csrf": _csrf(page.text)})
    await sign_in(client, "owner.a")
    assert (await client.get("/surveys/chain_survey/try")).status_code == 403
