"""HTTP routes of the monitor: indices, baselines, power data and data quality.

Key lists, cases and the unblock list are in :mod:`taihu.monitor.casework_api`, included here.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from taihu.accounts import ERROR_RESPONSES, CurrentPrincipal
from taihu.core import (
    N_,
    DbSession,
    DryRun,
    Id,
    ImportFile,
    InvalidInput,
    NotFound,
    RuntimeDep,
    SkipInvalid,
    import_upload,
)
from taihu.devices import store_for
from taihu.enterprises import ImportReportOut
from taihu.monitor.basis import clear_override, list_overrides, set_override
from taihu.monitor.casework_api import router as casework_router
from taihu.monitor.deps import NOT_FOUND as _NOT_FOUND
from taihu.monitor.deps import Day, Monitor
from taihu.monitor.models import BaselineOverride
from taihu.monitor.power import import_power, sync_meters
from taihu.monitor.schemas import (
    DayIndexOut,
    EnterpriseMonitorOut,
    FlagOut,
    OpeningOut,
    OverrideIn,
    OverrideOut,
    SeriesDayOut,
    SeriesOut,
    StatusIn,
)

__all__ = ["router"]

router = APIRouter(tags=["monitor"])
BaselineStart = Annotated[date | None, Query(
    description="First day of the baseline window (with baseline_end); default: from the data, "
    "docs/monitor.md. Enterprises with an override keep their own.")]  # fmt: skip
BaselineEnd = Annotated[date | None, Query(description="Last day of the baseline window.")]


def _baseline(start: date | None, end: date | None) -> tuple[date, date] | None:
    if start is None and end is None:
        return None
    if start is None or end is None:
        raise InvalidInput(N_("give both ends of the baseline window, or neither"),
                           code="bad_window")  # fmt: skip
    return start, end


class MeterGapOut(BaseModel):
    """Energy a meter used across days without readings: reported, not put on a day."""

    device_id: int
    after: date = Field(description="The last day with a reading before the gap.")
    before: date = Field(description="The first day with a reading after it.")
    kwh: float


class MeterResetOut(BaseModel):
    """A day on which a meter's cumulative counter dropped (reset or replaced)."""

    device_id: int
    day: date


