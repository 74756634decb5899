"""An OpenRosa client exchange written from the specification, over httpx.

FormListAPI (``formList`` with ``X-OpenRosa-Version``, ``hash``, ``downloadUrl``,
``manifestUrl``), the manifest, the Form Submission API (HEAD pre-flight, multipart POST with
``xml_submission_file`` and attachments, 201 with an OpenRosaResponse) and the same instanceID
sent twice.
"""

from __future__ import annotations

import hashlib

import httpx
from defusedxml import ElementTree as SafeTree

from tests.surveys.conftest import Field, upload
from tests.surveys.helpers import chain_form, instance

LIST = "{http://openrosa.org/xforms/xformsList}"
MANIFEST = "{http://openrosa.org/xforms/xformsManifest}"
RESPONSE = "{http://openrosa.org/http/response}"
HEADERS = {"X-OpenRosa-Version": "1.0"}  # what a client sends with every request


def _path(url: str) -> str:
    return httpx.URL(url).raw_path.decode()


async def _submit(
    client: httpx.AsyncClient, base: str, xml: bytes, *attachments: tuple[str, bytes, str]
) -> httpx.Response:
    files = [("xml_submission_file", ("submission.xml", xml, "text/xml"))]
    files += [(name, (name, content, kind)) for name, content, kind in attachments]
    return await client.post(f"{base}/submission", headers=HEADERS, files=files)


async def test_collect_lists_downloads_and_submits(client: httpx.AsyncClient, field: Field) -> None:
    base = f"/openrosa/key/{field.key_a}"
    listed = await client.get(f"{base}/formList", headers=HEADERS)
    assert listed.status_code == 200
    assert listed.headers["X-OpenRosa-Version"] == "1.0"
    assert listed.headers["content-type"].startswith("text/xml")
    forms = SafeTree.fromstring(listed.content).findall(f"{LIST}xform")
    assert [f.findtext(f"{LIST}formID") for f in forms] == ["chain_survey"]
    entry = forms[0]
    assert entry.findtext(f"{LIST}version") == "1"
    assert entry.find(f"{LIST}manifestUrl") is None  # version 1 has no media files
    xform = await client.get(_path(entry.findtext(f"{LIST}downloadUrl") or ""), headers=HEADERS)
    assert xform.status_code == 200
    assert (
        entry.findtext(f"{LIST}hash")
        == "md5:" + hashlib.md5(xform.content, usedforsecurity=False).hexdigest()
    )
    assert b'id="chain_survey"' in xform.content

    head = await client.head(f"{base}/submission", headers=HEADERS)
    assert head.status_code == 204
    assert int(head.headers["X-OpenRosa-Accept-Content-Length"]) > 1_000_000

    xml = instance("1", instance_id="uuid:one")
    sent = await _submit(client, base, xml, ("photo.jpg", b"\xff\xd8jpeg", "image/jpeg"))
    assert sent.status_code == 201, sent.text
    assert sent.headers["X-OpenRosa-Version"] == "1.0"
    assert SafeTree.fromstring(sent.content).find(f"{RESPONSE}message") is not None

    # The same instance again (Collect resends, or splits attachments): one submission.
    again = await _submit(client, base, xml, ("sign.png", b"\x89PNG", "image/png"))
    assert again.status_code == 201
    other = await _submit(client, base, instance("1", instance_id="uuid:one", company="别的"))
    assert other.status_code == 409
    assert SafeTree.fromstring(other.content).findtext(f"{RESPONSE}message")

    page = (await client.get("/api/surveys/chain_survey/submissions", headers=field.bureau)).json()
    assert page["total"] == 1
    detail = (
        await client.get("/api/surveys/chain_survey/submissions/uuid:one", headers=field.bureau)
    ).json()
    assert detail["enterprise_id"] == field.enterprise_ids[0]
    assert sorted(detail["attachments"]) == ["photo.jpg", "sign.png"]
    assert detail["data"]["company"] == "华纺"
    assert detail["data"]["suppliers"] == [
        {
            "suppliers/supplier": "盛泽化纤",
            "suppliers/kind": "fibre",
            "suppliers/input": "pta",
            "suppliers/share": "40",
        }
    ]
    assert detail["version"] == "1"


async def test_an_enterprise_not_asked_sees_no_form(
    client: httpx.AsyncClient, field: Field
) -> None:
    base = f"/openrosa/key/{field.key_c}"
    listed = await client.get(f"{base}/formList", headers=HEADERS)
    assert SafeTree.fromstring(listed.content).findall(f"{LIST}xform") == []
    refused = await _submit(client, base, instance("1"))
    assert refused.status_code == 404
    assert (await client.get("/api/surveys/chain_survey/submissions", headers=field.bureau)).json()[
        "total"
    ] == 0


async def test_bad_or_revoked_tokens_are_refused(client: httpx.AsyncClient, field: Field) -> None:
    assert (await client.get("/openrosa/key/nope/formList")).status_code == 401
    assert (await client.head("/openrosa/key/nope/submission")).status_code == 401
    users = (await client.get("/api/survey-app-users", headers=field.owner_a)).json()
    assert len(users) == 1
    assert users[0]["token"] is None
    # Enterprise C's owner cannot revoke A's device; A's owner can.
    gone = await client.delete(f"/api/survey-app-users/{users[0]['id']}", headers=field.owner_c)
    assert gone.status_code == 404
    revoked = await client.delete(f"/api/survey-app-users/{users[0]['id']}", headers=field.owner_a)
    assert revoked.json()["revoked"] is True
    assert (await client.get(f"/openrosa/key/{field.key_a}/formList")).status_code == 401


