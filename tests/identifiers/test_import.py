"""File import (CSV and xlsx): errors name row, column and reason; bad rows are skipped."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from taihu.accounts import Principal
from taihu.core import Database, FrozenClock
from taihu.identifiers import HandleRow
from taihu.identifiers.importer import ImportError_, import_rows, read_table
from tests.identifiers.conftest import PREFIX

pytestmark = pytest.mark.usefixtures("templates")

HEADER = [
    "suffix",
    "manufacturer",
    "model",
    "batch",
    "productionDate",
    "serialNumber",
    "ratedLoadKg",
]
ROWS = [
    ["L001", "恒立电梯", "HL-2000", "B1", "2026-03-14", "SN0001", "1000"],
    ["L002", "恒立电梯", "", "B1", "2026-03-14", "SN0002", "1000"],  # model missing
    ["L003", "恒立电梯", "HL-2000", "B1", "14.03.2026", "SN0003", "1000"],  # bad date
    ["L004", "恒立电梯", "HL-2000", "B1", "2026-03-15", "SN0004", "1,000"],  # not a number
    ["L005", "恒立电梯", "HL-2000", "B2", "2026-03-15", "SN0005", "1050"],
]


def _csv(tmp_path: Path) -> Path:
    path = tmp_path / "lifts.csv"
    lines = [",".join(HEADER)] + [",".join(f'"{c}"' for c in row) for row in ROWS]
    path.write_text("\ufeff" + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def _xlsx(tmp_path: Path) -> Path:
    path = tmp_path / "lifts.xlsx"
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for row in ROWS:
        sheet.append([c or None for c in row])
    book.save(path)
    return path


async def _count(db: Database) -> int:
    async with db.session() as session:
        return int(
            await session.scalar(
                sa.select(sa.func.count())
                .select_from(HandleRow)
                .where(HandleRow.key.like(f"{PREFIX}/L%"))
            )
            or 0
        )


@pytest.mark.parametrize("make", [_csv, _xlsx])
async def test_import_reports_rows_and_columns(
    db: Database, clock: FrozenClock, tmp_path: Path, make: object
) -> None:
    path = make(tmp_path)  # type: ignore[operator]
    rows = read_table(path)
    report = await import_rows(
        db, Principal.system("test"), PREFIX, rows, template="elevator-1.0", clock=clock
    )
    assert (report.rows, report.imported) == (5, 2)
    assert [(e.row, e.column) for e in report.errors or []] == [
        (3, "model"),
        (4, "productionDate"),
        (5, "ratedLoadKg"),
    ]
    assert "required" in (report.errors or [])[0].reason
    assert await _count(db) == 2
    # Importing the same file again changes nothing.
    again = await import_rows(
        db, Principal.system("test"), PREFIX, rows, template="elevator-1.0", clock=clock
    )
    assert (again.imported, again.unchanged) == (0, 2)
    assert await _count(db) == 2


async def test_rows_outside_the_prefix_and_unknown_template(
    db: Database, clock: FrozenClock
) -> None:
    rows = [
        {"handle": "88.999/X1", "model": "a"},
        {"suffix": "L9", "templateVersion": "nope-1", "model": "a"},
    ]
    report = await import_rows(db, Principal.system("test"), PREFIX, rows, clock=clock)
    assert report.errors == [
        ImportError_(2, "handle", f"88.999/X1 is not under prefix {PREFIX}"),
        ImportError_(
            3, "templateVersion", f"no template 'nope-1' for prefix {PREFIX} or its parents"
        ),
    ]
