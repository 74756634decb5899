"""HTTP routes of the monitor's casework: key-enterprise lists, blocker cases, the unblock list."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from taihu.accounts import ERROR_RESPONSES, CurrentPrincipal
from taihu.core import Id, PageNumber, PageSize
from taihu.monitor.casework import CaseFilter
from taihu.monitor.deps import NOT_FOUND as _NOT_FOUND
from taihu.monitor.deps import XLSX as _XLSX
from taihu.monitor.deps import Cases, Day, Monitor
from taihu.monitor.report import snapshot_xlsx
from taihu.monitor.schemas import (
    CaseActionIn,
    CaseDetailOut,
    CaseEventOut,
    CaseIn,
    CaseOut,
    CasePage,
    KeyListIn,
    KeyListOut,
    MembersIn,
    UnblockIn,
    UnblockItemOut,
    UnblockOut,
)

__all__ = ["router"]

router = APIRouter(tags=["monitor"])


@router.get(
    "/api/monitor/lists",
    summary="Key-enterprise lists",
    description="Staff roles. Every list with its member count.",
    response_model=list[KeyListOut],
    responses=ERROR_RESPONSES,
)
async def key_lists(principal: CurrentPrincipal, monitor: Monitor) -> list[KeyListOut]:
    return [
        KeyListOut(id=k.id, name=k.name, description=k.description, members=n)
        for k, n in await monitor.lists(principal)
    ]


@router.post(
    "/api/monitor/lists",
    summary="Create a key-enterprise list",
    description="Admin and bureau; audited. Names are unique.",
    status_code=status.HTTP_201_CREATED,
    response_model=KeyListOut,
    responses={**ERROR_RESPONSES, 409: {"description": "A list with this name exists"}},
)
async def create_list(body: KeyListIn, principal: CurrentPrincipal, monitor: Monitor) -> KeyListOut:
    row = await monitor.create_list(principal, body.name, body.description)
    return KeyListOut(id=row.id, name=row.name, description=row.description, members=0)


async def _change_members(
    list_id: Id, body: MembersIn, principal: CurrentPrincipal, monitor: Monitor, *, remove: bool
) -> KeyListOut:
    await monitor.set_members(principal, list_id, body.credit_codes, remove=remove)
    for row, count in await monitor.lists(principal):
        if row.id == list_id:
            return KeyListOut(id=row.id, name=row.name, description=row.description, members=count)
    raise AssertionError("the list vanished")  # pragma: no cover - set_members checked it


@router.post(
    "/api/monitor/lists/{list_id}/members",
    summary="Add enterprises to a list",
    description="Admin and bureau; by credit code, all registered or nothing changes; audited.",
    response_model=KeyListOut,
    responses={**ERROR_RESPONSES, **_NOT_FOUND},
)
async def add_members(
    list_id: Id, body: MembersIn, principal: CurrentPrincipal, monitor: Monitor
) -> KeyListOut:
    return await _change_members(list_id, body, principal, monitor, remove=False)


@router.post(
    "/api/monitor/lists/{list_id}/members/remove",
    summary="Remove enterprises from a list",
    description="Admin and bureau; by credit code; audited.",
    response_model=KeyListOut,
    responses={**ERROR_RESPONSES, **_NOT_FOUND},
)
async def remove_members(
    list_id: Id, body: MembersIn, principal: CurrentPrincipal, monitor: Monitor
) -> KeyListOut:
    return await _change_members(list_id, body, principal, monitor, remove=True)


@router.get(
    "/api/monitor/lists/{list_id}/snapshot",
    summary="Weekly snapshot of a list (xlsx)",
    description="Staff roles. The week (Monday to Sunday) containing `week`, in the fixed "
    "layout of docs/monitor.md: the list's indices on the last day, then one row per member "
    "with its baseline, seven days of use, week ratio, resumed flag, band and open cases.",
    response_class=Response,
    responses={
        **ERROR_RESPONSES,
        **_NOT_FOUND,
        200: {"description": "The workbook", "content": {_XLSX: {}}},
    },
)
async def list_snapshot(
    list_id: Id, principal: CurrentPrincipal, monitor: Monitor, week: Day
) -> Response:
    snap = await monitor.snapshot(principal, list_id, week)
    return Response(
        snapshot_xlsx(snap), media_type=_XLSX,
        headers={"Content-Disposition": f'attachment; filename="snapshot-{snap.monday}.xlsx"'},
    )  # fmt: skip


@router.get(
    "/api/monitor/cases",
    summary="Blocker cases",
    description="Newest first; filter by `state`, `enterprise_id`, `officer`, `overdue` (open "
    "past the deadline). Enterprise users see their own enterprises' cases.",
    response_model=CasePage,
    responses=ERROR_RESPONSES,
)
async def list_cases(
    principal: CurrentPrincipal,
    cases: Cases,
    state: Annotated[str | None, Query(max_length=16)] = None,
    enterprise_id: Id | None = None,
    officer: Annotated[str | None, Query(max_length=128)] = None,
    overdue: bool = False,
    page: PageNumber = 1,
    page_size: PageSize = 50,
) -> CasePage:
    where = CaseFilter(state=state, enterprise_id=enterprise_id, officer=officer, overdue=overdue)
    rows, total = await cases.find(principal, where, limit=page_size,
                                   offset=(page - 1) * page_size)  # fmt: skip
    return CasePage(items=[CaseOut.of(c, cases.overdue(c)) for c in rows], total=total,
                    page=page, page_size=page_size)  # fmt: skip


@router.post(
    "/api/monitor/cases",
    summary="Record a blocker case",
    description="Bureau and admins for any enterprise; enterprise users for their own. "
    "Category: supplier, logistics, labour, funds or other. Audited.",
    status_code=status.HTTP_201_CREATED,
    response_model=CaseOut,
    responses={**ERROR_RESPONSES, **_NOT_FOUND},
)
async def record_case(body: CaseIn, principal: CurrentPrincipal, cases: Cases) -> CaseOut:
    case = await cases.record(principal, body.enterprise_id, body.category, body.title,
                              body.description)  # fmt: skip
    return CaseOut.of(case, cases.overdue(case))


@router.get(
    "/api/monitor/cases/{case_id}",
    summary="A case with its history",
    description="Staff roles, or the enterprise's own users.",
    response_model=CaseDetailOut,
    responses={**ERROR_RESPONSES, **_NOT_FOUND},
)
async def get_case(case_id: Id, principal: CurrentPrincipal, cases: Cases) -> CaseDetailOut:
    case = await cases.get(principal, case_id)
    events = [CaseEventOut.of(e) for e in await cases.events(principal, case_id)]
    return CaseDetailOut(**CaseOut.of(case, cases.overdue(case)).model_dump(), events=events)


@router.post(
    "/api/monitor/cases/{case_id}/actions",
    summary="Work a case",
    description="`assign` (officer and deadline), `start`, `close` (the report-back in "
    "`comment`) and `reopen` for the bureau and admins; `comment` also for the enterprise's own "
    "users. 409 `bad_case_state` when the state does not allow the action. Audited.",
    response_model=CaseOut,
    responses={**ERROR_RESPONSES, **_NOT_FOUND, 409: {"description": "Not in this state"}},
)
async def act_on_case(
    case_id: Id, body: CaseActionIn, principal: CurrentPrincipal, cases: Cases
) -> CaseOut:
    case = await cases.act(principal, case_id, body.action, comment=body.comment,
                           officer=body.officer, deadline=body.deadline)  # fmt: skip
    return CaseOut.of(case, cases.overdue(case))


@router.get(
    "/api/monitor/unblock/{credit_code}",
    summary="A key enterprise's unblock list",
    description="Staff roles. Its non-resumed critical suppliers on `date`, transitively over "
    "non-substitutable supply edges, in the industry map's unblock order (whose recovery "
    "restores the most downstream value first), with any open case for each.",
    response_model=UnblockOut,
    responses={**ERROR_RESPONSES, **_NOT_FOUND},
)
async def unblock_list(
    credit_code: str, principal: CurrentPrincipal, monitor: Monitor, cases: Cases, date: Day
) -> UnblockOut:
    key, items = await cases.unblock_list(principal, monitor, credit_code, date)
    return UnblockOut(enterprise_id=key.id, name=key.name, date=date, opened=0,
                      items=[UnblockItemOut.of(i) for i in items])  # fmt: skip


@router.post(
    "/api/monitor/unblock/{credit_code}",
    summary="Open cases for a key enterprise's unblock list",
    description="Admin and bureau. One supplier case per entry of the unblock list that has no "
    "open case from this key enterprise yet (以点带线扩面), assigned when `officer` and "
    "`deadline` are given. Audited.",
    response_model=UnblockOut,
    responses={**ERROR_RESPONSES, **_NOT_FOUND},
)
async def open_unblock_cases(
    credit_code: str, body: UnblockIn, principal: CurrentPrincipal, monitor: Monitor, cases: Cases
) -> UnblockOut:
    key, items, opened = await cases.open_unblock_cases(
        principal, monitor, credit_code, body.date, officer=body.officer, deadline=body.deadline
    )
    return UnblockOut(enterprise_id=key.id, name=key.name, date=body.date, opened=opened,
                      items=[UnblockItemOut.of(i) for i in items])  # fmt: skip
