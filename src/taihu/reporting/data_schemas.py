"""API shapes of data tasks to enterprises, with examples for ``/docs``."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["DataPeriodOut", "DataTaskIn", "DataTaskOut", "DataTaskStateIn", "OpenPeriodIn"]


class DataTaskIn(BaseModel):
    """A new data task."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "key": "monthly_ops",
                    "title": "月度经营数据",
                    "form": "builtin",
                    "cadence": "monthly",
                    "due_day": 10,
                    "lead_days": 10,
                    "scope": "township",
                    "scope_value": "320509102",
                }
            ]
        }
    )

    key: str = Field(
        min_length=2,
        max_length=40,
        pattern=r"^[a-z][a-z0-9_]{1,39}$",
        description="Names the task in figures and its periods' form ids",
    )
    title: str = Field(min_length=1, max_length=200)
    form: str = Field(
        min_length=1,
        max_length=100,
        description="`builtin` (the monthly data form) or a published survey's form id",
    )
    cadence: str = Field(description="weekly, monthly or quarterly", max_length=16)
    due_day: int = Field(default=10, ge=1, le=28, description="Weekday 1-7 (weekly) or day 1-28")
    lead_days: int = Field(default=10, ge=0, le=31, description="Opened this many days early")
    scope: str = Field(
        default="all", max_length=16, description="all, township, industry, chain or selected"
    )
    scope_value: str = Field(
        default="", max_length=2000, description="Township code, industry code, chain key, or ids"
    )


class DataTaskOut(BaseModel):
    """A data task."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": 1,
                    "key": "monthly_ops",
                    "title": "月度经营数据",
                    "source": "builtin",
                    "cadence": "monthly",
                    "due_day": 10,
                    "lead_days": 10,
                    "scope": "township",
                    "scope_value": "320509102",
                    "active": True,
                    "created_by": "analyst",
                    "created_at": "2026-12-01T02:00:00Z",
                }
            ]
        },
    )

    id: int
    key: str
    title: str
    source: str
    cadence: str
    due_day: int
    lead_days: int
    scope: str
    scope_value: str
    active: bool
    created_by: str
    created_at: datetime


class DataTaskStateIn(BaseModel):
    """Pause or resume a data task."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"active": False}]})

    active: bool


class OpenPeriodIn(BaseModel):
    """A period to open by hand."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"period": "2026-11"}]})

    period: str = Field(min_length=1, max_length=16, description="2026-W48, 2026-11 or 2026-Q4")


class DataPeriodOut(BaseModel):
    """An opened period: its survey and how many answered."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "period": "2026-11",
                    "start": "2026-11-01",
                    "end": "2026-11-30",
                    "due": "2026-12-10",
                    "form_id": "monthly_ops_2026_11",
                    "asked": 12,
                    "answered": 9,
                    "response_rate": 0.75,
                    "opened_by": "data-tasks",
                    "opened_at": "2026-11-30T16:00:00Z",
                }
            ]
        }
    )

    period: str
    start: date
    end: date
    due: date
    form_id: str
    asked: int
    answered: int
    response_rate: float
    opened_by: str
    opened_at: datetime
