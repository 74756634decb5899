import io

import httpx
import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from taihu.accounts import AuditEntry, Principal, Role
from taihu.core import Database, FrozenClock, InvalidInput
from taihu.enterprises import (
    Enterprise,
    import_registry,
    industry_class,
    industry_classes,
    township,
    townships,
)
from tests.conftest import CODE_A, CODE_B, World

HEADER = "credit_code,name,township,industry_code,above_size,employees,revenue_band\n"


def _xlsx(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def _count(db: Database, model: type) -> int:
    async with db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_a_bad_row_stops_the_whole_file_and_says_where(db: Database, clock) -> None:
    content = (
        HEADER
        + f"{CODE_A},七都示例光缆,七都镇,3833,是,420,100M-1B\n"
        + f"{CODE_B[:-1]}X,坏代码,盛泽镇,1751,0,,\n"
        + f"{CODE_B},未知行业,盛泽镇,9999,0,abc,lots\n"
    ).encode()
    async with db.session() as session:
        report = await import_registry(session, clock, Principal.system(), "e.csv", content)
    assert not report.applied
    problems = sorted((p.row, p.column) for p in report.problems)
    assert problems == [
        (3, "credit_code"),
        (4, "employees"),
        (4, "industry_code"),
        (4, "revenue_band"),
    ]
    assert any("GB 32100" in p.reason for p in report.problems if p.row == 3)
    assert await _count(db, Enterprise) == 0  # nothing half-written
    assert await _count(db, AuditEntry) == 0


async def test_each_bad_cell_is_reported_by_column(db: Database, clock) -> None:
    content = (
        HEADER + f"{CODE_B},未知行业,火星镇,9999,maybe,12,lots\n" + ",,,,,,\n" + ",缺代码,,,,,\n"
    ).encode()
    async with db.session() as session:
        report = await import_registry(session, clock, Principal.system(), "e.csv", content)
    by_column = {p.column for p in report.problems if p.row == 2}
    assert by_column == {"above_size", "township", "industry_code", "revenue_band"}
    content = (
        HEADER + f"{CODE_B},未知行业,火星镇,9999,0,12,lots\n" + ",缺代码,,,,,\n"
        + f"{CODE_A},{'长' * 201},,,,,\n"
    ).encode()  # fmt: skip
    async with db.session() as session:
        report = await import_registry(session, clock, Principal.system(), "e.csv", content)
    got = sorted((p.row, p.column) for p in report.problems)
    assert got == [
        (2, "industry_code"), (2, "revenue_band"), (2, "township"), (3, "credit_code"),
        (4, "name"),
    ]  # fmt: skip
    reasons = {p.column: p.reason for p in report.problems}
    assert "GB/T 4754" in reasons["industry_code"]
    assert reasons["credit_code"] == "required"


async def test_skip_invalid_writes_whole_valid_rows_only(db: Database, clock) -> None:
    content = (
        HEADER
        + f"{CODE_A},七都示例光缆,320509107,3833,1,420,\n"
        + f"{CODE_B},坏行,盛泽镇,9999,0,,\n"
    ).encode()
    async with db.session() as session:
        report = await import_registry(
            session, clock, Principal.system(), "e.csv", content, skip_invalid=True
        )
    assert report.applied
    assert (report.created, report.skipped) == (1, 1)
    async with db.session() as session:
        row = await session.scalar(select(Enterprise))
    assert row is not None
    assert (row.credit_code, row.township_code, row.industry_code) == (CODE_A, "320509107", "3833")
    assert row.above_size is True
    assert row.employees == 420


async def test_reimport_updates_by_credit_code_and_audits_the_change(
    db: Database, clock: FrozenClock
) -> None:
    first = _xlsx(
        [
            ["统一社会信用代码", "企业名称", "镇街", "行业代码", "规上企业", "链主"],
            [CODE_A, "七都示例光缆", "七都镇", "C3833", "是", "否"],
        ]
    )
    second = _xlsx(
        [
            ["统一社会信用代码", "企业名称", "镇街", "行业代码", "规上企业", "链主"],
            [CODE_A, "七都示例光缆", "七都镇", 3833, "是", "是"],
            [CODE_B, "盛泽示例化纤", "盛泽镇", 2822, 0, 0],
        ]
    )
    async with db.session() as session:
        one = await import_registry(session, clock, Principal.system(), "a.xlsx", first)
    assert (one.created, one.updated, one.applied) == (1, 0, True)
    async with db.session() as session:
        dry = await import_registry(
            session, clock, Principal.system(), "a.xlsx", second, dry_run=True
        )
    assert (dry.created, dry.updated, dry.applied) == (1, 1, False)
    async with db.session() as session:
        two = await import_registry(session, clock, Principal.system(), "a.xlsx", second)
    assert (two.created, two.updated, two.unchanged) == (1, 1, 0)
    assert await _count(db, Enterprise) == 2
    async with db.session() as session:
        updates = list(
            await session.scalars(
                select(AuditEntry).where(AuditEntry.action == "enterprise.update")
            )
        )
    assert [(u.before, u.after) for u in updates] == [
        ({"chain_leader": False}, {"chain_leader": True})
    ]
    async with db.session() as session:
        same = await import_registry(session, clock, Principal.system(), "a.xlsx", second)
    assert same.unchanged == 2


async def test_file_level_problems(db: Database, clock) -> None:
    async with db.session() as session:
        with pytest.raises(InvalidInput, match=r"xlsx or \.csv"):
            await import_registry(session, clock, Principal.system(), "e.pdf", b"%PDF")
        with pytest.raises(InvalidInput, match="not a readable xlsx"):
            await import_registry(session, clock, Principal.system(), "e.xlsx", b"not a zip")
        report = await import_registry(
            session, clock, Principal.system(), "e.csv", b"name,colour\nX,red\n"
        )
    # Every header problem at once (the shared reader reports missing and unknown columns alike).
    assert [(p.row, p.column) for p in report.problems] == [(1, "credit_code"), (1, "colour")]
    assert not report.applied
    dup = (HEADER + f"{CODE_A},甲,,,,,\n{CODE_A.lower()},乙,,,,,\n").encode()
    async with db.session() as session:
        report = await import_registry(session, clock, Principal.system(), "d.csv", dup)
    assert [(p.row, p.reason) for p in report.problems] == [(3, "repeats row 2")]


async def test_gb18030_csv_is_read(db: Database, clock) -> None:
    content = (HEADER + f"{CODE_A},七都示例光缆,七都镇,3833,是,,\n").encode("gb18030")
    async with db.session() as session:
        report = await import_registry(session, clock, Principal.system(), "e.csv", content)
    assert report.applied


async def test_import_api_and_permissions(client: httpx.AsyncClient, world: World) -> None:
    analyst = await world.bearer("ana", Role.BUREAU)
    content = (HEADER + f"{CODE_A},七都示例光缆,七都镇,3833,是,420,100M-1B\n").encode()
    response = await client.post(
        "/api/enterprises/import", files={"file": ("e.csv", content)}, headers=analyst
    )
    assert response.status_code == 200, response.text
    assert response.json()["created"] == 1
    mine = (await client.get("/api/enterprises", headers=analyst)).json()["items"][0]
    assert mine["township_name"] == "七都镇"
    assert mine["industry_name"] == "光缆制造"
    factory = await world.bearer("fac", Role.ENTERPRISE, enterprises=(mine["id"],))
    denied = await client.post(
        "/api/enterprises/import", files={"file": ("e.csv", content)}, headers=factory
    )
    assert denied.status_code == 403


async def test_filters(client: httpx.AsyncClient, world: World) -> None:
    analyst = await world.bearer("ana", Role.BUREAU)
    for code, name, town, industry, flag in (
        (CODE_A, "七都示例光缆", "320509107", "3833", True),
        (CODE_B, "盛泽示例化纤", "320509105", "2822", False),
    ):
        created = await client.post(
            "/api/enterprises",
            json={"name": name, "credit_code": code, "township_code": town,
                  "industry_code": industry, "chain_leader": flag},
            headers=analyst,
        )  # fmt: skip
        assert created.status_code == 201, created.text

    async def names(**params: object) -> list[str]:
        got = await client.get("/api/enterprises", params=params, headers=analyst)
        return [e["name"] for e in got.json()["items"]]

    assert await names(township="320509105") == ["盛泽示例化纤"]
    assert await names(industry="38") == ["七都示例光缆"]
    assert sorted(await names(industry="C")) == sorted(["盛泽示例化纤", "七都示例光缆"])
    assert await names(industry="A") == []
    assert await names(chain_leader="true") == ["七都示例光缆"]
    bad = await client.post(
        "/api/enterprises",
        json={"name": "X", "credit_code": CODE_A, "industry_code": "383"},
        headers=analyst,
    )
    assert bad.status_code == 400
    assert "is a group" in bad.json()["message"]


def test_reference_tables_are_complete() -> None:
    levels: dict[str, int] = {}
    for cls in industry_classes().values():
        levels[cls.level] = levels.get(cls.level, 0) + 1
    assert levels == {"section": 20, "division": 97, "group": 473, "class": 1380}
    assert industry_class("c3832").name_zh == "光纤制造"
    assert industry_class("3832").section == "C"
    with pytest.raises(InvalidInput):
        industry_class("A3832")  # wrong section letter
    assert len(townships()) == 14
    assert township("盛泽镇").code == "320509105"
