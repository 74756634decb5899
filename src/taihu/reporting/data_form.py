"""The built-in monthly data form (月度经营数据) and each period's copy of a data task's form.

A data task keeps one XLSForm; each period's survey is that form with the period's own form id
and title and a ``taihu_period`` calculate question, so every submission carries its period.
"""

from __future__ import annotations

import io
import zipfile
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from taihu.core import N_, InvalidInput

__all__ = ["MONTHLY_FORM_ID", "PERIOD_FIELD", "monthly_form_xlsx", "period_xlsform"]

MONTHLY_FORM_ID = "taihu_monthly_data"
PERIOD_FIELD = "taihu_period"
_HEAD = ["type", "name", "label::中文 (zh)", "label::English (en)", "hint::中文 (zh)",
         "hint::English (en)", "required", "constraint", "constraint_message::中文 (zh)",
         "constraint_message::English (en)", "relevant"]  # fmt: skip
_NOT_NEGATIVE = [". >= 0", "不能为负数", "Not negative"]
_DIFFICULTIES = [("orders", "订单不足", "Too few orders"),
                 ("labour", "用工短缺", "Short of workers"),
                 ("funding", "资金紧张", "Short of funds"),
                 ("materials", "原材料供应或价格", "Raw materials: supply or prices"),
                 ("logistics", "物流运输", "Logistics"), ("energy", "用电用能", "Power and energy"),
                 ("other", "其他", "Other"), ("none", "无", "None")]  # fmt: skip


def _number(kind: str, name: str, zh: str, en: str, hint: tuple[str, str]) -> list[Any]:
    return [kind, name, zh, en, *hint, "yes", *_NOT_NEGATIVE, ""]


def monthly_form_xlsx() -> bytes:
    """The built-in XLSForm: output value, revenue, workers, power, difficulties (zh and en)."""
    survey = [
        _HEAD,
        ["text", "credit_code", "企业统一社会信用代码", "Enterprise's credit code",
         "调查员代填时必填", "Required when a surveyor answers for the enterprise",
         "", "", "", "", ""],
        _number("decimal", "output_value", "工业总产值(万元)", "Gross industrial output (10k yuan)",
                ("本期数", "For the period")),
        _number("decimal", "revenue", "营业收入(万元)", "Revenue (10k yuan)",
                ("本期数", "For the period")),
        _number("integer", "employees", "用工人数", "Workers", ("期末人数", "At the period's end")),
        _number("decimal", "electricity", "用电量(千瓦时)", "Electricity used (kWh)",
                ("本期数", "For the period")),
        ["select_multiple difficulty", "difficulties", "主要困难", "Main difficulties",
         "", "", "yes", "", "", "", ""],
        ["text", "difficulty_note", "困难说明与诉求", "Difficulties and requests, in words",
         "", "", "", "", "", "", "${difficulties} != 'none'"],
    ]  # fmt: skip
    choices: list[list[Any]] = [["list_name", "name", "label::中文 (zh)", "label::English (en)"]]
    choices += [["difficulty", key, zh, en] for key, zh, en in _DIFFICULTIES]
    settings = [["form_id", "version", "form_title", "default_language"],
                [MONTHLY_FORM_ID, "1", "月度经营数据", "中文 (zh)"]]  # fmt: skip
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "survey"
    for title, rows in (("survey", survey), ("choices", choices), ("settings", settings)):
        target = sheet if title == "survey" else book.create_sheet(title)
        for row in rows:
            target.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _column(sheet: Worksheet, name: str) -> int:
    """The 1-based column of a header in row 1, added at the end when missing."""
    width = 0
    for cell in sheet[1]:
        if cell.value is not None:
            width = cell.column
            if str(cell.value).strip().lower() == name:
                return cell.column
    sheet.cell(1, width + 1, name)
    return width + 1


def period_xlsform(content: bytes, form_id: str, title: str, period_key: str) -> bytes:
    """The task's XLSForm with the period's form id and title and its ``taihu_period`` answer."""
    try:
        book = load_workbook(io.BytesIO(content))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        raise InvalidInput(
            N_("a data task's form is an .xlsx XLSForm"), code="bad_xlsform_file"
        ) from None
    if "survey" not in book.sheetnames:
        raise InvalidInput(N_("the XLSForm has no survey sheet"), code="bad_xlsform")
    survey = book["survey"]
    names = _column(survey, "name")
    # A form made from a period's survey has the question already: it takes the new period.
    row = next(
        (r for r in range(2, survey.max_row + 1) if survey.cell(r, names).value == PERIOD_FIELD),
        survey.max_row + 1,
    )
    survey.cell(row, _column(survey, "type"), "calculate")
    survey.cell(row, names, PERIOD_FIELD)
    survey.cell(row, _column(survey, "calculation"), f"'{period_key}'")
    settings = book["settings"] if "settings" in book.sheetnames else book.create_sheet("settings")
    # Only the first data row of the settings sheet counts; it is written or overwritten.
    settings.cell(2, _column(settings, "form_id"), form_id)
    settings.cell(2, _column(settings, "form_title"), title)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
