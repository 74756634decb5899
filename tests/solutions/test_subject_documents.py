"""Documents of providers and reference cases: API and console, who writes, limits, audit."""

from __future__ import annotations

import re

import httpx

from taihu.accounts import Role
from tests.conftest import World
from tests.solutions.conftest import Pool, solution
from tests.web.test_console import sign_in

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 32


async def _upload(
    client: httpx.AsyncClient, pool: Pool, who: str, url: str, *files: tuple[str, bytes]
) -> httpx.Response:
    return await client.post(
        url,
        data={"kind": [kind for kind, _ in files]},
        files=[("file", (f"{kind}.bin", content)) for kind, content in files],
        headers=pool.h[who],
    )


async def _case(client: httpx.AsyncClient, pool: Pool, who: str, solution_id: int) -> int:
    made = await client.post(
        f"/api/solutions/{solution_id}/cases",
        json={"enterprise_name": "吴江丝绸", "change": "设备上云 40 台", "results": "能耗 -8%"},
        headers=pool.h[who],
    )
    assert made.status_code == 201, made.text
    case_id: int = made.json()["id"]
    return case_id


async def test_a_providers_documents_its_users_and_the_bureau_write(
    client: httpx.AsyncClient, pool: Pool
) -> None:
    url = f"/api/solutions/providers/{pool.provider}/documents"
    made = await _upload(client, pool, "vendor", url, ("certificate", PDF), ("brochure", JPEG))
    assert made.status_code == 201, made.text
    certificate, brochure = made.json()
    assert (certificate["content_type"], brochure["content_type"]) == (
        "application/pdf",
        "image/jpeg",
    )
    # Every signed-in user reads them; another enterprise's user changes nothing.
    listed = await client.get(url, headers=pool.h["factory"])
    assert [d["id"] for d in listed.json()] == [certificate["id"], brochure["id"]]
    read = await client.get(f"{url}/{certificate['id']}", headers=pool.h["factory"])
    assert read.content == PDF
    assert read.headers["content-disposition"].startswith("attachment")
    refused = await _upload(client, pool, "factory", url, ("brochure", PDF))
    assert refused.status_code == 403
    assert refused.json()["error"] == "provider_forbidden"
    assert (
        await client.delete(f"{url}/{brochure['id']}", headers=pool.h["factory"])
    ).status_code == 403
    # The institute is no enterprise: only the bureau writes its documents.
    institute = f"/api/solutions/providers/{pool.institute}/documents"
    assert (await _upload(client, pool, "vendor", institute, ("other", PDF))).status_code == 403
    assert (await _upload(client, pool, "bureau", institute, ("other", PDF))).status_code == 201
    # A document is read and deleted only under its own provider.
    crossed = await client.get(f"{institute}/{certificate['id']}", headers=pool.h["bureau"])
    assert crossed.status_code == 404
    assert (
        await client.delete(f"{url}/{brochure['id']}", headers=pool.h["bureau"])
    ).status_code == 204
    missing = await client.get(
        "/api/solutions/providers/999999/documents", headers=pool.h["bureau"]
    )
    assert missing.status_code == 404
    log = await client.get(
        "/api/audit",
        params={"action": "solution_provider_document.", "entity_type": "solution_provider"},
        headers=pool.h["bureau"],
    )
    actions = sorted((e["action"], e["actor"]) for e in log.json()["items"])
    assert actions == [
        ("solution_provider_document.create", "bureau"),
        ("solution_provider_document.create", "vendor"),
        ("solution_provider_document.create", "vendor"),
        ("solution_provider_document.delete", "bureau"),
    ]


