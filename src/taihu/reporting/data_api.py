"""HTTP routes of data tasks to enterprises: create, pause, open a period, periods' rates."""

from __future__ import annotations

from fastapi import APIRouter, status

from taihu.accounts import ERROR_RESPONSES, CurrentPrincipal
from taihu.core import DbSession, Id, RuntimeDep
from taihu.reporting.bureau_api import NOT_FOUND, refused_in_state
from taihu.reporting.data_schemas import (
    DataPeriodOut,
    DataTaskIn,
    DataTaskOut,
    DataTaskStateIn,
    OpenPeriodIn,
)
from taihu.reporting.datatasks import DataTaskService, DataTaskSpec, PeriodRow

__all__ = ["period_out", "router"]

router = APIRouter(tags=["reporting"])
_CONFLICT = refused_in_state("The key is taken, or the survey is not published")
_BUREAU = "Bureau and admins only; enterprises answer the periods' surveys under My surveys."


def _service(session: DbSession, runtime: RuntimeDep) -> DataTaskService:
    return DataTaskService(session, runtime.clock)


def period_out(row: PeriodRow) -> DataPeriodOut:
    """A period as the API gives it."""
    p = row.period
    return DataPeriodOut(
        period=p.period_key,
        start=p.period_start,
        end=p.period_end,
        due=p.due_on,
        form_id=row.form_id,
        asked=row.rate.asked,
        answered=row.rate.answered,
        response_rate=row.rate.rate,
        opened_by=p.opened_by,
        opened_at=p.opened_at,
    )


@router.get(
    "/api/reporting/data-tasks",
    summary="List data tasks to enterprises",
    response_model=list[DataTaskOut],
    description=_BUREAU,
    responses=ERROR_RESPONSES,
)
async def list_data_tasks(
    principal: CurrentPrincipal, session: DbSession, runtime: RuntimeDep
) -> list[DataTaskOut]:
    rows = await _service(session, runtime).tasks(principal)
    return [DataTaskOut.model_validate(r) for r in rows]


@router.post(
    "/api/reporting/data-tasks",
    summary="Add a data task to enterprises",
    response_model=DataTaskOut,
    status_code=status.HTTP_201_CREATED,
    description="The form is `builtin` (月度经营数据) or a published survey's form id (its "
    "XLSForm is copied). Each period's survey opens `lead_days` before the period's due "
    f"day and asks the scope's enterprises. {_BUREAU}",
    responses=_CONFLICT,
)
async def add_data_task(
    body: DataTaskIn, principal: CurrentPrincipal, session: DbSession, runtime: RuntimeDep
) -> DataTaskOut:
    row = await _service(session, runtime).create(principal, DataTaskSpec(**body.model_dump()))
    return DataTaskOut.model_validate(row)


@router.get(
    "/api/reporting/data-tasks/{task_id}",
    summary="One data task",
    response_model=DataTaskOut,
    description=_BUREAU,
    responses=NOT_FOUND,
)
async def get_data_task(
    task_id: Id, principal: CurrentPrincipal, session: DbSession, runtime: RuntimeDep
) -> DataTaskOut:
    return DataTaskOut.model_validate(await _service(session, runtime).task(principal, task_id))


@router.put(
    "/api/reporting/data-tasks/{task_id}/active",
    summary="Pause or resume a data task",
    response_model=DataTaskOut,
    description=f"A paused task opens no period; opened ones stay open. {_BUREAU}",
    responses=NOT_FOUND,
)
async def set_data_task_active(
    task_id: Id,
    body: DataTaskStateIn,
    principal: CurrentPrincipal,
    session: DbSession,
    runtime: RuntimeDep,
) -> DataTaskOut:
    row = await _service(session, runtime).set_active(principal, task_id, body.active)
    return DataTaskOut.model_validate(row)


@router.get(
    "/api/reporting/data-tasks/{task_id}/periods",
    summary="A data task's periods and response rates",
    response_model=list[DataPeriodOut],
    description=f"Latest period first. {_BUREAU}",
    responses=NOT_FOUND,
)
async def data_task_periods(
    task_id: Id, principal: CurrentPrincipal, session: DbSession, runtime: RuntimeDep
) -> list[DataPeriodOut]:
    return [period_out(r) for r in await _service(session, runtime).periods(principal, task_id)]


@router.post(
    "/api/reporting/data-tasks/{task_id}/periods",
    summary="Open a data task's period now",
    response_model=DataPeriodOut,
    description="Idempotent per task and period: an opened period is returned as it is. "
    "Its deadline must not have passed (the job opens each period on time by itself). "
    f"{_BUREAU}",
    responses=_CONFLICT,
)
async def open_data_period(
    task_id: Id,
    body: OpenPeriodIn,
    principal: CurrentPrincipal,
    session: DbSession,
    runtime: RuntimeDep,
) -> DataPeriodOut:
    service = _service(session, runtime)
    row, _ = await service.open_period(principal, task_id, body.period)
    found = [r for r in await service.periods(principal, task_id) if r.period.id == row.id]
    return period_out(found[0])
