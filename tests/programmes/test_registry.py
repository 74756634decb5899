"""The award registries: import with a row report, export, expiry reminders, counts."""

from __future__ import annotations

import io
from datetime import timedelta

import httpx
import sqlalchemy as sa
from openpyxl import load_workbook

from taihu.accounts import Role
from taihu.core import Database, FrozenClock
from taihu.programmes import Award
from tests.conftest import CODE_A, CODE_B, World

CSV = (
    "项目,统一社会信用代码,等级,认定日期,备注\n"
    f"cloud_stars,{CODE_A},5,2025-03-01,第一批\n"
    f"两化融合管理体系贯标试点企业,{CODE_B},AA,2024-06-15,\n"
    f"specialised_sme,{CODE_A},little_giant,2023-07-01,第五批\n"
)
BAD_ROWS = (
    f"no_such_programme,{CODE_A},,2025-01-01,\n"
    "cloud_stars,91320509MA0TXT010X,3,2025-01-01,\n"
    f"cloud_stars,{CODE_B},7,2025-01-01,\n"
    f"iiot_pilot,{CODE_B},,2025-13-01,\n"
)


async def _actors(world: World) -> tuple[dict[str, str], dict[str, str], int]:
    silk = await world.enterprise("Wujiang Silk", CODE_A)
    await world.enterprise("Wujiang Cable", CODE_B)
    bureau = await world.bearer("bureau", Role.BUREAU)
    own = await world.bearer("silk", Role.ENTERPRISE, enterprises=(silk.id,))
    return bureau, own, silk.id


async def _import(
    client: httpx.AsyncClient, headers: dict[str, str], text: str, **params: str
) -> dict:  # type: ignore[type-arg]
    answer = await client.post(
        "/api/programmes/awards/import",
        headers=headers,
        params=params,
        files={"file": ("awards.csv", text.encode(), "text/csv")},
    )
    assert answer.status_code == 200, answer.text
    report: dict = answer.json()  # type: ignore[type-arg]
    return report


async def _count(db: Database) -> int:
    async with db.session() as session:
        return int(await session.scalar(sa.select(sa.func.count()).select_from(Award)) or 0)


async def test_import_reports_bad_rows_and_writes_nothing_unless_asked(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    bureau, own, _ = await _actors(world)
    report = await _import(client, bureau, CSV + BAD_ROWS)
    assert (report["rows"], report["applied"], report["skipped"]) == (7, False, 4)
    assert [(p["row"], p["column"]) for p in report["problems"]] == [
        (5, "programme"),
        (6, "credit_code"),
        (7, "grade"),
        (8, "since"),
    ]
    assert await _count(db) == 0
    report = await _import(client, bureau, CSV + BAD_ROWS, skip_invalid="true")
    assert (report["applied"], report["created"]) == (True, 3)
    assert await _count(db) == 3
    # Re-import: same awards unchanged, a changed grade updated.
    changed = CSV.replace("cloud_stars,91320509MA0TXT010F,5", "cloud_stars,91320509MA0TXT010F,4")
    report = await _import(client, bureau, changed)
    assert (report["created"], report["updated"], report["unchanged"]) == (0, 1, 2)
    refused = await client.post(
        "/api/programmes/awards/import",
        headers=own,
        files={"file": ("a.csv", CSV.encode(), "text/csv")},
    )
    assert refused.status_code == 403


async def test_export_imports_back_and_enterprises_see_their_own(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    bureau, own, silk_id = await _actors(world)
    await _import(client, bureau, CSV)
    exported = await client.get("/api/programmes/awards/export", headers=bureau)
    assert exported.status_code == 200
    sheet = load_workbook(io.BytesIO(exported.content)).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("programme", "项目名称", "credit_code")
    assert sorted((r[0], r[2], r[5]) for r in rows[1:]) == [
        ("cloud_stars", CODE_A, "5"),
        ("specialised_sme", CODE_A, "little_giant"),
        ("two_integration", CODE_B, "AA"),
    ]
    back = await client.post(
        "/api/programmes/awards/import",
        headers=bureau,
        files={"file": ("awards.xlsx", exported.content, "application/x")},
    )
    assert (back.json()["unchanged"], back.json()["problems"]) == (3, [])
    assert (await client.get("/api/programmes/awards/export", headers=own)).status_code == 403
    mine = (await client.get("/api/programmes/awards", headers=own)).json()
    assert {a["enterprise_id"] for a in mine} == {silk_id}
    assert len(mine) == 2


async def test_expiring_awards_and_counts(
    client: httpx.AsyncClient, world: World, clock: FrozenClock
) -> None:
    bureau, _, _ = await _actors(world)
    # The clock stands at 2026-11-25: cloud_stars from 2024-01-10 runs until 2027-01-09.
    await _import(
        client,
        bureau,
        (
            "programme,credit_code,grade,since\n"
            f"cloud_stars,{CODE_A},3,2024-01-10\n"
            f"two_integration,{CODE_B},A,2025-06-01\n"
            f"cloud_stars,{CODE_B},2,2023-01-01\n"  # lapsed on 2025-12-31
        ),
    )
    soon = (
        await client.get("/api/programmes/awards", params={"expiring_days": 60}, headers=bureau)
    ).json()
    assert [(a["programme"], a["until"]) for a in soon] == [("cloud_stars", "2027-01-09")]
    clock.advance(timedelta(days=60))
    assert (
        await client.get("/api/programmes/awards", params={"expiring_days": 60}, headers=bureau)
    ).json() == []
    counts = (await client.get("/api/programmes/awards/counts", headers=bureau)).json()
    assert [(c["programme"], c["level"], c["year"], c["count"]) for c in counts] == [
        ("two_integration", "provincial", 2025, 1),
        ("cloud_stars", "provincial", 2024, 1),
        ("cloud_stars", "provincial", 2023, 1),
    ]