async def test_a_draft_is_tested_on_a_device_before_publishing(
    client: httpx.AsyncClient, field: Field
) -> None:
    drafted = await upload(client, field.bureau, chain_form("2", old_question=False, media=True))
    assert drafted.status_code == 201, drafted.text
    test_base = f"/openrosa/test/{drafted.json()['draft_token']}"
    # Devices keep getting version 1 until the draft is published.
    listed = await client.get(f"/openrosa/key/{field.key_a}/formList")
    assert SafeTree.fromstring(listed.content).findtext(f"{LIST}xform/{LIST}version") == "1"
    entry = SafeTree.fromstring((await client.get(f"{test_base}/formList")).content).find(
        f"{LIST}xform"
    )
    assert entry is not None
    assert entry.findtext(f"{LIST}version") == "2"
    # The form names towns.csv: publishing waits for it; the manifest lists it once uploaded.
    refused = await client.post("/api/surveys/chain_survey/publish", headers=field.bureau)
    assert refused.status_code == 409
    assert refused.json()["error"] == "media_missing"
    towns = "name,label\nshengze,盛泽\n".encode()
    added = await client.post(
        "/api/surveys/chain_survey/media",
        headers=field.bureau,
        files={"file": ("towns.csv", towns, "text/csv")},
    )
    assert added.status_code == 201, added.text
    manifest = await client.get(_path(entry.findtext(f"{LIST}manifestUrl") or ""))
    assert manifest.headers["X-OpenRosa-Version"] == "1.0"
    media = SafeTree.fromstring(manifest.content).find(f"{MANIFEST}mediaFile")
    assert media is not None
    assert media.findtext(f"{MANIFEST}filename") == "towns.csv"
    assert (
        media.findtext(f"{MANIFEST}hash")
        == "md5:" + hashlib.md5(towns, usedforsecurity=False).hexdigest()
    )
    got = await client.get(_path(media.findtext(f"{MANIFEST}downloadUrl") or ""))
    assert got.content == towns

    tried = await _submit(client, test_base, instance("2", extra="<new_note>t</new_note>"))
    assert tried.status_code == 201, tried.text
    listing = "/api/surveys/chain_survey/submissions"
    assert (await client.get(listing, headers=field.bureau)).json()["total"] == 0
    assert (await client.get(f"{listing}?test=true", headers=field.bureau)).json()["total"] == 1

    published = await client.post("/api/surveys/chain_survey/publish", headers=field.bureau)
    assert published.json()["version"] == "2"
    assert (await client.get(f"{test_base}/formList")).status_code == 401
    assert (await client.get(f"{listing}?test=true", headers=field.bureau)).json()["total"] == 0
    # A device that filled version 1 before the change still delivers it, kept as version 1.
    late = await _submit(client, f"/openrosa/key/{field.key_a}", instance("1"))
    assert late.status_code == 201, late.text
    items = (await client.get(listing, headers=field.bureau)).json()["items"]
    assert [i["version"] for i in items] == ["1"]
    # Same version twice is refused: a changed form needs a new version.
    again = await upload(client, field.bureau, chain_form("2"))
    assert again.status_code == 409
    assert again.json()["error"] == "version_exists"


async def test_a_bad_submission_leaves_nothing(client: httpx.AsyncClient, field: Field) -> None:
    base = f"/openrosa/key/{field.key_a}"
    for body in (b"<data", b'<data id="chain_survey" version="1"><company/></data>', instance("9")):
        answer = await _submit(client, base, body)
        assert answer.status_code in (400, 409), answer.text
        assert answer.headers["content-type"].startswith("text/xml")
    assert (await client.get("/api/surveys/chain_survey/submissions", headers=field.bureau)).json()[
        "total"
    ] == 0


async def test_a_photo_past_the_json_limit_is_taken(
    client: httpx.AsyncClient, field: Field
) -> None:
    # The submission path has parameters (the token); its upload limit still applies to it.
    photo = b"\xff\xd8" + b"\0" * 3_000_000
    sent = await _submit(
        client,
        f"/openrosa/key/{field.key_a}",
        instance("1", instance_id="uuid:big"),
        ("photo.jpg", photo, "image/jpeg"),
    )
    assert sent.status_code == 201, sent.text
    too_big = b"\0" * (21 * 1024 * 1024 + 1)
    refused = await _submit(
        client, f"/openrosa/key/{field.key_a}", instance("1"), ("photo.jpg", too_big, "image/jpeg")
    )
    assert refused.status_code == 413


async def test_a_new_upload_replaces_the_draft(client: httpx.AsyncClient, field: Field) -> None:
    first = (await upload(client, field.bureau, chain_form("2", old_question=False))).json()
    tried = await _submit(
        client,
        f"/openrosa/test/{first['draft_token']}",
        instance("2", extra="<new_note>t</new_note>"),
    )
    assert tried.status_code == 201, tried.text
    second = await upload(client, field.bureau, chain_form("3", old_question=False))
    assert second.status_code == 201
    # The first draft's token and test submission went with it.
    assert (await client.get(f"/openrosa/test/{first['draft_token']}/formList")).status_code == 401
    survey = (await client.get("/api/surveys/chain_survey", headers=field.bureau)).json()
    assert [(v["version"], v["state"]) for v in survey["versions"]] == [
        ("1", "published"),
        ("3", "draft"),
    ]
    listing = "/api/surveys/chain_survey/submissions?test=true"
    assert (await client.get(listing, headers=field.bureau)).json()["total"] == 0
