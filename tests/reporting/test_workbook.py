"""Templates: bindings the workbook cannot take are refused; filling writes bound cells only."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.chart import BarChart, Reference

from taihu.core import InvalidInput
from taihu.demo.reporting import demo_template_xlsx
from taihu.reporting import Anchor, check_template, fill, sheet_names

SHEET = "复工复产周报"


def _save(book: Workbook) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.mark.parametrize(
    ("sheet", "ref", "reason"),
    [
        ("复工复产周报", "B1", "merged"),  # inside the merged title A1:F1
        ("复工复产周报", "B20", "formula"),  # the SUM row
        ("复工复产周报", "A19:C21", "formula"),  # a region reaching the SUM row
        ("没有这张表", "A1", "sheet"),
        ("复工复产周报", "A0", "cell"),
        ("复工复产周报", "A1:XFD1048576", "spans"),
    ],
)
def test_bindings_the_workbook_cannot_take_are_refused(sheet: str, ref: str, reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason):
        check_template(demo_template_xlsx(), [Anchor(sheet, ref)])


def test_the_first_cell_of_a_merge_and_plain_cells_are_accepted() -> None:
    check_template(demo_template_xlsx(), [Anchor(SHEET, "A1"), Anchor(SHEET, "A4:E19")])


def test_files_that_are_no_usable_workbook_are_refused() -> None:
    with pytest.raises(InvalidInput, match="not an xlsx"):
        sheet_names(b"PK\x03\x04 not really a zip")
    with pytest.raises(InvalidInput, match="not an xlsx"):
        sheet_names(b"a,b\n1,2\n")
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append([1, 2, 3])
    chart = BarChart()
    chart.add_data(Reference(sheet, min_col=1, max_col=3, min_row=1))
    sheet.add_chart(chart, "E5")
    with pytest.raises(InvalidInput, match="charts or pictures"):
        sheet_names(_save(book))


def test_filling_writes_only_the_given_cells_and_never_a_formula() -> None:
    filled = fill(
        demo_template_xlsx(), {(SHEET, "A4"): "=1+1", (SHEET, "B4"): 12, ("gone", "A1"): 1}
    )
    book = load_workbook(io.BytesIO(filled))
    assert book[SHEET]["A4"].value == "'=1+1"
    assert book[SHEET]["B4"].value == 12
    assert book[SHEET]["B20"].value == "=SUM(B4:B19)"
    assert book.sheetnames == [SHEET, "填报说明"]
