"""HTTP routes of the award registry: who holds what, its figures, export and import."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status
from fastapi.responses import Response

from taihu.accounts import ERROR_RESPONSES, CurrentPrincipal
from taihu.core import (
    MAX_ID,
    DbSession,
    DryRun,
    ImportFile,
    ImportReportOut,
    RuntimeDep,
    SkipInvalid,
    import_upload,
)
from taihu.programmes.registry import AwardFilter, AwardRow, RegistryService
from taihu.programmes.registry_import import import_awards
from taihu.programmes.schemas import AwardIn, AwardOut, CountOut, HolderCountOut
from taihu.programmes.statistics import BREAKDOWNS, holders_by
from taihu.programmes.uploads import XLSX

__all__ = ["award_out", "router"]

router = APIRouter()  # tagged "programmes" by ``api``'s router, which includes it


def award_out(row: AwardRow) -> AwardOut:
    """A registry entry with the names of its programme and enterprise."""
    a = row.award
    return AwardOut(
        id=a.id,
        programme=row.programme.key,
        programme_name=row.programme.name_zh,
        enterprise_id=a.enterprise_id,
        enterprise_name=row.enterprise.name,
        credit_code=row.enterprise.credit_code,
        level=a.level,
        grade=a.grade,
        year=a.year,
        since=a.since,
        until=a.until,
        source=a.source,
        note=a.note,
    )


@router.get(
    "/api/programmes/awards",
    summary="The award registry",
    description="Who holds what, at which level and grade, since/until. Enterprise users see "
    "their own. `expiring_days` lists the awards still valid that lapse within that many days.",
    response_model=list[AwardOut],
    responses=ERROR_RESPONSES,
)
async def list_awards(
    principal: CurrentPrincipal,
    session: DbSession,
    runtime: RuntimeDep,
    programme_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    level: Annotated[str | None, Query(pattern="^(national|provincial|city|district)$")] = None,
    year: Annotated[int | None, Query(ge=1990, le=2100)] = None,
    enterprise_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    expiring_days: Annotated[int | None, Query(ge=0, le=3660)] = None,
) -> list[AwardOut]:
    where = AwardFilter(programme_id, level, year, enterprise_id)
    rows = await RegistryService(session, runtime.clock).awards(
        principal, where, expiring_days=expiring_days
    )
    return [award_out(r) for r in rows]


@router.post(
    "/api/programmes/awards",
    summary="Register a historical award",
    status_code=status.HTTP_201_CREATED,
    response_model=AwardOut,
    description="Bureau: an award won before the platform; `until` defaults to the "
    "programme's validity.",
    responses={**ERROR_RESPONSES, 409: {"description": "Held for that year already"}},
)
async def register_award(
    body: AwardIn, principal: CurrentPrincipal, session: DbSession, runtime: RuntimeDep
) -> AwardOut:
    registry = RegistryService(session, runtime.clock)
    award = await registry.register(
        principal,
        body.programme_id,
        body.enterprise_id,
        grade=body.grade,
        since=body.since,
        until=body.until,
        note=body.note,
    )
    rows = await registry.awards(principal, AwardFilter(enterprise_id=award.enterprise_id))
    return award_out(next(r for r in rows if r.award.id == award.id))


@router.get(
    "/api/programmes/awards/counts",
    summary="Awards per programme, level and year",
    description="Bureau and auditor: the figures the district's reports quote.",
    response_model=list[CountOut],
    responses=ERROR_RESPONSES,
)
async def award_counts(
    principal: CurrentPrincipal, session: DbSession, runtime: RuntimeDep
) -> list[CountOut]:
    rows = await RegistryService(session, runtime.clock).counts(principal)
    return [CountOut(**r) for r in rows]


@router.get(
    "/api/programmes/awards/breakdown",
    summary="Award holders per township, industry class or chain",
    description=(
        "Bureau and auditor: enterprises holding each programme's title per group (`by`: "
        "township, industry, chain). An enterprise counts once per programme in each of its "
        "groups (every chain it is confirmed in); without a township or class it counts under "
        "the empty group. `current` (default true): only awards in force today."
    ),
    response_model=list[HolderCountOut],
    responses=ERROR_RESPONSES,
)
async def award_breakdown(
    principal: CurrentPrincipal,
    session: DbSession,
    runtime: RuntimeDep,
    by: Annotated[str, Query(pattern="^(" + "|".join(BREAKDOWNS) + ")$", examples=["township"])],
    programme_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    current: bool = True,
) -> list[HolderCountOut]:
    rows = await holders_by(
        session, principal, by, today=runtime.clock.now().date(), programme_id=programme_id,
        current=current,
    )  # fmt: skip
    return [
        HolderCountOut(
            group=r.group,
            name_zh=r.name_zh,
            name_en=r.name_en,
            programme=r.programme,
            count=r.count,
        )
        for r in rows
    ]


@router.get(
    "/api/programmes/awards/export",
    summary="Export the registry as xlsx",
    description="Bureau and auditor; the layout imports back.",
    response_class=Response,
    responses=ERROR_RESPONSES,
)
async def export_awards(
    principal: CurrentPrincipal,
    session: DbSession,
    runtime: RuntimeDep,
    programme_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    year: Annotated[int | None, Query(ge=1990, le=2100)] = None,
) -> Response:
    content = await RegistryService(session, runtime.clock).export_xlsx(
        principal, AwardFilter(programme_id=programme_id, year=year)
    )
    return Response(
        content,
        media_type=XLSX,
        headers={"Content-Disposition": 'attachment; filename="programme-awards.xlsx"'},
    )


@router.post(
    "/api/programmes/awards/import",
    summary="Import awards from xlsx or CSV",
    description="Bureau. Columns `programme` (key or name), `credit_code`, `since` "
    "(YYYY-MM-DD), optional `grade`, `until`, `level`, `year`, `note` (or the Chinese headers "
    "项目, 统一社会信用代码, 认定日期, 等级, 有效期至 …). All-or-nothing unless `skip_invalid`.",
    response_model=ImportReportOut,
    responses={**ERROR_RESPONSES, 400: {"description": "Not a readable xlsx or CSV file"}},
)
async def import_registry(
    file: ImportFile,
    principal: CurrentPrincipal,
    session: DbSession,
    runtime: RuntimeDep,
    skip_invalid: SkipInvalid = False,
    dry_run: DryRun = False,
) -> ImportReportOut:
    return await import_upload(
        file,
        lambda name, content: import_awards(
            session,
            runtime.clock,
            principal,
            name,
            content,
            skip_invalid=skip_invalid,
            dry_run=dry_run,
        ),
    )
