"""Applications to programmes: the staged review's state machine, send back, authorization."""

from __future__ import annotations

from datetime import date

import httpx
import pytest
import sqlalchemy as sa

from taihu.accounts import AuditEntry, Role
from taihu.core import Database
from taihu.programmes import Award, ProgrammeApplication, ProgrammeDocument
from tests.conftest import CODE_A, CODE_B, World

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
FIELDS = {
    "contact_name": "王敏",
    "contact_phone": "138 0000 0000",
    "summary": "设备上云 120 台、能耗管理平台上线、单位产值能耗下降 8%。",
}
DOCS = [
    ("file", ("营业执照.pdf", PDF, "application/pdf")),
    ("file", ("申报书.pdf", PDF, "application/pdf")),
]


class Setup:
    """Two enterprises, each with a user, a bureau reviewer and an auditor."""

    def __init__(self, own: int, other: int, headers: dict[str, dict[str, str]]) -> None:
        self.own, self.other, self.h = own, other, headers


@pytest.fixture
async def setup(world: World) -> Setup:
    """The actors of a review."""
    own = await world.enterprise("Wujiang Silk", CODE_A)
    other = await world.enterprise("Wujiang Cable", CODE_B)
    headers = {
        "silk": await world.bearer("silk", Role.ENTERPRISE, enterprises=(own.id,)),
        "cable": await world.bearer("cable", Role.ENTERPRISE, enterprises=(other.id,)),
        "bureau": await world.bearer("bureau", Role.BUREAU),
        "auditor": await world.bearer("auditor", Role.AUDITOR),
    }
    return Setup(own.id, other.id, headers)


async def _programme(client: httpx.AsyncClient, s: Setup, key: str) -> dict[str, object]:
    programmes = (await client.get("/api/programmes", headers=s.h["silk"])).json()
    return next(p for p in programmes if p["key"] == key)


async def _apply(client: httpx.AsyncClient, s: Setup, key: str = "cloud_stars") -> dict:  # type: ignore[type-arg]
    programme = await _programme(client, s, key)
    answer = await client.post(
        "/api/programmes/applications",
        data={
            **FIELDS,
            "programme_id": str(programme["id"]),
            "enterprise_id": str(s.own),
            "kind": ["licence", "application_form"],
        },
        files=DOCS,
        headers=s.h["silk"],
    )
    assert answer.status_code == 201, answer.text
    body: dict = answer.json()  # type: ignore[type-arg]
    return body


async def _decide(
    client: httpx.AsyncClient,
    s: Setup,
    app_id: int,
    decision: str,
    who: str = "bureau",
    **extra: str,
) -> httpx.Response:
    return await client.post(
        "/api/programmes/decisions",
        headers=s.h[who],
        data={"application_id": str(app_id), "decision": decision, **extra},
    )


async def test_builtin_programmes_are_seeded_with_grades_and_stages(
    client: httpx.AsyncClient, setup: Setup
) -> None:
    programmes = {
        p["key"]: p for p in (await client.get("/api/programmes", headers=setup.h["silk"])).json()
    }
    assert {
        "iiot_pilot",
        "benchmark_factory",
        "cloud_stars",
        "two_integration",
        "specialised_sme",
    } <= programmes.keys()
    assert [g["key"] for g in programmes["cloud_stars"]["grades"]] == ["1", "2", "3", "4", "5"]
    assert [g["key"] for g in programmes["two_integration"]["grades"]] == ["AAA", "AA", "A"]
    assert programmes["iiot_pilot"]["stages"] == [
        "enterprise",
        "district",
        "city",
        "province",
        "national",
    ]
    assert programmes["iiot_pilot"]["level"] == "national"