class SyncOut(BaseModel):
    """What a meter sync wrote, and the energy it could not put on a day."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"written": 1200, "meters": 600, "resets": [],
         "gaps": [{"device_id": 17, "after": "2026-02-08", "before": "2026-02-11", "kwh": 512.0}]}
    ]})  # fmt: skip

    written: int
    meters: int
    gaps: list[MeterGapOut]
    resets: list[MeterResetOut]


@router.get(
    "/api/monitor/index",
    summary="Resumption indices of a day",
    description="Staff roles. 复工率 (resumed / counted), 复产率 (Σ E / Σ B) and their mean for "
    "the district, and per group with `group` (township, industry, chain, segment, list); "
    "fractions 0..1. Enterprises without a baseline are listed, not counted. Formulas in "
    "docs/monitor.md.",
    response_model=DayIndexOut,
    responses=ERROR_RESPONSES,
)
async def day_index(
    principal: CurrentPrincipal,
    monitor: Monitor,
    date: Day,
    group: Annotated[str | None, Query(max_length=16)] = None,
    theta: Annotated[float | None, Query(gt=0, le=1)] = None,
    resumed_only: bool = False,
    baseline_start: BaselineStart = None,
    baseline_end: BaselineEnd = None,
) -> DayIndexOut:
    report = await monitor.index(principal, date, [group] if group else [], theta=theta,
                                 resumed_only=resumed_only,
                                 baseline=_baseline(baseline_start, baseline_end))  # fmt: skip
    return DayIndexOut.of(report, group)


@router.get(
    "/api/monitor/series",
    summary="Daily series of the district or a group",
    description="Staff roles. The indices for every day from `first` to `last` (at most 800 "
    "days), against one baseline: the window of the last day; of the district, or of one group "
    "with `group` (township, industry, chain, segment, list) and `key` (its id).",
    response_model=SeriesOut,
    responses={**ERROR_RESPONSES, 404: {"description": "No such group"}},
)
async def series(
    principal: CurrentPrincipal, monitor: Monitor, first: Day, last: Day,
    resumed_only: bool = False,
    group: Annotated[str | None, Query(max_length=16, description="Kind of the group")] = None,
    key: Annotated[str | None, Query(max_length=64, description="The group's id")] = None,
    baseline_start: BaselineStart = None, baseline_end: BaselineEnd = None,
) -> SeriesOut:  # fmt: skip
    window, days = await monitor.series(principal, first, last, resumed_only=resumed_only,
                                        group=group, key=key,
                                        baseline=_baseline(baseline_start,
                                                           baseline_end))  # fmt: skip
    return SeriesOut(
        theta=monitor.settings.theta, baseline_start=window[0], baseline_end=window[1],
        days=[SeriesDayOut(date=d, **SeriesDayOut.values(v)) for d, v in days],
    )  # fmt: skip


@router.get(
    "/api/monitor/flags",
    summary="Data-quality flags",
    description="Staff roles. Missing meter days, spikes inconsistent with the enterprise's "
    "history and disagreements between power and the enterprise's reported status, from "
    "`first` to `last`. Flagged readings still count in the indices.",
    response_model=list[FlagOut],
    responses=ERROR_RESPONSES,
)
async def flags(
    principal: CurrentPrincipal, monitor: Monitor, first: Day, last: Day,
    baseline_start: BaselineStart = None, baseline_end: BaselineEnd = None,
) -> list[FlagOut]:  # fmt: skip
    found = await monitor.flags(principal, first, last, _baseline(baseline_start, baseline_end))
    names = await monitor.names({f.enterprise_id for f in found})
    return [FlagOut.of(f, names.get(f.enterprise_id, "")) for f in found]


@router.get(
    "/api/monitor/enterprises/{enterprise_id}",
    summary="An enterprise's power curve",
    description="Staff roles, or the enterprise's own users. Daily use from `first` to `last` "
    "against its baseline and threshold (theta · B), whether it had resumed on `last`, its "
    "band, flags and reported status.",
    response_model=EnterpriseMonitorOut,
    responses={**ERROR_RESPONSES, **_NOT_FOUND},
)
async def enterprise_curve(
    enterprise_id: Id, principal: CurrentPrincipal, monitor: Monitor, first: Day, last: Day,
    baseline_start: BaselineStart = None, baseline_end: BaselineEnd = None,
) -> EnterpriseMonitorOut:  # fmt: skip
    view = await monitor.enterprise(principal, enterprise_id, first, last,
                                    _baseline(baseline_start, baseline_end))  # fmt: skip
    return EnterpriseMonitorOut.of(view)


@router.get(
    "/api/monitor/opening",
    summary="The day the dashboard opens on",
    description="Staff roles. The latest day up to `today` (default: today in the district's "
    "zone) on which at least TAIHU_MONITOR_OPEN_COVERAGE of the enterprises with a baseline "
    "are counted, how many are, and a later day with readings that was passed over.",
    response_model=OpeningOut,
    responses=ERROR_RESPONSES,
)
async def opening(
    principal: CurrentPrincipal, monitor: Monitor, runtime: RuntimeDep,
    today: Annotated[date | None, Query(description="YYYY-MM-DD")] = None,
) -> OpeningOut:  # fmt: skip
    when = today or runtime.clock.now().astimezone(runtime.settings.console.zone).date()
    found = await monitor.opening_day(principal, when)
    return OpeningOut(
        date=found.day, counted=found.counted, with_baseline=found.with_baseline,
        enough=found.enough, latest=found.latest, latest_readings=found.latest_readings,
        latest_counted=found.latest_counted,
        message=found.message(monitor.settings.open_coverage).render(),
    )  # fmt: skip


@router.get(
    "/api/monitor/baselines",
    summary="Baseline overrides",
    description="Staff roles. The enterprises measured against their own baseline window.",
    response_model=list[OverrideOut],
    responses=ERROR_RESPONSES,
)
async def baseline_overrides(principal: CurrentPrincipal, session: DbSession) -> list[OverrideOut]:
    return [
        _override(row, code, name) for row, code, name in await list_overrides(session, principal)
    ]


def _override(row: BaselineOverride, code: str, name: str) -> OverrideOut:
    return OverrideOut(enterprise_id=row.enterprise_id, credit_code=code, name=name,
                       start=row.start, end=row.end, reason=row.reason, set_by=row.set_by,
                       set_at=row.set_at)  # fmt: skip


@router.put(
    "/api/monitor/baselines/{enterprise_id}",
    summary="Give an enterprise its own baseline window",
    description="Admin and bureau. For a firm whose usual window was abnormal (a December "
    "shutdown): its baseline is the mean of its readings in this window, whatever window a "
    "request asks for. At most 366 days. Audited (`baseline.override`).",
    response_model=OverrideOut,
    responses={**ERROR_RESPONSES, **_NOT_FOUND},
)
async def put_baseline_override(
    enterprise_id: Id, body: OverrideIn, principal: CurrentPrincipal, session: DbSession,
    runtime: RuntimeDep,
) -> OverrideOut:  # fmt: skip
    row = await set_override(session, principal, enterprise_id, body.start, body.end,
                             body.reason, now=runtime.clock.now())  # fmt: skip
    ((found, code, name),) = await list_overrides(session, principal, row.enterprise_id)
    return _override(found, code, name)


@router.delete(
    "/api/monitor/baselines/{enterprise_id}",
    summary="Remove an enterprise's own baseline window",
    description="Admin and bureau. The enterprise is measured against the request's window "
    "again. Audited (`baseline.override_clear`); 404 when it had none.",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**ERROR_RESPONSES, **_NOT_FOUND},
)
async def delete_baseline_override(
    enterprise_id: Id, principal: CurrentPrincipal, session: DbSession, runtime: RuntimeDep
) -> Response:
    if not await clear_override(session, principal, enterprise_id, now=runtime.clock.now()):
        raise NotFound(N_("enterprise {id} has no baseline override"),
                       code="override_not_found", id=enterprise_id)  # fmt: skip
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/api/monitor/enterprises/{enterprise_id}/status",
    summary="Report an enterprise's status",
    description="The enterprise's own users (or the bureau) say whether it has resumed on a "
    "day; the data-quality guard flags a report that the power data contradicts. Audited; a "
    "second report for the same day replaces the first.",
    response_model=StatusIn,
    responses={**ERROR_RESPONSES, **_NOT_FOUND},
)
async def report_status(
    enterprise_id: Id, body: StatusIn, principal: CurrentPrincipal, monitor: Monitor
) -> StatusIn:
    row = await monitor.report_status(principal, enterprise_id, body.date, resumed=body.resumed,
                                      note=body.note)  # fmt: skip
    return StatusIn(date=row.day, resumed=row.resumed, note=row.note)


@router.post(
    "/api/monitor/power/import",
    summary="Import daily electricity from the grid company",
    description="Admin and bureau. Multipart `file` (xlsx or CSV: credit code, date, kWh). "
    "Every row is validated first (unknown enterprise, bad date, negative, ambiguous or absurd "
    "value, repeated day); any problem and nothing is written unless `skip_invalid=true`, "
    "which writes the valid rows and reports the others. A known (enterprise, day) is replaced.",
    response_model=ImportReportOut,
    responses=ERROR_RESPONSES,
)
async def import_power_file(
    principal: CurrentPrincipal,
    session: DbSession,
    runtime: RuntimeDep,
    file: ImportFile,
    skip_invalid: SkipInvalid = False,
    dry_run: DryRun = False,
) -> ImportReportOut:
    settings = runtime.settings
    return await import_upload(
        file,
        lambda name, content: import_power(
            session, runtime.clock, principal, name, content,
            max_kwh=settings.monitor.max_daily_kwh,
            today=runtime.clock.now().astimezone(settings.console.zone).date(),
            skip_invalid=skip_invalid, dry_run=dry_run,
        ),
    )  # fmt: skip


@router.post(
    "/api/monitor/power/sync-meters",
    summary="Bring daily use in from the power meters",
    description="Admin and bureau. A day's use per meter is its cumulative energy at the end of "
    "the day minus that at the end of the day before (from the device hub's hourly rollups), "
    "summed per enterprise; days imported from the grid company are kept. Energy used across "
    "days without readings is listed in `gaps`, not put on a day; a counter that dropped is "
    "listed in `resets`.",
    response_model=SyncOut,
    responses=ERROR_RESPONSES,
)
async def sync_power_meters(
    principal: CurrentPrincipal, session: DbSession, runtime: RuntimeDep, first: Day, last: Day
) -> SyncOut:
    settings = runtime.settings
    report = await sync_meters(
        session, store_for(runtime.db), runtime.clock, principal, first, last,
        zone=settings.console.zone, profile=settings.monitor.meter_profile,
        key=settings.monitor.meter_key,
    )  # fmt: skip
    return SyncOut(
        written=report.written, meters=report.meters,
        gaps=[MeterGapOut(device_id=d, after=g.after, before=g.before, kwh=g.kwh)
              for d, g in report.gaps],
        resets=[MeterResetOut(device_id=d, day=day) for d, day in report.resets],
    )  # fmt: skip


router.include_router(casework_router)
