"""Acceptance: a weekly report task filled from the demo district into an xlsx template.

The produced workbook is opened again: the bound cells hold the district's figures for the
demo week, and what was not bound (fonts, fills, borders, merged cells, number formats,
formulas, data validations, column widths, the second sheet) is as the template had it.
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from openpyxl.workbook.workbook import Workbook

from taihu.accounts import AuditEntry, Principal, Role
from taihu.core import Database, FrozenClock
from taihu.demo import demo_plan, demo_templates
from taihu.demo.chains import seed_chains
from taihu.demo.monitor import LAST_DAY, seed_monitor
from taihu.demo.reporting import DEMO_BINDINGS, DEMO_WEEK, TABLE_ROWS, demo_template_xlsx
from taihu.monitor import MonitorService
from taihu.reporting import ReportingService, TaskSpec

BUREAU = Principal("analyst", Role.BUREAU)
SHEET = "复工复产周报"


def _book(content: bytes) -> Workbook:
    return load_workbook(io.BytesIO(content))


def _style(cell: object) -> tuple[object, ...]:
    c = cell  # an openpyxl cell: the parts of its look a report's reader sees
    parts = (c.font, c.fill, c.border, c.number_format, c.alignment)  # type: ignore[attr-defined]
    return tuple(repr(p) for p in parts)


@pytest.fixture
async def demo_district(db: Database, clock: FrozenClock) -> None:
    """The demo district's map and power history (the monitor's last day: 2026-04-29)."""
    plan = demo_plan(await demo_templates(db))
    async with db.session() as session:
        await seed_chains(session, clock, plan)
    await seed_monitor(db, plan, datetime(2026, 12, 6, 4, 0, tzinfo=UTC))


async def test_weekly_task_fills_the_template_from_the_demo_district(
    db: Database, clock: FrozenClock, demo_district: None
) -> None:
    template_bytes = demo_template_xlsx()
    async with db.session() as session:
        service = ReportingService(session, clock)
        template = await service.add_template(BUREAU, "周报", "周报.xlsx", template_bytes)
        await service.bind(BUREAU, template.id, DEMO_BINDINGS)
        task = await service.add_task(
            BUREAU,
            TaskSpec(
                "复工复产周报",
                "苏州市工信局",
                "weekly",
                template.id,
                "analyst",
                due_day=5,
                lead_days=1,
            ),
        )
        run, made = await service.generate(BUREAU, task.id, DEMO_WEEK)
        again, made_again = await service.generate(BUREAU, task.id, DEMO_WEEK)
        expected = await MonitorService(session).index(BUREAU, LAST_DAY, ["township"])
    assert made
    assert not made_again
    assert again.id == run.id
    assert run.period_start == date(2026, 4, 27)
    assert run.due_on == date(2026, 5, 1)
    assert run.problems == []
    out, before = _book(run.content), _book(template_bytes)
    sheet, original = out[SHEET], before[SHEET]
    # the bound cells: the period, the township table, the district's rates, the 规上 count
    assert sheet["C2"].value == "2026-04-27"
    assert sheet["E2"].value == "2026-05-03"
    townships = sorted(expected.groups["township"].items())
    assert 1 < len(townships) <= TABLE_ROWS
    for i, (_, (name, values)) in enumerate(townships):
        row = 4 + i
        assert sheet.cell(row, 1).value == name
        assert sheet.cell(row, 2).value == values.enterprises
        assert sheet.cell(row, 3).value == values.resumed
        assert sheet.cell(row, 4).value == pytest.approx(values.resumption_rate)
    assert sheet.cell(4 + len(townships), 1).value is None  # the region's unused rows stay empty
    assert sheet["D22"].value == pytest.approx(expected.district.resumption_rate)
    assert 0.5 < sheet["D22"].value < 1
    assert sheet["D23"].value == pytest.approx(expected.district.production_rate)
    assert isinstance(sheet["D24"].value, int)
    # untouched: formulas, merged cells, styles, formats, validations, widths, other sheets
    total = 4 + TABLE_ROWS
    assert sheet.cell(total, 2).value == f"=SUM(B4:B{3 + TABLE_ROWS})"
    assert sheet.cell(total, 4).value == original.cell(total, 4).value
    assert (
        {str(r) for r in sheet.merged_cells.ranges}
        == {str(r) for r in original.merged_cells.ranges}
        == {"A1:F1", "A22:C22", "A23:C23", "A24:C24"}
    )
    for row in range(1, total + 6):
        for column in range(1, 8):
            assert _style(sheet.cell(row, column)) == _style(original.cell(row, column)), (
                row,
                column,
            )
    assert sheet["A1"].font.bold
    assert sheet["A1"].font.size == 16
    assert sheet["D4"].number_format == "0.0%"
    assert sheet["A3"].fill.fgColor.rgb == original["A3"].fill.fgColor.rgb
    assert [v.sqref for v in sheet.data_validations.dataValidation] == [
        v.sqref for v in original.data_validations.dataValidation
    ]
    assert sheet.column_dimensions["A"].width == original.column_dimensions["A"].width
    assert out.sheetnames == before.sheetnames == [SHEET, "填报说明"]
    notes, notes_before = out["填报说明"], before["填报说明"]
    assert [[c.value for c in r] for r in notes.iter_rows()] == [
        [c.value for c in r] for r in notes_before.iter_rows()
    ]
    assert notes["A1"].font.italic


async def test_corrections_sit_beside_the_generated_values_then_approval_and_submission(
    db: Database, clock: FrozenClock, demo_district: None
) -> None:
    async with db.session() as session:
        service = ReportingService(session, clock)
        template = await service.add_template(BUREAU, "周报", "周报.xlsx", demo_template_xlsx())
        await service.bind(BUREAU, template.id, DEMO_BINDINGS)
        task = await service.add_task(
            BUREAU,
            TaskSpec("复工复产周报", "苏州市工信局", "weekly", template.id, "analyst", due_day=5),
        )
        run, _ = await service.generate(BUREAU, task.id, DEMO_WEEK)
        generated = run.generated[f"{SHEET}!D22"]
        await service.correct(BUREAU, run.id, f"{SHEET}!D22", "0.9", "镇上报口径")
        assert run.generated[f"{SHEET}!D22"] == generated  # kept beside, not over
        assert run.corrections[f"{SHEET}!D22"]["value"] == pytest.approx(0.9)
        assert _book(run.content)[SHEET]["D22"].value == pytest.approx(0.9)
        refreshed, made = await service.generate(BUREAU, task.id, DEMO_WEEK, refresh=True)
        assert not made
        assert refreshed.corrections[f"{SHEET}!D22"]["value"] == pytest.approx(0.9)
        await service.approve(BUREAU, run.id)
        archived = run.sha256
        await service.submit(BUREAU, run.id, "已报市局")
        assert run.status == "submitted"
        assert run.sha256 == archived
        actions = list(
            await session.scalars(
                sa.select(AuditEntry.action).where(AuditEntry.entity_type.like("report_%"))
            )
        )
    assert actions == [
        "report_template.create",
        "report_template.bind",
        "report_task.create",
        "report_run.generate",
        "report_run.correct",
        "report_run.generate",
        "report_run.approve",
        "report_run.submit",
    ]