async def test_review_through_every_stage_enters_the_award(
    client: httpx.AsyncClient, setup: Setup, db: Database
) -> None:
    body = await _apply(client, setup)
    assert (body["status"], body["stage"]) == ("in_review", "district")
    assert [d["kind"] for d in body["documents"]] == ["licence", "application_form"]
    app_id = body["id"]
    for stage in ("district", "city"):
        passed = await _decide(client, setup, app_id, "pass", comment=f"{stage} ok")
        assert passed.status_code == 200, passed.text
    assert passed.json()["stage"] == "province"
    # The last stage's pass needs a grade this programme knows.
    assert (await _decide(client, setup, app_id, "pass", grade="6")).json()["error"] == "bad_grade"
    final = await _decide(
        client, setup, app_id, "pass", grade="4", since="2026-12-01", comment="省厅公示"
    )
    assert final.json()["status"] == "approved"
    steps = [(s["stage"], s["decision"]) for s in final.json()["steps"]]
    assert steps == [
        ("enterprise", "submitted"),
        ("district", "passed"),
        ("city", "passed"),
        ("province", "passed"),
    ]
    awards = (await client.get("/api/programmes/awards", headers=setup.h["silk"])).json()
    assert [(a["programme"], a["grade"], a["level"], a["since"], a["until"]) for a in awards] == [
        ("cloud_stars", "4", "provincial", "2026-12-01", "2029-11-30")
    ]
    # Decided applications take no further step.
    again = await _decide(client, setup, app_id, "reject", comment="too late")
    assert (again.status_code, again.json()["error"]) == (409, "invalid_transition")
    async with db.session() as session:
        actions = list(
            await session.scalars(
                sa.select(AuditEntry.action)
                .where(AuditEntry.action.like("programme%"))
                .order_by(AuditEntry.id)
            )
        )
    assert actions == [
        "programme_application.apply",
        "programme_application.pass",
        "programme_application.pass",
        "programme_award.create",
        "programme_application.pass",
    ]


async def test_district_sends_back_and_the_enterprise_resubmits(
    client: httpx.AsyncClient, setup: Setup
) -> None:
    app_id = (await _apply(client, setup))["id"]
    no_comment = await _decide(client, setup, app_id, "return")
    assert no_comment.json()["error"] == "comment_required"
    returned = await _decide(client, setup, app_id, "return", comment="补充近一年能耗数据")
    assert (returned.json()["status"], returned.json()["stage"]) == ("returned", "district")
    # Returned: nobody decides until the enterprise resubmits.
    assert (await _decide(client, setup, app_id, "pass")).status_code == 409
    other = await client.post(
        "/api/programmes/resubmissions",
        headers=setup.h["cable"],
        data={"application_id": str(app_id)},
    )
    assert other.status_code == 404
    again = await client.post(
        "/api/programmes/resubmissions",
        headers=setup.h["silk"],
        data={
            "application_id": str(app_id),
            "summary": FIELDS["summary"] + " 附能耗月报。",
            "kind": ["report"],
            "comment": "已补充",
        },
        files=[("file", ("能耗月报.pdf", PDF, "application/pdf"))],
    )
    assert again.status_code == 200, again.text
    body = again.json()
    assert (body["status"], body["stage"]) == ("in_review", "district")
    assert body["form"]["summary"].endswith("附能耗月报。")
    assert [d["kind"] for d in body["documents"]] == ["licence", "application_form", "report"]
    # Only the district's stage sends back; the city's outcome is pass or reject.
    await _decide(client, setup, app_id, "pass")
    refused = await _decide(client, setup, app_id, "return", comment="x y")
    assert (refused.status_code, refused.json()["error"]) == (409, "invalid_transition")
    rejected = await _decide(client, setup, app_id, "reject", comment="市级未入围", who="bureau")
    assert rejected.json()["status"] == "rejected"
    assert [s["decision"] for s in rejected.json()["steps"]] == [
        "submitted",
        "returned",
        "resubmitted",
        "passed",
        "rejected",
    ]
    # Every step is in the audit log, by whom it was taken.
    log = await client.get(
        "/api/audit",
        params={"action": "programme_application.", "entity_type": "programme_application"},
        headers=setup.h["bureau"],
    )
    assert sorted((e["action"], e["actor"]) for e in log.json()["items"]) == [
        ("programme_application.apply", "silk"),
        ("programme_application.pass", "bureau"),
        ("programme_application.reject", "bureau"),
        ("programme_application.resubmit", "silk"),
        ("programme_application.return", "bureau"),
    ]


