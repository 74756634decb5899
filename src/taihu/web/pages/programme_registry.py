"""Console pages of the award registry: who holds what, the figures, import and export.

The registry with its filters and expiry reminders, holders per township, industry class or
chain and the yearly trend as charts; the xlsx export, and the import (bureau).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from taihu.accounts import Permission, SessionInfo, may
from taihu.core import DbSession, RuntimeDep, TaihuError, read_upload
from taihu.programmes import (
    BREAKDOWNS,
    XLSX,
    AwardFilter,
    ProgrammeService,
    RegistryService,
    holders_by,
    import_awards,
)
from taihu.web.console import Signed, guard
from taihu.web.i18n import current_language, gettext_
from taihu.web.pages.programmes import csrf_ok, labelled_page

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


def _holders_chart(holders: list[Any], programmes: list[Any], language: str) -> dict[str, Any]:
    """The breakdown as a stacked bar chart's data: groups along, one series per programme."""
    english = language.startswith("en")
    groups: dict[str, str] = {}
    for h in holders:
        groups.setdefault(
            h.group, (h.name_en if english else h.name_zh) or gettext_("Not recorded")
        )
    names = {p.key: p.name_en if english else p.name_zh for p in programmes}
    series = []
    for key in sorted({h.programme for h in holders}):
        count = {h.group: h.count for h in holders if h.programme == key}
        series.append({"name": names.get(key, key), "data": [count.get(g, 0) for g in groups]})
    return {"groups": list(groups.values()), "series": series}


def _trend_chart(counts: list[dict[str, Any]], language: str) -> dict[str, Any]:
    """Awards per year, one line per programme (its levels summed): the trend reports quote."""
    english = language.startswith("en")
    years = sorted({c["year"] for c in counts})
    per: dict[str, dict[int, int]] = {}
    names: dict[str, str] = {}
    for c in counts:
        names[c["programme"]] = c["name_en"] if english else c["name_zh"]
        by_year = per.setdefault(c["programme"], {})
        by_year[c["year"]] = by_year.get(c["year"], 0) + c["count"]
    series = [
        {"name": names[key], "data": [per[key].get(y, 0) for y in years]} for key in sorted(per)
    ]
    return {"years": [str(y) for y in years], "series": series}


async def _registry(
    request: Request,
    who: SessionInfo,
    session: DbSession,
    runtime: RuntimeDep,
    where: AwardFilter,
    days: int,
    by: str = "township",
    **context: Any,
) -> HTMLResponse:
    registry = RegistryService(session, runtime.clock)
    programmes = await ProgrammeService(session, runtime.clock).all()
    holders = await holders_by(
        session, who.principal, by, today=runtime.clock.now().date(),
        programme_id=where.programme_id,
    )  # fmt: skip
    counts = await registry.counts(who.principal)
    return labelled_page(
        request,
        "programmes/registry.html",
        who,
        programmes=programmes,
        where=where,
        days=days,
        by=by,
        breakdowns=BREAKDOWNS,
        holders=holders,
        holders_chart=_holders_chart(holders, programmes, current_language.get()),
        awards=await registry.awards(who.principal, where),
        expiring=await registry.awards(who.principal, expiring_days=days),
        counts=counts,
        trend_chart=_trend_chart(counts, current_language.get()),
        importer=may(who.principal, Permission.REVIEW_PROGRAMMES),
        **context,
    )


@router.get(
    "/programmes/registry",
    response_class=HTMLResponse,
    dependencies=guard(Permission.VIEW_PROGRAMME_REGISTRY),
)
async def registry_page(
    request: Request,
    who: Signed,
    session: DbSession,
    runtime: RuntimeDep,
    programme: Annotated[int | None, Query(ge=1)] = None,
    year: Annotated[int | None, Query(ge=1990, le=2100)] = None,
    days: Annotated[int, Query(ge=0, le=3660)] = 90,
    by: Annotated[str, Query(pattern="^(" + "|".join(BREAKDOWNS) + ")$")] = "township",
) -> HTMLResponse:
    where = AwardFilter(programme_id=programme, year=year)
    return await _registry(request, who, session, runtime, where, days, by)


@router.get(
    "/programmes/registry/export",
    response_model=None,
    dependencies=guard(Permission.VIEW_PROGRAMME_REGISTRY),
)
async def registry_export(
    who: Signed,
    session: DbSession,
    runtime: RuntimeDep,
    programme: Annotated[int | None, Query(ge=1)] = None,
    year: Annotated[int | None, Query(ge=1990, le=2100)] = None,
) -> Response:
    content = await RegistryService(session, runtime.clock).export_xlsx(
        who.principal, AwardFilter(programme_id=programme, year=year)
    )
    return Response(
        content,
        media_type=XLSX,
        headers={"Content-Disposition": 'attachment; filename="programme-awards.xlsx"'},
    )


@router.post(
    "/programmes/registry/import",
    response_model=None,
    dependencies=guard(Permission.REVIEW_PROGRAMMES),
)
async def registry_import(
    request: Request,
    who: Signed,
    session: DbSession,
    runtime: RuntimeDep,
    file: Annotated[UploadFile, File()],
    csrf: Annotated[str, Form(max_length=128)] = "",
    skip_invalid: Annotated[bool, Form()] = False,
    dry_run: Annotated[bool, Form()] = False,
) -> Response:
    if not csrf_ok(who, csrf):
        return Response(gettext_("Missing or wrong CSRF token."), status_code=403)
    report, error, status_code = None, "", 200
    try:
        async with session.begin_nested():
            report = await import_awards(
                session,
                runtime.clock,
                who.principal,
                file.filename or "upload.csv",
                await read_upload(file),
                skip_invalid=skip_invalid,
                dry_run=dry_run,
            )
    except TaihuError as exc:
        error, status_code = exc.text(gettext_), exc.status
    return await _registry(
        request,
        who,
        session,
        runtime,
        AwardFilter(),
        90,
        report=report,
        error=error,
        status_code=status_code,
    )
