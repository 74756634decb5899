"""SNMS-style listing and statistics routes: a prefix's identifiers page by page, daily counts.

Same envelope and errors as the other SNMS routes (``snms.py``). Members of a prefix's owner
enterprise and the platform's staff may read them.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from taihu.core import N_, InvalidInput, TaihuError, get_runtime
from taihu.identifiers.prefixes import StatisticsService
from taihu.identifiers.records import iso
from taihu.identifiers.snms.common import ERRORS, MISSING, OK, fail, principal_of, snms_json

__all__ = ["router"]

router = APIRouter(tags=["identifiers: SNMS"])

_MAX_PAGE_SIZE = 1000
_DEFAULT_DAYS = 30


def _number(request: Request, name: str, default: int, most: int) -> int:
    text = request.query_params.get(name, str(default))
    if not text.isdigit() or not 1 <= int(text) <= most:
        raise InvalidInput(
            N_("{name} must be a number from 1 to {most}"), code="bad_params", name=name, most=most
        )
    return int(text)


def _day(request: Request, name: str, default: date) -> date:
    text = request.query_params.get(name)
    if not text:
        return default
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise InvalidInput(
            N_("{name} must be a date such as 2026-11-25"), code="bad_params", name=name
        ) from exc


_LIST_EXAMPLE = {
    **OK,
    "data": {
        "list": [
            {
                "handle": "88.118.8/ELV-0001",
                "templateVersion": "elevator-1.0",
                "createTime": "2026-11-25T08:00:00Z",
                "updateTime": "2026-11-25T08:00:00Z",
            }
        ],
        "pager": {"page": 1, "pageSize": 10, "total": 1, "totalPage": 1},
    },
}


@router.get(
    "/identityv2/data/list",
    summary="SNMS: the identifiers under a prefix, page by page",
    description="`?prefix=&page=&pageSize=`: `page` counts from 1, `pageSize` 1 to 1,000 "
    "(default 10); ordered by handle. Members of the prefix's enterprise and platform staff.",
    responses={**ERRORS, 200: {"content": {"application/json": {"example": _LIST_EXAMPLE}}}},
)
async def snms_list(request: Request) -> Response:
    runtime = get_runtime(request)
    try:
        principal = await principal_of(request, runtime)
        prefix = request.query_params.get("prefix")
        if not prefix:
            raise InvalidInput(MISSING, code="bad_params", name="prefix")
        page = _number(request, "page", 1, 10_000_000)
        size = _number(request, "pageSize", 10, _MAX_PAGE_SIZE)
        async with runtime.db.session() as session:
            entries, total = await StatisticsService(session).handles(
                principal, prefix, page=page, size=size
            )
    except TaihuError as exc:
        return fail(exc)
    listed = [
        {"handle": e.handle, "templateVersion": e.template, "createTime": iso(e.created_at),
         "updateTime": iso(e.updated_at)}
        for e in entries
    ]  # fmt: skip
    pager = {"page": page, "pageSize": size, "total": total, "totalPage": -(-total // size)}
    return snms_json({**OK, "data": {"list": listed, "pager": pager}})


_STATS_EXAMPLE = {
    **OK,
    "data": {
        "from": "2026-11-24",
        "to": "2026-11-25",
        "total": {"registrations": 2000, "resolutions": 15000},
        "days": [
            {
                "day": "2026-11-25",
                "prefix": "88.118.8",
                "enterpriseId": 1,
                "enterprise": "苏州恒立电梯有限公司",
                "registrations": 2000,
                "resolutions": 15000,
            }
        ],
    },
}


@router.get(
    "/identityv2/data/statistics",
    summary="SNMS: registrations and resolutions per day, prefix and enterprise",
    description="`?from=&to=` (ISO dates, default the last 30 days, at most 366) and optionally "
    "`prefix=`. Only days with activity are listed. Staff see every prefix, an enterprise user "
    "the prefixes of their enterprises. Resolutions reach the figures within a few seconds.",
    responses={**ERRORS, 200: {"content": {"application/json": {"example": _STATS_EXAMPLE}}}},
)
async def snms_statistics(request: Request) -> Response:
    runtime = get_runtime(request)
    try:
        principal = await principal_of(request, runtime)
        today = runtime.clock.now().date()
        until = _day(request, "to", today)
        since = _day(request, "from", until - timedelta(days=_DEFAULT_DAYS - 1))
        async with runtime.db.session() as session:
            counts = await StatisticsService(session).daily(
                principal, since, until, prefix=request.query_params.get("prefix") or None
            )
    except TaihuError as exc:
        return fail(exc)
    days: list[dict[str, Any]] = [
        {"day": c.day.isoformat(), "prefix": c.prefix, "enterpriseId": c.enterprise_id,
         "enterprise": c.enterprise, "registrations": c.registrations,
         "resolutions": c.resolutions}
        for c in counts
    ]  # fmt: skip
    total = {
        "registrations": sum(c.registrations for c in counts),
        "resolutions": sum(c.resolutions for c in counts),
    }
    data = {"from": since.isoformat(), "to": until.isoformat(), "total": total, "days": days}
    return snms_json({**OK, "data": data})