async def test_enterprise_cannot_review_and_sees_only_its_own(
    client: httpx.AsyncClient, setup: Setup
) -> None:
    app_id = (await _apply(client, setup))["id"]
    for who in ("silk", "auditor"):
        refused = await _decide(client, setup, app_id, "pass", who=who)
        assert (refused.status_code, refused.json()["error"]) == (403, "role_required")
    assert (
        await client.get(f"/api/programmes/applications/{app_id}", headers=setup.h["cable"])
    ).status_code == 404
    assert (await client.get("/api/programmes/applications", headers=setup.h["cable"])).json() == []
    assert (
        len((await client.get("/api/programmes/applications", headers=setup.h["auditor"])).json())
        == 1
    )
    # An enterprise cannot apply for another, nor read documents; reviewers can.
    programme = await _programme(client, setup, "cloud_stars")
    foreign = await client.post(
        "/api/programmes/applications",
        headers=setup.h["cable"],
        files=DOCS,
        data={
            **FIELDS,
            "programme_id": str(programme["id"]),
            "enterprise_id": str(setup.own),
            "kind": ["licence", "application_form"],
        },
    )
    assert foreign.status_code == 403
    document = (
        await client.get(f"/api/programmes/applications/{app_id}", headers=setup.h["silk"])
    ).json()["documents"][0]
    path = f"/api/programmes/applications/{app_id}/documents/{document['id']}"
    assert (await client.get(path, headers=setup.h["silk"])).status_code == 403
    got = await client.get(path, headers=setup.h["auditor"])
    assert (got.status_code, got.content) == (200, PDF)
    assert got.headers["content-disposition"].startswith("attachment;")
    # Withdrawal is the applicant's, not the bureau's.
    assert (
        await client.post(
            f"/api/programmes/applications/{app_id}/withdraw", headers=setup.h["cable"]
        )
    ).status_code == 404
    withdrawn = await client.post(
        f"/api/programmes/applications/{app_id}/withdraw", headers=setup.h["silk"]
    )
    assert withdrawn.json()["status"] == "withdrawn"


@pytest.mark.parametrize(
    ("kinds", "files", "changes", "code"),
    [
        (["licence"], [("file", ("l.pdf", PDF, "application/pdf"))], {}, "document_required"),
        (
            ["licence", "application_form"],
            [("file", ("l.pdf", PDF, "application/pdf")), ("file", ("x.exe", b"MZ\x90", "x/y"))],
            {},
            "bad_document",
        ),
        (
            ["licence", "application_form", "video"],
            [*DOCS, ("file", ("v.pdf", PDF, "a/b"))],
            {},
            "bad_document",
        ),
        (["licence", "application_form"], DOCS, {"contact_phone": "call me"}, "bad_contact_phone"),
        (["licence", "application_form"], DOCS, {"summary": "short"}, "bad_summary"),
    ],
)
async def test_bad_applications_store_nothing(
    client: httpx.AsyncClient,
    setup: Setup,
    db: Database,
    kinds: list[str],
    files: list[tuple[str, tuple[str, bytes, str]]],
    changes: dict[str, str],
    code: str,
) -> None:
    programme = await _programme(client, setup, "cloud_stars")
    answer = await client.post(
        "/api/programmes/applications",
        headers=setup.h["silk"],
        files=files,
        data={
            **FIELDS,
            **changes,
            "programme_id": str(programme["id"]),
            "enterprise_id": str(setup.own),
            "kind": kinds,
        },
    )
    assert (answer.status_code, answer.json()["error"]) == (400, code)
    async with db.session() as session:
        for table in (ProgrammeApplication, ProgrammeDocument):
            assert await session.scalar(sa.select(sa.func.count()).select_from(table)) == 0


async def test_one_open_application_per_programme_and_historical_awards(
    client: httpx.AsyncClient, setup: Setup, db: Database
) -> None:
    await _apply(client, setup)
    programme = await _programme(client, setup, "cloud_stars")
    twice = await client.post(
        "/api/programmes/applications",
        headers=setup.h["silk"],
        files=DOCS,
        data={
            **FIELDS,
            "programme_id": str(programme["id"]),
            "enterprise_id": str(setup.own),
            "kind": ["licence", "application_form"],
        },
    )
    assert (twice.status_code, twice.json()["error"]) == (409, "application_open")
    sme = await _programme(client, setup, "specialised_sme")
    body = {
        "programme_id": sme["id"],
        "enterprise_id": setup.other,
        "grade": "little_giant",
        "since": "2024-07-01",
        "note": "第五批",
    }
    assert (
        await client.post("/api/programmes/awards", json=body, headers=setup.h["silk"])
    ).status_code == 403
    made = await client.post("/api/programmes/awards", json=body, headers=setup.h["bureau"])
    assert made.status_code == 201, made.text
    assert (made.json()["level"], made.json()["until"], made.json()["source"]) == (
        "national",
        "2027-06-30",
        "historical",
    )
    dup = await client.post("/api/programmes/awards", json=body, headers=setup.h["bureau"])
    assert (dup.status_code, dup.json()["error"]) == (409, "award_exists")
    async with db.session() as session:
        award = await session.scalar(sa.select(Award))
    assert award is not None
    assert award.since == date(2024, 7, 1)
