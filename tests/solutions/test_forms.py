"""The pool's console forms: providers, solutions and guides written, documents kept, refusals."""

from __future__ import annotations

import re

import httpx

from taihu.accounts import Role
from tests.conftest import CODE_A, CODE_B, World
from tests.web.test_console import sign_in

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found
    return found[1]


async def test_the_bureau_writes_a_provider_a_solution_and_a_guide(
    client: httpx.AsyncClient, world: World
) -> None:
    firm = await world.enterprise("Taihu IIoT Services", CODE_B)
    await world.user("analyst", Role.BUREAU)
    await sign_in(client, "analyst")
    form = await client.get("/solutions/providers/new")
    assert form.status_code == 200
    csrf = _csrf(form.text)
    provider = {
        "csrf": csrf, "name": "太湖工业互联网服务", "name_en": "Taihu IIoT", "kind": "service",
        "credit_code": "not a code",
    }  # fmt: skip
    refused = await client.post("/solutions/providers/save", data=provider)
    assert refused.status_code == 400
    assert 'id="provider-error"' in refused.text
    assert 'value="太湖工业互联网服务"' in refused.text  # what was typed is kept
    made = await client.post("/solutions/providers/save", data={**provider, "credit_code": CODE_B})
    assert made.status_code == 303
    provider_url = made.headers["location"]
    provider_id = int(provider_url.rsplit("/", 1)[1])
    page = await client.get(provider_url)
    assert 'id="edit-provider"' in page.text
    renamed = await client.post(
        "/solutions/providers/save",
        data={**provider, "credit_code": CODE_B, "provider_id": str(provider_id),
              "website": "https://example.com"},
    )  # fmt: skip
    assert renamed.headers["location"] == provider_url
    assert (await client.get(f"/solutions/providers/{provider_id}/edit")).text.count(
        "https://example.com"
    ) == 1

    new = await client.get(f"/solutions/providers/{provider_id}/solutions/new")
    assert 'id="solution-form"' in new.text
    offer = {
        "csrf": csrf, "provider_id": str(provider_id), "title_zh": "光缆拉丝能耗管理",
        "title_en": "Fibre drawing energy", "summary": "分项计量", "tag": ["energy", "predictive"],
        "industry_codes": "3833， 38", "segments": "fibre.drawing", "price_min": "20",  # noqa: RUF001 - a Chinese comma
        "price_max": "10",
    }  # fmt: skip
    backwards = await client.post("/solutions/save", data=offer)
    assert backwards.status_code == 400
    assert 'id="solution-error"' in backwards.text
    assert 'value="光缆拉丝能耗管理"' in backwards.text
    assert re.search(r'value="predictive" checked', backwards.text)
    saved = await client.post("/solutions/save", data={**offer, "price_max": "50"})
    assert saved.status_code == 303, saved.text
    solution_url = saved.headers["location"]
    solution_id = int(solution_url.rsplit("/", 1)[1])
    detail = (await client.get(f"/api/solutions/{solution_id}", headers=await world.bearer(
        "reader", Role.BUREAU))).json()  # fmt: skip
    assert detail["industry_codes"] == ["3833", "38"]
    assert detail["tags"] == ["energy", "predictive"]
    assert (detail["price_min"], detail["price_max"]) == (20, 50)
    edited = await client.post(
        "/solutions/save",
        data={**offer, "price_max": "50", "solution_id": str(solution_id), "title_en": "Drawing"},
    )
    assert edited.headers["location"] == solution_url

    guide = {
        "csrf": csrf, "industry_code": "3833", "title_zh": "光缆行业应用指南",
        "title_en": "Optical cable guide", "body": "从设备上云开始。",
        "solution": [str(solution_id)], "published": "true",
    }  # fmt: skip
    wrong = await client.post("/solutions/guides/save", data={**guide, "industry_code": "9999"})
    assert wrong.status_code == 400
    assert 'id="guide-error"' in wrong.text
    written = await client.post("/solutions/guides/save", data=guide)
    assert written.status_code == 303
    listed = await client.get("/solutions/guides")
    assert "光缆行业应用指南" in listed.text
    public = await client.get("/guides")
    assert "光缆行业应用指南" in public.text
    assert firm.id  # the provider was linked to the registry's enterprise by its credit code


async def test_a_provider_user_edits_its_solutions_and_documents_only(
    client: httpx.AsyncClient, world: World
) -> None:
    firm = await world.enterprise("Taihu IIoT Services", CODE_B)
    other = await world.enterprise("Wujiang Silk", CODE_A)
    bureau = await world.bearer("bureau", Role.BUREAU)
    provider = (
        await client.post(
            "/api/solutions/providers",
            headers=bureau,
            json={"name": "太湖工业互联网服务", "kind": "service", "credit_code": CODE_B},
        )
    ).json()
    await world.user("vendor", Role.ENTERPRISE, enterprises=(firm.id,))
    await world.user("silk", Role.ENTERPRISE, enterprises=(other.id,))
    await sign_in(client, "vendor")
    page = await client.get(f"/solutions/providers/{provider['id']}")
    assert 'id="new-solution"' in page.text
    assert 'id="edit-provider"' not in page.text  # the provider's facts are the bureau's
    assert (await client.get(f"/solutions/providers/{provider['id']}/edit")).status_code == 403
    csrf = _csrf(page.text)
    saved = await client.post(
        "/solutions/save",
        data={"csrf": csrf, "provider_id": str(provider["id"]), "title_zh": "设备上云",
              "title_en": "Devices to the cloud", "tag": ["device_cloud"]},
    )  # fmt: skip
    assert saved.status_code == 303
    solution_url = saved.headers["location"]
    uploaded = await client.post(
        f"{solution_url}/documents",
        data={"csrf": csrf, "kind": "brochure"},
        files={"file": ("方案介绍.pdf", PDF, "application/pdf")},
    )
    assert uploaded.status_code == 303
    not_a_scan = await client.post(
        f"{solution_url}/documents",
        data={"csrf": csrf, "kind": "brochure"},
        files={"file": ("notes.txt", b"plain text", "text/plain")},
    )
    assert not_a_scan.status_code == 400
    assert 'id="solution-error"' in not_a_scan.text
    shown = await client.get(solution_url)
    link = re.search(r'href="(/solutions/\d+/documents/\d+)"', shown.text)
    assert link
    assert "方案介绍.pdf" in shown.text
    assert (await client.get(link[1])).content == PDF
    no_csrf = await client.post(f"{link[1]}/delete", data={"csrf": "wrong"})
    assert no_csrf.status_code == 403

    await client.post("/logout", data={"csrf": csrf})
    await sign_in(client, "silk")
    shown = await client.get(solution_url)
    assert "方案介绍.pdf" in shown.text  # everyone signed in reads the pool
    assert 'id="document-form"' not in shown.text
    assert (await client.get(link[1])).content == PDF
    csrf = _csrf(shown.text)
    refused = await client.post(f"{link[1]}/delete", data={"csrf": csrf})
    assert refused.status_code == 403
    forged = await client.post(
        "/solutions/save",
        data={"csrf": csrf, "provider_id": str(provider["id"]), "title_zh": "冒名",
              "title_en": "Forged"},
    )  # fmt: skip
    assert forged.status_code == 403
    assert (await client.get("/solutions/providers/new")).status_code == 403
    assert (await client.get("/solutions/guides")).status_code == 403
