"""Daily power per enterprise: grid-company files and the device hub's power meters.

A grid file (xlsx or CSV: credit code, date, kWh) goes through the one tabular import
(``taihu.core.tabular``): every row is checked first; by default one refused row and nothing is
written, with ``skip_invalid`` the valid rows are written and the others reported (a dry run
reports what would happen). A known (enterprise, day) is replaced. Meter readings come from the
meters' cumulative energy key: a day's use is the counter at the end of the day minus the counter
at the end of the day before (``taihu.monitor.meters``), summed over an enterprise's meters. A day
imported from the grid company is the billing figure and is never overwritten by meter data.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from taihu.accounts import Principal, Role, record_audit
from taihu.core import (
    N_,
    Clock,
    ImportReport,
    InvalidInput,
    Message,
    RowProblem,
    TableLayout,
    should_write,
)
from taihu.devices import Device, DeviceProfile, TimeSeriesStore
from taihu.enterprises import CreditCode, Enterprise
from taihu.monitor.columns import lock_columns, refresh_columns
from taihu.monitor.meters import Bucket, EnergyGap, daily_energy
from taihu.monitor.models import PowerDay
from taihu.monitor.numbers import parse_kwh

__all__ = [
    "GAP_LOOKBACK_DAYS",
    "POWER_ALIASES",
    "MeterSyncReport",
    "import_power",
    "parse_day",
    "sync_meters",
]

POWER_ALIASES = {
    "统一社会信用代码": "credit_code", "信用代码": "credit_code", "code": "credit_code",
    "日期": "date", "用电日期": "date", "day": "date",
    "用电量": "kwh", "日用电量": "kwh", "用电量(kwh)": "kwh",
    "kwh": "kwh", "electricity": "kwh",
    "企业名称": "name", "户名": "name",
}  # fmt: skip
COLUMNS = ("credit_code", "date", "kwh")
# The enterprise's name may stand beside its code (grid files carry it); it is not read.
LAYOUT = TableLayout(POWER_ALIASES, COLUMNS, (*COLUMNS, "name"))
log = logging.getLogger("taihu.monitor.power")
GRID, METER = "grid", "meter"
GAP_LOOKBACK_DAYS = 7  # how far before the first day a sync looks for the last reading
_HOUR_MS = 3_600_000


def _why(exc: InvalidInput) -> Message:
    return Message(exc.template, **exc.details)


def parse_day(text: str) -> date:
    """A day written 2026-02-03, 2026/2/3, 20260203 or as an xlsx date-time at midnight."""
    raw = text.strip()
    if "T" in raw and raw.endswith("T00:00:00"):
        raw = raw[: -len("T00:00:00")]
    try:
        if raw.isdigit() and len(raw) == 8:
            return date(int(raw[:4]), int(raw[4:6]), int(raw[6:]))
        year, month, day = (int(p) for p in raw.replace("/", "-").split("-"))
        return date(year, month, day)
    except ValueError:
        raise InvalidInput(N_("{value} is not a date (YYYY-MM-DD)"), code="bad_date",
                           value=text) from None  # fmt: skip


def _parse_row(
    number: int, cells: dict[str, str], max_kwh: float, today: date, problems: list[RowProblem]
) -> tuple[int, str, date, float] | None:
    before = len(problems)
    for column in COLUMNS:
        if not cells.get(column):
            problems.append(RowProblem(number, column, Message(N_("required"))))
    if len(problems) > before:
        return None
    code, day, kwh = "", today, 0.0
    try:
        code = CreditCode(cells["credit_code"]).value
    except InvalidInput as exc:
        problems.append(RowProblem(number, "credit_code", _why(exc)))
    try:
        day = parse_day(cells["date"])
        if day > today:
            problems.append(RowProblem(number, "date", Message(N_("{day} is in the future"),
                                                               day=day.isoformat())))  # fmt: skip
    except InvalidInput as exc:
        problems.append(RowProblem(number, "date", _why(exc)))
    try:
        kwh = parse_kwh(cells["kwh"], max_kwh)
    except InvalidInput as exc:
        problems.append(RowProblem(number, "kwh", _why(exc)))
    return None if len(problems) > before else (number, code, day, kwh)


async def _enterprise_ids(session: AsyncSession, codes: set[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    ordered = sorted(codes)
    for start in range(0, len(ordered), 500):
        rows = await session.execute(
            sa.select(Enterprise.credit_code, Enterprise.id).where(
                Enterprise.credit_code.in_(ordered[start : start + 500])
            )
        )
        found.update((code, key) for code, key in rows)
    return found


async def import_power(
    session: AsyncSession,
    clock: Clock,
    actor: Principal,
    filename: str,
    content: bytes,
    *,
    max_kwh: float,
    today: date,
    skip_invalid: bool = False,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Import a grid company's daily-use file (admin or bureau).

    All rows or none by default; the valid rows only with ``skip_invalid``.
    """
    actor.require_role(Role.BUREAU)
    report = ImportReport()
    sheet = LAYOUT.open(filename, content, report)
    if sheet is None:
        return report
    if not sheet.rows:
        raise InvalidInput(N_("{filename} has a header but no rows"), code="empty_file",
                           filename=filename)  # fmt: skip
    parsed = [row for number, cells in sheet.rows
              if (row := _parse_row(number, cells, max_kwh, today, report.problems))]  # fmt: skip
    known = await _enterprise_ids(session, {code for _, code, _, _ in parsed})
    seen: dict[tuple[int, date], int] = {}
    accepted: dict[tuple[int, date], float] = {}
    for number, code, day, kwh in parsed:
        enterprise_id = known.get(code)
        if enterprise_id is None:
            report.problems.append(
                RowProblem(
                    number,
                    "credit_code",
                    Message(N_("no enterprise {credit_code} is registered"), credit_code=code),
                )
            )
            continue
        if (enterprise_id, day) in seen:
            report.problems.append(
                RowProblem(
                    number,
                    "date",
                    Message(
                        N_("repeats row {row} ({code} {day})"),
                        row=seen[enterprise_id, day],
                        code=code,
                        day=day.isoformat(),
                    ),
                )
            )
            continue
        seen[enterprise_id, day] = number
        accepted[enterprise_id, day] = kwh
    report.skipped = report.rows - len(accepted)
    # A dry run counts what the same import would write: asked as if it were not one.
    if not accepted or not should_write(report, skip_invalid=skip_invalid, dry_run=False):
        return report  # refused (or every row refused): nothing written
    if not dry_run:
        await lock_columns(session)
    created, updated, unchanged = await _upsert(session, clock.now(), accepted, GRID, progress,
                                                dry_run=dry_run)  # fmt: skip
    report.created, report.updated, report.unchanged = created, updated, unchanged
    if dry_run:
        return report
    days = [d for _, d in accepted]
    await record_audit(
        session, actor, "power.import", "power_file", filename,
        after={"rows": report.rows, "created": created, "updated": updated,
               "skipped": report.skipped, "first_day": min(days).isoformat(),
               "last_day": max(days).isoformat(),
               "enterprises": len({e for e, _ in accepted})},
        at=clock.now(),
    )  # fmt: skip
    report.applied = True
    return report


