"""A solution's documents: who uploads and deletes them, what is refused, every write audited."""

from __future__ import annotations

import httpx

from tests.solutions.conftest import Pool, solution

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


async def _upload(
    client: httpx.AsyncClient, pool: Pool, who: str, solution_id: int, *files: tuple[str, bytes]
) -> httpx.Response:
    return await client.post(
        f"/api/solutions/{solution_id}/documents",
        data={"kind": [kind for kind, _ in files]},
        files=[("file", (f"{kind}.bin", content)) for kind, content in files],
        headers=pool.h[who],
    )


async def test_the_providers_users_upload_everyone_reads_and_the_bureau_deletes(
    client: httpx.AsyncClient, pool: Pool
) -> None:
    offer = await solution(client, pool, "vendor", pool.provider)
    url = f"/api/solutions/{offer['id']}/documents"
    made = await _upload(client, pool, "vendor", offer["id"], ("brochure", PDF), ("other", PNG))
    assert made.status_code == 201, made.text
    brochure, image = made.json()
    assert (brochure["content_type"], image["content_type"]) == ("application/pdf", "image/png")
    assert brochure["uploaded_by"] == "vendor"
    # Another enterprise's user reads the pool and its documents, but does not change them.
    listed = await client.get(url, headers=pool.h["factory"])
    assert [d["id"] for d in listed.json()] == [brochure["id"], image["id"]]
    read = await client.get(f"{url}/{brochure['id']}", headers=pool.h["factory"])
    assert read.status_code == 200
    assert read.content == PDF
    assert read.headers["content-disposition"].startswith("attachment")
    assert read.headers["x-content-type-options"] == "nosniff"
    refused = await _upload(client, pool, "factory", offer["id"], ("brochure", PDF))
    assert refused.status_code == 403
    assert refused.json()["error"] == "provider_forbidden"
    gone = await client.delete(f"{url}/{image['id']}", headers=pool.h["factory"])
    assert gone.status_code == 403
    gone = await client.delete(f"{url}/{image['id']}", headers=pool.h["bureau"])
    assert gone.status_code == 204
    assert [d["id"] for d in (await client.get(url, headers=pool.h["vendor"])).json()] == [
        brochure["id"]
    ]
    again = await client.delete(f"{url}/{image['id']}", headers=pool.h["bureau"])
    assert again.status_code == 404
    assert again.json()["error"] == "document_not_found"
    log = await client.get(
        "/api/audit",
        params={"action": "solution_document.", "entity_type": "solution"},
        headers=pool.h["bureau"],
    )
    actions = sorted((e["action"], e["actor"]) for e in log.json()["items"])
    assert actions == [
        ("solution_document.create", "vendor"),
        ("solution_document.create", "vendor"),
        ("solution_document.delete", "bureau"),
    ]


async def test_a_bad_file_keeps_none_of_the_upload(client: httpx.AsyncClient, pool: Pool) -> None:
    offer = await solution(client, pool, "bureau", pool.institute)
    url = f"/api/solutions/{offer['id']}/documents"
    bad = await _upload(
        client, pool, "bureau", offer["id"], ("brochure", PDF), ("other", b"MZ not a scan")
    )
    assert bad.status_code == 400
    assert bad.json()["error"] == "bad_document"
    empty = await _upload(client, pool, "bureau", offer["id"], ("brochure", b""))
    assert empty.status_code == 400
    kind = await _upload(client, pool, "bureau", offer["id"], ("poster", PDF))
    assert kind.status_code == 400
    assert "brochure" in kind.json()["message"]
    assert (await client.get(url, headers=pool.h["bureau"])).json() == []
    missing = await _upload(client, pool, "bureau", 999999, ("brochure", PDF))
    assert missing.status_code == 404
    other = await solution(client, pool, "bureau", pool.institute, title_zh="另一个方案")
    made = (await _upload(client, pool, "bureau", offer["id"], ("brochure", PDF))).json()
    # A document is read only under its own solution.
    crossed = await client.get(
        f"/api/solutions/{other['id']}/documents/{made[0]['id']}", headers=pool.h["bureau"]
    )
    assert crossed.status_code == 404


async def test_a_solution_keeps_at_most_twenty_documents(
    client: httpx.AsyncClient, pool: Pool
) -> None:
    offer = await solution(client, pool, "bureau", pool.institute)
    made = await _upload(client, pool, "bureau", offer["id"], *[("other", PDF)] * 19)
    assert made.status_code == 201
    over = await _upload(client, pool, "bureau", offer["id"], ("other", PDF), ("other", PDF))
    assert over.status_code == 400
    assert over.json()["error"] == "too_many_documents"
    last = await _upload(client, pool, "bureau", offer["id"], ("other", PDF))
    assert last.status_code == 201


async def test_the_bureau_rewrites_a_provider(client: httpx.AsyncClient, pool: Pool) -> None:
    url = f"/api/solutions/providers/{pool.institute}"
    body = {"name": "工业互联网研究机构", "kind": "research", "website": "https://example.org"}
    denied = await client.put(url, json=body, headers=pool.h["vendor"])
    assert denied.status_code == 403
    done = await client.put(url, json=body, headers=pool.h["bureau"])
    assert done.status_code == 200, done.text
    assert done.json()["website"] == "https://example.org"
    taken = await client.put(
        url, json={**body, "name": "太湖工业互联网服务"}, headers=pool.h["bureau"]
    )
    assert taken.status_code == 409
    assert taken.json()["error"] == "provider_exists"
    # Unlinking the credit code takes the editing right from the enterprise's users.
    linked = f"/api/solutions/providers/{pool.provider}"
    plain = {"name": "太湖工业互联网服务", "kind": "service"}
    assert (await client.put(linked, json=plain, headers=pool.h["bureau"])).json()[
        "enterprise_id"
    ] is None
    refused = await client.post(
        f"{linked}/solutions",
        json={"title_zh": "能耗", "title_en": "Energy"},
        headers=pool.h["vendor"],
    )
    assert refused.status_code == 403
    log = await client.get(
        "/api/audit", params={"action": "solution_provider.update"}, headers=pool.h["bureau"]
    )
    assert len(log.json()["items"]) == 2
