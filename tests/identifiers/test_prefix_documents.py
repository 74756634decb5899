"""Prefix applications with their documents, over the API and in the console."""

from __future__ import annotations

import re

import httpx
import pytest
import sqlalchemy as sa

from taihu.accounts import AuditEntry, Role
from taihu.core import Database
from taihu.identifiers import ApplicationDocument, PrefixApplication
from tests.conftest import CODE_B, World
from tests.web.test_console import sign_in

pytestmark = pytest.mark.usefixtures("prefixes")

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
FIELDS = {"contact_name": "王敏", "contact_phone": "138 0000 0000", "industry_class": "3833"}


async def _applicant(world: World) -> tuple[int, dict[str, str]]:
    cable = await world.enterprise("Wujiang Cable", CODE_B)
    return cable.id, await world.bearer("cable", Role.ENTERPRISE, enterprises=(cable.id,))


async def test_api_apply_with_licence_review_and_download(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    enterprise_id, applicant = await _applicant(world)
    answer = await client.post(
        "/api/identifiers/applications",
        data={**FIELDS, "enterprise_id": str(enterprise_id)},
        files={"licence": ("营业执照.pdf", PDF, "application/pdf")},
        headers=applicant,
    )
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert (body["prefix"], body["status"], body["contact"]) == (
        "88.118.9", "pending", "王敏 138 0000 0000",
    )  # fmt: skip
    [document] = body["documents"]
    assert (document["filename"], document["content_type"], document["size"]) == (
        "营业执照.pdf", "application/pdf", len(PDF),
    )  # fmt: skip
    path = f"/api/identifiers/applications/{body['id']}"
    # The applicant sees the file's name, never its bytes; the reviewer downloads it.
    download = f"{path}/documents/{document['id']}"
    assert (await client.get(download, headers=applicant)).status_code == 403
    auditor = await world.bearer("reviewer", Role.AUDITOR)
    got = await client.get(download, headers=auditor)
    assert got.status_code == 200
    assert got.content == PDF
    assert got.headers["content-type"] == "application/pdf"
    assert got.headers["content-disposition"].startswith("attachment;")
    assert got.headers["x-content-type-options"] == "nosniff"
    refused = await client.post(f"{path}/reject", json={"reason": "x"}, headers=auditor)
    assert refused.status_code == 422
    rejected = await client.post(f"{path}/reject", json={"reason": "执照不清晰"}, headers=auditor)
    assert rejected.json()["status"] == "rejected"
    followed = (await client.get(path, headers=applicant)).json()
    assert followed["reason"] == "执照不清晰"
    assert [s["action"] for s in followed["timeline"]] == ["applied", "rejected"]
    async with db.session() as session:
        actions = set(await session.scalars(sa.select(AuditEntry.action)))
    assert {"prefix_application.document", "prefix_application.document_read"} <= actions


@pytest.mark.parametrize(
    ("changes", "licence", "code"),
    [
        ({}, ("licence.exe", b"MZ\x90\x00", "application/pdf"), "bad_document"),
        ({}, ("empty.pdf", b"", "application/pdf"), "bad_document"),
        ({"contact_phone": "call me"}, ("l.pdf", PDF, "application/pdf"), "bad_contact_phone"),
        ({"industry_class": "x"}, ("l.pdf", PDF, "application/pdf"), "bad_industry_class"),
        ({"prefix": "88.118.8"}, ("l.pdf", PDF, "application/pdf"), "prefix_exists"),
    ],
)
async def test_api_refusals_store_nothing(
    client: httpx.AsyncClient,
    world: World,
    db: Database,
    changes: dict[str, str],
    licence: tuple[str, bytes, str],
    code: str,
) -> None:
    enterprise_id, applicant = await _applicant(world)
    answer = await client.post(
        "/api/identifiers/applications",
        data={**FIELDS, "enterprise_id": str(enterprise_id), **changes},
        files={"licence": licence}, headers=applicant,
    )  # fmt: skip
    assert answer.status_code in (400, 409)
    assert answer.json()["error"] == code
    async with db.session() as session:
        assert await session.scalar(sa.select(sa.func.count()).select_from(PrefixApplication)) == 0
        count = sa.select(sa.func.count()).select_from(ApplicationDocument)
        assert await session.scalar(count) == 0


async def test_api_applies_only_for_own_enterprise(
    client: httpx.AsyncClient, world: World, prefixes: int
) -> None:
    _, applicant = await _applicant(world)
    answer = await client.post(
        "/api/identifiers/applications",
        data={**FIELDS, "enterprise_id": str(prefixes)},
        files={"licence": ("l.pdf", PDF, "application/pdf")}, headers=applicant,
    )  # fmt: skip
    assert answer.status_code == 403


async def test_console_apply_follow_and_review(client: httpx.AsyncClient, world: World) -> None:
    cable = await world.enterprise("Wujiang Cable", CODE_B)
    await world.user("cable", Role.ENTERPRISE, enterprises=(cable.id,))
    await sign_in(client, "cable")
    form = await client.get("/identifiers/applications/new")
    assert form.status_code == 200
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf
    fields = {**FIELDS, "enterprise_id": str(cable.id), "csrf": csrf[1]}
    bad = await client.post("/identifiers/applications/new", data=fields,
                            files={"licence": ("x.txt", b"hello", "text/plain")})  # fmt: skip
    assert bad.status_code == 400
    assert "x.txt" in bad.text
    assert 'value="王敏"' in bad.text  # the form keeps what was typed
    licence = {"licence": ("licence.pdf", PDF, "application/pdf")}
    sent = await client.post("/identifiers/applications/new", data=fields, files=licence)
    assert sent.status_code == 303
    page = await client.get(sent.headers["location"])
    assert page.status_code == 200
    assert "licence.pdf" in page.text
    assert "/documents/" not in page.text  # no download link for the applicant
    assert "88.118.9" in page.text
    await client.post("/logout", data={"csrf": csrf[1]})
    client.cookies.clear()
    await world.user("reviewer", Role.AUDITOR)
    await sign_in(client, "reviewer")
    page = await client.get(sent.headers["location"])
    link = re.search(r'href="(/identifiers/applications/\d+/documents/\d+)"', page.text)
    assert link
    assert (await client.get(link[1])).content == PDF
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token
    approve = sent.headers["location"] + "/approve"
    decided = await client.post(approve, data={"csrf": token[1]})
    assert decided.status_code == 303
    page = await client.get(decided.headers["location"])
    assert 'id="review"' not in page.text
    assert "approved" in page.text or "已批准" in page.text


async def test_api_unknown_enterprise_is_404(client: httpx.AsyncClient, world: World) -> None:
    admin = await world.bearer("root", Role.ADMIN)
    answer = await client.post(
        "/api/identifiers/applications",
        data={**FIELDS, "enterprise_id": "999999"},
        files={"licence": ("l.pdf", PDF, "application/pdf")}, headers=admin,
    )  # fmt: skip
    assert answer.status_code == 404
    assert answer.json()["error"] == "enterprise_not_found"