async def _upsert(
    session: AsyncSession,
    now: datetime,
    values: dict[tuple[int, date], float],
    source: str,
    progress: Callable[[int, int], None] | None = None,
    *,
    dry_run: bool = False,
    keep_grid: bool = False,
) -> tuple[int, int, int]:
    """Write ``{(enterprise, day): kWh}``; returns (created, updated, unchanged).

    The caller holds ``lock_columns`` unless it is a dry run.
    """
    existing: dict[tuple[int, date], PowerDay] = {}
    enterprises = sorted({e for e, _ in values})
    first, last = min(d for _, d in values), max(d for _, d in values)
    for start in range(0, len(enterprises), 500):
        for row in await session.scalars(
            sa.select(PowerDay).where(
                PowerDay.enterprise_id.in_(enterprises[start : start + 500]),
                PowerDay.day.between(first, last),
            )
        ):
            existing[row.enterprise_id, row.day] = row
    created = updated = unchanged = 0
    new: list[dict[str, object]] = []
    for done, ((enterprise_id, day), kwh) in enumerate(sorted(values.items()), start=1):
        old = existing.get((enterprise_id, day))
        if old is None:
            created += 1
            new.append({"enterprise_id": enterprise_id, "day": day, "kwh": kwh,
                        "source": source, "updated_at": now})  # fmt: skip
        elif (keep_grid and old.source == GRID) or (old.kwh == kwh and old.source == source):
            unchanged += 1
        else:
            updated += 1
            if not dry_run:
                old.kwh, old.source, old.updated_at = kwh, source, now
        if progress and done % 500 == 0:
            progress(done, len(values))
    if new and not dry_run:
        for start in range(0, len(new), 5000):
            await session.execute(sa.insert(PowerDay), new[start : start + 5000])
    await session.flush()
    if not dry_run:
        await refresh_columns(session)  # the indices read the day columns: same transaction
    if progress:
        progress(len(values), len(values))
    return created, updated, unchanged