async def test_a_cases_documents_follow_its_solutions_provider(
    client: httpx.AsyncClient, pool: Pool
) -> None:
    offer = await solution(client, pool, "vendor", pool.provider)
    case_id = await _case(client, pool, "vendor", offer["id"])
    url = f"/api/solutions/cases/{case_id}/documents"
    bad = await _upload(client, pool, "vendor", url, ("case_report", PDF), ("other", b"MZ exe"))
    assert bad.status_code == 400
    assert bad.json()["error"] == "bad_document"
    assert (await client.get(url, headers=pool.h["vendor"])).json() == []  # none of it kept
    kind = await _upload(client, pool, "vendor", url, ("poster", PDF))
    assert kind.status_code == 400
    assert (await _upload(client, pool, "vendor", url)).status_code == 400  # no file at all
    made = await _upload(client, pool, "vendor", url, ("case_report", PDF))
    assert made.status_code == 201
    assert (await _upload(client, pool, "factory", url, ("other", PDF))).status_code == 403
    over = await _upload(client, pool, "bureau", url, *[("other", PDF)] * 20)
    assert over.status_code == 400
    assert over.json()["error"] == "too_many_documents"
    document = made.json()[0]["id"]
    assert (await client.get(f"{url}/{document}", headers=pool.h["factory"])).content == PDF
    # The same id under the provider (or another case) is not found.
    other = await _case(client, pool, "vendor", offer["id"])
    assert (
        await client.get(
            f"/api/solutions/cases/{other}/documents/{document}", headers=pool.h["vendor"]
        )
    ).status_code == 404
    assert (
        await client.get(
            f"/api/solutions/providers/{pool.provider}/documents/{document}",
            headers=pool.h["vendor"],
        )
    ).status_code == 404
    assert (await client.delete(f"{url}/{document}", headers=pool.h["vendor"])).status_code == 204
    assert (
        await client.get("/api/solutions/cases/999999/documents", headers=pool.h["vendor"])
    ).json()["error"] == "case_not_found"
    log = await client.get(
        "/api/audit", params={"action": "solution_case_document."}, headers=pool.h["bureau"]
    )
    assert sorted(e["action"] for e in log.json()["items"]) == [
        "solution_case_document.create",
        "solution_case_document.delete",
    ]


async def test_the_console_shows_and_takes_provider_and_case_documents(
    client: httpx.AsyncClient, pool: Pool, world: World
) -> None:
    offer = await solution(client, pool, "vendor", pool.provider)
    case_id = await _case(client, pool, "vendor", offer["id"])
    await world.user("vendor-web", Role.ENTERPRISE, enterprises=(pool.provider_firm,))
    await world.user("factory-web", Role.ENTERPRISE, enterprises=(pool.factory,))
    await sign_in(client, "vendor-web")
    page = await client.get(f"/solutions/providers/{pool.provider}")
    assert 'id="provider-document-form"' in page.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf
    base = f"/solutions/providers/{pool.provider}/documents"
    done = await client.post(
        base,
        data={"csrf": csrf[1], "kind": "certificate"},
        files={"file": ("资质证书.pdf", PDF, "application/pdf")},
    )
    assert done.status_code == 303
    assert done.headers["location"] == f"/solutions/providers/{pool.provider}#documents"
    refused = await client.post(
        base,
        data={"csrf": csrf[1], "kind": "certificate"},
        files={"file": ("notes.txt", b"plain", "text/plain")},
    )
    assert refused.status_code == 400
    assert 'id="provider-error"' in refused.text
    case_base = f"/solutions/cases/{case_id}/documents"
    done = await client.post(
        case_base,
        data={"csrf": csrf[1], "kind": "case_report"},
        files={"file": ("验收报告.pdf", PDF, "application/pdf")},
    )
    assert done.status_code == 303
    assert done.headers["location"] == f"/solutions/{offer['id']}#case-{case_id}"
    shown = await client.get(f"/solutions/{offer['id']}")
    assert "验收报告.pdf" in shown.text
    assert f'id="case-{case_id}-document-form"' in shown.text
    link = re.search(rf'href="({case_base}/\d+)"', shown.text)
    assert link
    assert (await client.get(link[1])).content == PDF
    provider_page = await client.get(f"/solutions/providers/{pool.provider}")
    assert "资质证书.pdf" in provider_page.text
    provider_link = re.search(rf'href="({base}/\d+)"', provider_page.text)
    assert provider_link

    await client.post("/logout", data={"csrf": csrf[1]})
    await sign_in(client, "factory-web")
    shown = await client.get(f"/solutions/{offer['id']}")
    assert "验收报告.pdf" in shown.text  # read by everyone signed in
    assert "document-form" not in shown.text
    assert (await client.get(provider_link[1])).content == PDF
    csrf = re.search(r'name="csrf" value="([^"]+)"', shown.text)
    assert csrf
    assert (await client.post(f"{link[1]}/delete", data={"csrf": csrf[1]})).status_code == 403
    assert (
        await client.post(f"{provider_link[1]}/delete", data={"csrf": csrf[1]})
    ).status_code == 403
    missing = await client.get(f"{case_base}/999999")
    assert missing.status_code == 404
