"""The enterprise, supply edge and chain template imports behave alike: one shared mechanism.

Each file below has one good row, one bad row, or a column nobody knows; every import must
report the same way (row, column, reason), write nothing by default, write the good rows with
``skip_invalid``, and never write past a bad header.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from taihu.accounts import Principal
from taihu.chains import import_edges, import_templates
from taihu.core import Database, FrozenClock, ImportReport, TableLayout, read_sheet, should_write
from taihu.enterprises import EnterpriseService, import_registry
from tests.conftest import CODE_A, CODE_B

SYSTEM = Principal.system("test")
Importer = Callable[..., Awaitable[ImportReport]]

# (importer, file with a good and a bad row (Chinese headers), the bad row's column)
FILES = {
    "enterprises": (
        "统一社会信用代码,企业名称\n91320509MA0TXT0377,丙\n123,丁\n", "credit_code"
    ),
    "edges": (
        f"供应商信用代码,采购方信用代码,采购品类,年采购额\n{CODE_A},{CODE_B},fibre.fibre,10\n"
        f"{CODE_A},{CODE_B},fibre.cable,-1\n",
        "annual_value",
    ),
    "templates": (
        "产业链,产业链名称,产业链英文名称,环节代码,环节名称,环节英文名称,位置\n"
        "good,好,Good,g.a,甲,A,上游\nbad,坏,Bad,b.a,乙,B,旁边\n",
        "stage",
    ),
}  # fmt: skip


async def _run(
    db: Database, clock: FrozenClock, kind: str, content: str, **options: bool
) -> ImportReport:
    async with db.session() as session:
        if kind == "enterprises":
            return await import_registry(
                session, clock, SYSTEM, "f.csv", content.encode(), **options
            )
        if kind == "edges":
            return await import_edges(session, clock, SYSTEM, "f.csv", content.encode(), **options)
        result = await import_templates(
            session, clock, SYSTEM, "f.csv", content.encode(), **options
        )
        return result.report


@pytest.mark.parametrize("kind", sorted(FILES))
async def test_every_import_reports_and_decides_alike(
    db: Database, clock: FrozenClock, kind: str
) -> None:
    async with db.session() as session:
        registry = EnterpriseService(session, clock)
        await registry.create(SYSTEM, "甲", CODE_A)
        await registry.create(SYSTEM, "乙", CODE_B)
    content, column = FILES[kind]
    refused = await _run(db, clock, kind, content)
    assert (refused.applied, refused.rows, refused.skipped) == (False, 2, 1)
    assert [(p.row, p.column) for p in refused.problems] == [(3, column)]
    dry = await _run(db, clock, kind, content, dry_run=True, skip_invalid=True)
    assert not dry.applied
    kept = await _run(db, clock, kind, content, skip_invalid=True)
    assert (kept.applied, kept.created, kept.skipped) == (True, 1, 1)
    # An unknown column: reported on the header row, the rows still checked, nothing written.
    lines = content.splitlines()
    extra = "\n".join([lines[0] + ",颜色", lines[1] + ",红"]) + "\n"
    header = await _run(db, clock, kind, extra, skip_invalid=True)
    assert [(p.row, p.column) for p in header.problems] == [(1, "颜色")]
    assert not header.applied


def test_the_layout_and_the_rule() -> None:
    layout = TableLayout({"名称": "name"}, required=("name",), known=("name", "note"))
    report = ImportReport()
    sheet = layout.open("x.csv", "名称,note\n甲,\n".encode(), report)
    assert sheet is not None
    assert sheet.rows == ((2, {"name": "甲", "note": ""}),)
    assert (report.rows, report.problems, report.bad_header) == (1, [], False)
    missing = ImportReport()
    assert layout.open("x.csv", b"note\nx\n", missing) is None
    assert missing.bad_header
    assert not should_write(missing, skip_invalid=True, dry_run=False)
    assert should_write(report, skip_invalid=False, dry_run=False)
    assert not should_write(report, skip_invalid=False, dry_run=True)
    assert read_sheet("y.csv", "名称\n乙\n".encode("gb18030"), {"名称": "name"}).columns == (
        "name",
    )