def _midnight_ms(day: date, zone: tzinfo) -> int:
    return int(datetime.combine(day, time(), tzinfo=zone).timestamp() * 1000)


@dataclass(frozen=True, slots=True)
class MeterSyncReport:
    """What a meter sync wrote, and the energy it could not put on a day."""

    written: int  # enterprise-days created or changed
    meters: int
    gaps: tuple[tuple[int, EnergyGap], ...] = ()  # (device id, gap)
    resets: tuple[tuple[int, date], ...] = ()  # (device id, day the counter dropped)


async def _buckets(
    store: TimeSeriesStore, device_id: int, key: str, start: int, end: int
) -> list[Bucket]:
    """The meter's hourly minimum and maximum of ``key`` in ``[start, end)``."""
    lows = await store.aggregate([device_id], [key], start, end, _HOUR_MS, "MIN")
    highs = await store.aggregate([device_id], [key], start, end, _HOUR_MS, "MAX")
    high = {s.ts: float(s.value) for s in highs.get(key, ()) if s.value is not None}
    return [Bucket(s.ts, float(s.value), high[s.ts]) for s in lows.get(key, ())
            if s.value is not None and s.ts in high]  # fmt: skip


async def sync_meters(
    session: AsyncSession,
    store: TimeSeriesStore,
    clock: Clock,
    actor: Principal,
    first: date,
    last: date,
    *,
    zone: tzinfo,
    profile: str,
    key: str,
) -> MeterSyncReport:
    """Daily use from the power meters' rollups for ``[first, last]`` (see ``meters``)."""
    actor.require_role(Role.BUREAU)
    if last < first:
        raise InvalidInput(N_("the last day is before the first"), code="bad_range")
    meters = list(
        await session.execute(
            sa.select(Device.id, Device.enterprise_id)
            .join(DeviceProfile, DeviceProfile.id == Device.profile_id)
            .where(DeviceProfile.name == profile)
            .order_by(Device.id)
        )
    )
    # Hourly buckets, folded into local days here: hours line up with the hub's hourly rollups
    # in every time zone of whole hours. The days before ``first`` give the counter at the end
    # of the day before, and show a gap in the readings that ends within the range.
    start = _midnight_ms(first - timedelta(days=GAP_LOOKBACK_DAYS), zone)
    end = _midnight_ms(last + timedelta(days=1), zone)

    def day_of(ts: int) -> date:
        return datetime.fromtimestamp(ts / 1000, zone).date()

    use: dict[tuple[int, date], float] = {}
    gaps: list[tuple[int, EnergyGap]] = []
    resets: list[tuple[int, date]] = []
    for device_id, enterprise_id in meters:
        days = daily_energy(await _buckets(store, device_id, key, start, end), day_of, first, last)
        for day, kwh in days.use.items():
            use[enterprise_id, day] = use.get((enterprise_id, day), 0.0) + kwh
        gaps.extend((device_id, gap) for gap in days.gaps)
        resets.extend((device_id, day) for day in days.resets)
    for device_id, gap in gaps:
        log.warning("meter %d: %.1f kWh used between %s and %s, days without readings: not put "
                    "on a day", device_id, gap.kwh, gap.after, gap.before)  # fmt: skip
    written = 0
    if use:
        await lock_columns(session)
        created, updated, _ = await _upsert(session, clock.now(), use, METER, keep_grid=True)
        written = created + updated
    await record_audit(session, actor, "power.sync_meters", "power_meters", "*",
                       after={"first_day": first.isoformat(), "last_day": last.isoformat(),
                              "meters": len(meters), "written": written,
                              "gaps": [{"device_id": d, "after": g.after.isoformat(),
                                        "before": g.before.isoformat(), "kwh": g.kwh}
                                       for d, g in gaps],
                              "resets": [{"device_id": d, "day": day.isoformat()}
                                         for d, day in resets]},
                       at=clock.now())  # fmt: skip
    return MeterSyncReport(written, len(meters), tuple(gaps), tuple(resets))
