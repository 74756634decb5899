"""Demo data of reporting: a weekly 复工复产 report to the city, its template, a draft.

The template is made here with openpyxl the way an upper level's workbook looks: a merged
title, bordered headers, percentages, a SUM row, a data validation and a second sheet of
instructions that filling never touches.
"""

# ruff: noqa: RUF001 - the template's Chinese text takes full-width punctuation

from __future__ import annotations

import io
from datetime import date, datetime, timedelta

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.worksheet.datavalidation import DataValidation

from taihu.accounts import Principal, Role
from taihu.core import Database, FrozenClock
from taihu.reporting import Binding, ReportingService, TaskSpec

__all__ = ["DEMO_BINDINGS", "DEMO_WEEK", "demo_template_xlsx", "seed_reporting"]

DEMO_WEEK = "2026-W18"  # 27 April - 3 May 2026: the demo monitor's last day, 29 April, in it
TABLE_ROWS = 16  # the demo district has 14 townships
_THIN = Side(style="thin", color="000000")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_HEAD = PatternFill("solid", fgColor="DDEBF7")

DEMO_BINDINGS = (
    Binding("复工复产周报", "C2", "period.start", label="周期起"),
    Binding("复工复产周报", "E2", "period.end", label="周期止"),
    Binding(
        "复工复产周报",
        f"A4:E{3 + TABLE_ROWS}",
        "monitor.table",
        {"group": "township"},
        label="分镇复工情况",
    ),
    Binding("复工复产周报", "D22", "monitor.resumption_rate", label="全区复工率"),
    Binding("复工复产周报", "D23", "monitor.production_rate", label="全区复产率"),
    Binding("复工复产周报", "D24", "enterprises.count", {"above_size": "yes"}, label="规上企业数"),
)


def demo_template_xlsx() -> bytes:
    """The city's weekly resumption workbook, as an upper level would send it."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook has one sheet
    sheet.title = "复工复产周报"
    sheet["A1"] = "吴江区工业企业复工复产情况周报表"
    sheet["A1"].font = Font(name="黑体", size=16, bold=True)
    sheet["A1"].alignment = Alignment(horizontal="center")
    sheet.merge_cells("A1:F1")
    sheet["A2"], sheet["B2"], sheet["D2"] = "填报单位：吴江区工信局", "周期", "至"
    headers = ("镇（区）", "纳入统计企业数", "已复工企业数", "复工率", "复产率", "备注")
    for column, text in enumerate(headers, start=1):
        head = sheet.cell(3, column, text)
        head.font, head.fill, head.border = Font(bold=True), _HEAD, _BOX
    last = 3 + TABLE_ROWS
    for row in range(4, last + 2):
        for column in range(1, 7):
            cell = sheet.cell(row, column)
            cell.border = _BOX
            if column in (4, 5):
                cell.number_format = "0.0%"
    total = last + 1
    sheet.cell(total, 1, "合计").font = Font(bold=True)
    sheet.cell(total, 2, f"=SUM(B4:B{last})")
    sheet.cell(total, 3, f"=SUM(C4:C{last})")
    sheet.cell(total, 4, f'=IF(B{total}=0,"",C{total}/B{total})')
    for row, text in ((22, "全区复工率"), (23, "全区复产率"), (24, "规上工业企业数")):
        sheet.cell(row, 1, text)
        sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=3)
        sheet.cell(row, 4).border = _BOX
    sheet["D22"].number_format = sheet["D23"].number_format = "0.0%"
    status = DataValidation(type="list", formula1='"正常,关注,预警"', allow_blank=True)
    sheet.add_data_validation(status)
    status.add(f"F4:F{last}")
    for letter, width in zip("ABCDEF", (16, 16, 14, 10, 10, 12), strict=True):
        sheet.column_dimensions[letter].width = width
    notes = book.create_sheet("填报说明")
    notes["A1"] = "1. 复工率 = 已复工企业数 / 纳入统计企业数，以用电数据测算。"
    notes["A2"] = "2. 请于每周五前报送市工信局。"
    notes["A1"].font = Font(italic=True)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def seed_reporting(db: Database, now: datetime) -> None:
    """The weekly task (due Fridays), its bound template and the demo week's draft."""
    bureau = Principal("analyst", Role.BUREAU)
    clock = FrozenClock(now - timedelta(days=1))
    async with db.session() as session:
        service = ReportingService(session, clock)
        template = await service.add_template(
            bureau, "市工信局复工复产周报表", "复工复产周报.xlsx", demo_template_xlsx()
        )
        await service.bind(bureau, template.id, DEMO_BINDINGS)
        task = await service.add_task(
            bureau,
            TaskSpec(
                "工业企业复工复产情况周报",
                "苏州市工业和信息化局",
                "weekly",
                template.id,
                "analyst",
                due_day=5,
                lead_days=1,
            ),
        )
        await service.generate(bureau, task.id, DEMO_WEEK, today=date(2026, 4, 30))
