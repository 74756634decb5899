"""Power import, indices, lists and snapshots on a real database."""

import io
from datetime import date

import pytest
from openpyxl import load_workbook
from pydantic import ValidationError
from sqlalchemy import func, select

from taihu.accounts import AuditEntry, Principal, Role
from taihu.core import Database, FrozenClock, PermissionDenied
from taihu.monitor import MonitorService, PowerDay, import_power, snapshot_xlsx
from taihu.settings import MonitorSettings
from tests.monitor.helpers import DAY, SYSTEM, code, load_example, power_csv, registry


async def test_import_reports_every_bad_row_and_writes_nothing(
    db: Database, clock: FrozenClock
) -> None:
    await registry(db, clock)
    content = power_csv([
        (code(0), date(2026, 2, 1), 10.0),
        (code(9), date(2026, 2, 1), 10.0),          # row 3: unknown enterprise
        (code(1), "2026-02-30", 10.0),              # row 4: no such date
        (code(1), date(2026, 2, 2), -1.0),          # row 5: negative
        (code(1), date(2026, 2, 3), 9e9),           # row 6: absurd
        (code(0), date(2026, 2, 1), 12.0),          # row 7: repeats row 2
        (code(1), date(2026, 3, 1), 10.0),          # row 8: in the future
    ])  # fmt: skip
    async with db.session() as session:
        report = await import_power(session, clock, SYSTEM, "p.csv", content, max_kwh=1e6,
                                    today=DAY)  # fmt: skip
    assert not report.applied
    assert [(p.row, p.column) for p in report.problems] == [
        (4, "date"), (5, "kwh"), (6, "kwh"), (8, "date"), (3, "credit_code"), (7, "date")
    ]  # fmt: skip
    assert "not a date" in report.problems[0].reason
    assert "cannot be negative" in report.problems[1].reason
    assert "above the limit" in report.problems[2].reason
    assert "repeats row 2" in report.problems[5].reason
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(PowerDay)) == 0


async def test_import_needs_the_columns_and_the_role(db: Database, clock: FrozenClock) -> None:
    await registry(db, clock)
    async with db.session() as session:
        report = await import_power(session, clock, SYSTEM, "p.csv", b"code,kwh\n", max_kwh=1,
                                    today=DAY)  # fmt: skip
        assert [(p.row, p.column) for p in report.problems] == [(1, "date")]
        with pytest.raises(PermissionDenied):
            await import_power(session, clock, Principal("e", Role.ENTERPRISE), "p.csv",
                               b"", max_kwh=1, today=DAY)  # fmt: skip


async def test_reimport_replaces_by_enterprise_and_day(db: Database, clock: FrozenClock) -> None:
    await registry(db, clock)
    first = power_csv([(code(0), date(2026, 2, 1), 10.0), (code(1), date(2026, 2, 1), 5.0)])
    again = power_csv([(code(0), date(2026, 2, 1), 11.0), (code(1), date(2026, 2, 1), 5.0),
                       (code(1), date(2026, 2, 2), 6.0)])  # fmt: skip
    async with db.session() as session:
        one = await import_power(session, clock, SYSTEM, "a.csv", first, max_kwh=1e6, today=DAY)
        two = await import_power(session, clock, SYSTEM, "b.csv", again, max_kwh=1e6, today=DAY)
    assert (one.created, two.created, two.updated, two.unchanged) == (2, 1, 1, 1)
    async with db.session() as session:
        rows = {(r.enterprise_id, r.day): r.kwh for r in await session.scalars(select(PowerDay))}
        assert sorted(rows.values()) == [5.0, 6.0, 11.0]
        audits = await session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "power.import")
        )
        assert audits == 2


async def test_index_by_township_from_the_database(db: Database, clock: FrozenClock) -> None:
    await load_example(db, clock)
    async with db.session() as session:
        report = await MonitorService(session).index(SYSTEM, DAY, ["township", "industry"])
    assert (report.district.enterprises, report.district.resumed) == (2, 1)
    assert report.district.production_rate == pytest.approx(89.9 / 300)
    assert [c for _, c, _ in report.no_baseline] == [code(2)]
    assert report.no_reading == 1
    qidu = report.groups["township"]["320509107"]
    assert qidu[0] == "七都镇"
    assert qidu[1].resumption_rate == 1.0
    assert report.groups["township"]["320509105"][1].resumption_rate == 0.0
    assert report.groups["industry"]["3832"][1] == report.district


async def test_indices_are_for_staff(db: Database, clock: FrozenClock) -> None:
    async with db.session() as session:
        with pytest.raises(PermissionDenied):
            await MonitorService(session).index(Principal("e", Role.ENTERPRISE), DAY)


async def test_lists_and_the_weekly_snapshot(db: Database, clock: FrozenClock) -> None:
    await load_example(db, clock)
    async with db.session() as session:
        monitor = MonitorService(session, clock=clock)
        key_list = await monitor.create_list(SYSTEM, "重点企业")
        assert await monitor.set_members(SYSTEM, key_list.id, [code(0), code(1), code(2)]) == 3
        assert await monitor.set_members(SYSTEM, key_list.id, [code(2)], remove=True) == 1
        report = await monitor.index(SYSTEM, DAY, ["list"])
        assert report.groups["list"][str(key_list.id)][1].enterprises == 2
        snap = await monitor.snapshot(SYSTEM, "重点企业", date(2026, 2, 12))
    assert snap.monday == date(2026, 2, 9)
    assert [r.credit_code for r in snap.rows] == [code(0), code(1)]
    assert snap.rows[0].days[1] == 30.0
    assert snap.rows[0].baseline == 100.0
    sheet = load_workbook(io.BytesIO(snapshot_xlsx(snap))).active
    assert sheet is not None
    assert sheet["A1"].value == "重点企业 复工复产周报"
    assert sheet["E2"].value == 0.3
    assert sheet.cell(row=5, column=8).value == "2026-02-10"
    assert sheet.cell(row=6, column=2).value == code(0)
    assert sheet.cell(row=6, column=8).value == 30.0


def test_settings_refuse_inconsistent_bands_and_windows() -> None:
    with pytest.raises(ValidationError):
        MonitorSettings(band_green=0.5, band_yellow=0.6)
    with pytest.raises(ValidationError):
        MonitorSettings(baseline_start=date(2025, 11, 1))
    with pytest.raises(ValidationError):
        MonitorSettings(theta=0)


async def test_a_fixed_baseline_window_and_theta_from_the_settings(
    db: Database, clock: FrozenClock
) -> None:
    await load_example(db, clock)
    window = MonitorSettings(baseline_start=date(2025, 12, 1), baseline_end=date(2025, 12, 1),
                             theta=0.6)  # fmt: skip
    async with db.session() as session:
        report = await MonitorService(session, window).index(SYSTEM, DAY)
    # On 1 December only: A 100, B 200, D 40; with theta 0.6 neither A (30) nor B (59.9) resumed
    assert report.window == (date(2025, 12, 1), date(2025, 12, 1))
    assert (report.district.enterprises, report.district.resumed) == (2, 0)
