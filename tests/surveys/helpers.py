"""Shared set-up of the surveys' tests: XLSForms built with openpyxl, enterprises, instances."""

from __future__ import annotations

import io
import uuid
from typing import Any

from openpyxl import Workbook

from taihu.accounts import Principal
from taihu.core import Database, FrozenClock
from taihu.enterprises import (
    EnterpriseService,
    Profile,
    credit_code_check_char,
    organisation_code_check_char,
)

SYSTEM = Principal.system("test")
TOWN = "320509107"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

SURVEY_HEAD = [
    "type",
    "name",
    "label::中文 (zh)",
    "label::English (en)",
    "required",
    "relevant",
    "constraint",
    "constraint_message::English (en)",
    "choice_filter",
]
CHOICES = [
    ["list_name", "name", "label::中文 (zh)", "label::English (en)", "kind"],
    ["yn", "yes", "是", "Yes", ""],
    ["yn", "no", "否", "No", ""],
    ["kind", "fibre", "纤维", "Fibre", ""],
    ["kind", "yarn", "纱线", "Yarn", ""],
    ["input", "pta", "PTA", "PTA", "fibre"],
    ["input", "cotton", "棉花", "Cotton", "yarn"],
]


def code(index: int) -> str:
    """A valid synthetic credit code."""
    body = f"MA0Q{index:04d}"
    first17 = f"91320509{body}{organisation_code_check_char(body)}"
    return first17 + credit_code_check_char(first17)


def book(
    survey: list[list[Any]],
    choices: list[list[Any]] | None = None,
    settings: list[list[Any]] | None = None,
) -> bytes:
    """An .xlsx workbook with the given sheets."""
    wb = Workbook()
    sheet = wb.active
    assert sheet is not None
    sheet.title = "survey"
    for row in survey:
        sheet.append(row)
    for title, rows in (("choices", choices), ("settings", settings)):
        if rows:
            extra = wb.create_sheet(title)
            for row in rows:
                extra.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def chain_form(version: str = "1", *, old_question: bool = True, media: bool = False) -> bytes:
    """The test questionnaire: repeats, relevance, a constraint, a choice filter, zh and en."""
    rows: list[list[Any]] = [
        SURVEY_HEAD,
        ["text", "company", "企业名称", "Company", "yes", "", "", "", ""],
        ["integer", "employees", "员工人数", "Employees", "yes", "", ". >= 0", "Not negative", ""],
        ["select_one yn", "exports", "是否出口", "Exports?", "", "", "", "", ""],
        [
            "decimal",
            "export_share",
            "出口占比",
            "Export share",
            "",
            "${exports} = 'yes'",
            ". <= 100",
            "At most 100",
            "",
        ],
        ["begin_repeat", "suppliers", "供应商", "Suppliers", "", "", "", "", ""],
        ["text", "supplier", "供应商名称", "Supplier", "", "", "", "", ""],
        ["select_one kind", "kind", "类别", "Kind", "", "", "", "", ""],
        ["select_one input", "input", "投入品", "Input", "", "", "", "", "kind=${kind}"],
        ["integer", "share", "占比", "Share", "", "", "", "", ""],
        ["end_repeat", "", "", "", "", "", "", "", ""],
        ["image", "photo", "照片", "Photo", "", "", "", "", ""],
    ]
    if old_question:
        rows.insert(3, ["text", "old_note", "旧问题", "Old question", "", "", "", "", ""])
    else:
        rows.insert(3, ["text", "new_note", "新问题", "New question", "", "", "", "", ""])
    if media:
        rows.insert(2, ["select_one_from_file towns.csv", "town", "镇", "Town", "", "", "", "", ""])
    settings = [["form_id", "version", "form_title"], ["chain_survey", version, "产业链摸底"]]
    return book(rows, CHOICES, settings)


def instance(
    version: str,
    *,
    instance_id: str | None = None,
    company: str = "华纺",
    suppliers: tuple[tuple[str, str], ...] = (("盛泽化纤", "40"),),
    extra: str = "<old_note>x</old_note>",
    photo: str = "photo.jpg",
) -> bytes:
    """A filled instance as ODK Collect sends it."""
    iid = instance_id or f"uuid:{uuid.uuid4()}"
    reps = "".join(
        f"<suppliers><supplier>{n}</supplier><kind>fibre</kind><input>pta</input>"
        f"<share>{s}</share></suppliers>"
        for n, s in suppliers
    )
    return (
        f'<?xml version="1.0"?><data xmlns:jr="http://openrosa.org/javarosa" '
        f'xmlns:orx="http://openrosa.org/xforms" id="chain_survey" version="{version}">'
        f"<company>{company}</company><employees>120</employees>{extra}"
        f"<exports>yes</exports><export_share>30</export_share>{reps}<photo>{photo}</photo>"
        f"<meta><instanceID>{iid}</instanceID></meta></data>"
    ).encode()


async def enterprises(db: Database, clock: FrozenClock, n: int = 3) -> list[int]:
    """``n`` enterprises, the first two in TOWN; returns their ids."""
    ids = []
    async with db.session() as session:
        service = EnterpriseService(session, clock)
        for i in range(n):
            profile = Profile(township_code=TOWN if i < 2 else "320509105", industry_code="1751")
            ids.append((await service.create(SYSTEM, f"调研企业{i}", code(i), profile)).id)
    return ids
