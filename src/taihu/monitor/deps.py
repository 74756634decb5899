"""The services a monitor route depends on, made per request, and shared route annotations."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import Depends, Query

from taihu.core import DbSession, RuntimeDep
from taihu.monitor.casework import CaseService
from taihu.monitor.service import MonitorService

__all__ = ["NOT_FOUND", "XLSX", "Cases", "Day", "Monitor"]

NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such enterprise, list or case"}
}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Day = Annotated[date, Query(description="YYYY-MM-DD")]


def _monitor(session: DbSession, runtime: RuntimeDep) -> MonitorService:
    return MonitorService(session, runtime.settings.monitor, runtime.clock)


def _cases(session: DbSession, runtime: RuntimeDep) -> CaseService:
    return CaseService(session, runtime.clock)


Monitor = Annotated[MonitorService, Depends(_monitor)]
Cases = Annotated[CaseService, Depends(_cases)]
