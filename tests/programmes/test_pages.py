"""Console pages of programmes: apply, review stage by stage, the registry; navigation per role."""

from __future__ import annotations

import re

import httpx

from taihu.accounts import Role
from tests.conftest import CODE_A, CODE_B, World
from tests.programmes.test_applications import FIELDS, PDF
from tests.web.test_console import sign_in


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found
    return found[1]


async def _programme_id(client: httpx.AsyncClient, key: str) -> int:
    page = await client.get("/programmes")
    names = {"cloud_stars": "星级上云企业", "iiot_pilot": "工业互联网试点示范项目"}
    found = re.search(r'<a href="/programmes/(\d+)">' + names[key], page.text)
    assert found, page.text
    return int(found[1])


async def test_application_from_the_console_through_two_stages_to_the_registry(
    client: httpx.AsyncClient, world: World
) -> None:
    silk = await world.enterprise("Wujiang Silk", CODE_A)
    await world.user("silk", Role.ENTERPRISE, enterprises=(silk.id,))
    await world.user("bureau", Role.BUREAU)
    await sign_in(client, "silk")
    home = await client.get("/programmes")
    assert 'href="/programmes/registry"' not in home.text  # not in an enterprise's navigation
    assert (await client.get("/programmes/registry")).status_code == 403
    programme_id = await _programme_id(client, "cloud_stars")
    page = await client.get(f"/programmes/{programme_id}")
    assert 'id="apply-form"' in page.text
    csrf = _csrf(page.text)
    fields = {
        **FIELDS,
        "csrf": csrf,
        "programme_id": str(programme_id),
        "enterprise_id": str(silk.id),
        "kind": ["licence", "application_form"],
    }
    missing = await client.post(
        "/programmes/apply",
        data=fields,
        files=[
            ("file", ("l.pdf", PDF, "application/pdf")),
            ("file", ("", b"", "application/octet-stream")),
        ],
    )
    assert missing.status_code == 400
    assert "申报书" in missing.text  # the missing document, named in the reader's language
    sent = await client.post(
        "/programmes/apply",
        data=fields,
        files=[
            ("file", ("l.pdf", PDF, "application/pdf")),
            ("file", ("f.pdf", PDF, "application/pdf")),
        ],
    )
    assert sent.status_code == 303
    path = sent.headers["location"]
    application_id = path.rsplit("/", 1)[1]
    mine = await client.get(path)
    assert "审核中" in mine.text
    assert 'id="decide-form"' not in mine.text
    await client.post("/logout", data={"csrf": csrf})

    await sign_in(client, "bureau")
    listed = await client.get("/programmes")
    assert f'href="/programmes/applications/{application_id}"' in listed.text
    page = await client.get(path)
    assert 'value="return"' in page.text  # the district's stage may send back
    csrf = _csrf(page.text)
    decided = await client.post(
        "/programmes/decide",
        data={
            "csrf": csrf,
            "application_id": application_id,
            "decision": "pass",
            "comment": "材料齐全",
        },
        files={"file": ("", b"", "application/octet-stream")},
    )
    assert decided.status_code == 303
    page = await client.get(path)
    assert 'value="return"' not in page.text  # the city's outcome is entered, not sent back
    assert "区工信局" in page.text or "区级主管部门" in page.text
    await client.post(
        "/programmes/decide",
        data={"csrf": csrf, "application_id": application_id, "decision": "pass"},
    )
    final = await client.post(
        "/programmes/decide",
        data={
            "csrf": csrf,
            "application_id": application_id,
            "decision": "pass",
            "grade": "5",
            "since": "2026-11-20",
            "comment": "省厅公示",
        },
        files={"file": ("公示.pdf", PDF, "application/pdf")},
    )
    assert final.status_code == 303
    page = await client.get(path)
    assert "已批准" in page.text
    assert "公示.pdf" in page.text
    registry = await client.get("/programmes/registry")
    assert registry.status_code == 200
    assert "Wujiang Silk" in registry.text
    assert "2029-11-19" in registry.text
    exported = await client.get("/programmes/registry/export")
    assert exported.headers["content-type"].startswith("application/vnd.openxmlformats")


async def test_registry_import_in_the_console_reports_rows(
    client: httpx.AsyncClient, world: World
) -> None:
    await world.enterprise("Wujiang Cable", CODE_B)
    await world.user("bureau", Role.BUREAU)
    await sign_in(client, "bureau")
    page = await client.get("/programmes/registry")
    csrf = _csrf(page.text)
    text = f"programme,credit_code,grade,since\ntwo_integration,{CODE_B},AAAA,2025-01-01\n"
    answer = await client.post(
        "/programmes/registry/import",
        data={"csrf": csrf},
        files={"file": ("a.csv", text.encode(), "text/csv")},
    )
    assert answer.status_code == 200
    assert "AAA, AA, A" in answer.text  # the row's problem, with the grades it may take
    assert "暂无获评记录" in answer.text or "No awards yet." in answer.text
