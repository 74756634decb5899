"""API shapes of reporting, with examples for ``/docs``."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from taihu.core import MAX_ID, reader_translation
from taihu.reporting.problems import problem_of

__all__ = [
    "BindingIn",
    "BindingsIn",
    "CorrectionIn",
    "DeadlineOut",
    "FigureOut",
    "GenerateIn",
    "RunOut",
    "SubmitIn",
    "TaskIn",
    "TaskOut",
    "TemplateOut",
]

_BINDING: dict[str, Any] = {
    "sheet": "复工复产周报",
    "ref": "D22",
    "figure": "monitor.resumption_rate",
    "params": {"group": "township", "key": "320509102"},
    "label": "盛泽镇复工率",
}


class FigureOut(BaseModel):
    """A figure of the catalogue: its name, what it is, its parameters."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "monitor.resumption_rate",
                    "doc": "Share of counted enterprises resumed (复工率), 0-1.",
                    "params": {
                        "group": "township, industry, chain, segment or list",
                        "key": "the group's key",
                        "day": "latest, start, end or YYYY-MM-DD",
                    },
                    "table": False,
                    "required": [],
                }
            ]
        }
    )

    name: str
    doc: str
    params: dict[str, str]
    table: bool
    required: list[str]


class BindingIn(BaseModel):
    """One bound place: sheet, a cell ("C4") or a region ("A4:E19"), figure, parameters."""

    model_config = ConfigDict(json_schema_extra={"examples": [_BINDING]})

    sheet: str = Field(min_length=1, max_length=100)
    ref: str = Field(min_length=2, max_length=24)
    figure: str = Field(min_length=1, max_length=80)
    params: dict[str, str] = Field(default_factory=dict, max_length=10)
    label: str = Field(default="", max_length=200)


class BindingsIn(BaseModel):
    """A template's bindings (replacing those it had)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"bindings": [_BINDING]}]})

    bindings: list[BindingIn] = Field(max_length=200)


class TemplateOut(BaseModel):
    """A template: its file and bindings (the file itself is downloaded apart)."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": 1,
                    "name": "市工信局复工复产周报表",
                    "filename": "复工复产周报.xlsx",
                    "size": 7421,
                    "sha256": "9f2c" + "0" * 60,
                    "bindings": [_BINDING],
                    "created_by": "analyst",
                    "created_at": "2026-12-05T02:00:00Z",
                    "updated_at": "2026-12-05T02:05:00Z",
                }
            ]
        },
    )

    id: int
    name: str
    filename: str
    size: int
    sha256: str
    bindings: list[dict[str, Any]]
    created_by: str
    created_at: datetime
    updated_at: datetime


class TaskIn(BaseModel):
    """A new report task."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "title": "工业企业复工复产情况周报",
                    "issuing_body": "苏州市工业和信息化局",
                    "cadence": "weekly",
                    "due_day": 5,
                    "lead_days": 1,
                    "template_id": 1,
                    "owner": "analyst",
                }
            ]
        }
    )

    title: str = Field(min_length=1, max_length=200)
    issuing_body: str = Field(min_length=1, max_length=200)
    cadence: str = Field(description="weekly, monthly, quarterly or once", max_length=16)
    due_day: int = Field(default=1, ge=1, le=28, description="Weekday 1-7 (weekly) or day 1-28")
    due_on: date | None = Field(default=None, description="The due date of a one-off task")
    lead_days: int = Field(default=0, ge=0, le=31, description="Draft made this many days early")
    template_id: int = Field(ge=1, le=MAX_ID)
    owner: str = Field(min_length=1, max_length=128)


class TaskOut(BaseModel):
    """A report task."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": 1,
                    "title": "工业企业复工复产情况周报",
                    "issuing_body": "苏州市工业和信息化局",
                    "cadence": "weekly",
                    "due_day": 5,
                    "due_on": None,
                    "lead_days": 1,
                    "template_id": 1,
                    "owner": "analyst",
                    "active": True,
                    "created_by": "analyst",
                    "created_at": "2026-12-05T02:06:00Z",
                }
            ]
        },
    )

    id: int
    title: str
    issuing_body: str
    cadence: str
    due_day: int
    due_on: date | None
    lead_days: int
    template_id: int
    owner: str
    active: bool
    created_by: str
    created_at: datetime


class RunOut(BaseModel):
    """One period's report: generated values, corrections beside them, its state."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": 1,
                    "task_id": 1,
                    "period_key": "2026-W18",
                    "period_start": "2026-04-27",
                    "period_end": "2026-05-03",
                    "due_on": "2026-05-01",
                    "status": "draft",
                    "generated": {"复工复产周报!D22": 0.931},
                    "corrections": {
                        "复工复产周报!D22": {
                            "value": 0.93,
                            "by": "analyst",
                            "at": "2026-04-30T02:00:00+00:00",
                            "note": "按镇上报口径",
                        }
                    },
                    "problems": [],
                    "sha256": "5d1e" + "0" * 60,
                    "generated_at": "2026-04-30T00:00:00Z",
                    "generated_by": "reporting",
                    "approved_by": None,
                    "approved_at": None,
                    "submitted_by": None,
                    "submitted_at": None,
                    "note": "",
                }
            ]
        },
    )

    id: int
    task_id: int
    period_key: str
    period_start: date
    period_end: date
    due_on: date
    status: str
    generated: dict[str, Any]
    corrections: dict[str, Any]
    problems: list[str]
    sha256: str
    generated_at: datetime
    generated_by: str
    approved_by: str | None
    approved_at: datetime | None
    submitted_by: str | None
    submitted_at: datetime | None
    note: str

    @field_validator("problems", mode="before")
    @classmethod
    def _in_reader_language(cls, stored: list[object]) -> list[str]:
        # The run keeps messages; an API caller reads them in its language.
        translate = reader_translation()
        return [problem_of(p).render(translate) for p in stored]


class GenerateIn(BaseModel):
    """Which period to generate (none: the one due now), and whether to read a draft again."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"period": "2026-W18"}]})

    period: str | None = Field(default=None, max_length=16)
    refresh: bool = False


class CorrectionIn(BaseModel):
    """A person's value for one bound cell ("Sheet!C4"); empty clears the cell."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"cell": "复工复产周报!D22", "value": "0.93", "note": "按镇上报口径"}]
        }
    )

    cell: str = Field(min_length=3, max_length=130)
    value: str = Field(max_length=500)
    note: str = Field(default="", max_length=500)


class SubmitIn(BaseModel):
    """How it went up (a note kept with the archived file)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"note": "已通过市政务网报送"}]})

    note: str = Field(default="", max_length=1000)


class DeadlineOut(BaseModel):
    """A period near today not yet submitted."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "task_id": 1,
                    "title": "工业企业复工复产情况周报",
                    "issuing_body": "苏州市工业和信息化局",
                    "period": "2026-W49",
                    "due": "2026-12-04",
                    "overdue": True,
                    "run_id": 7,
                    "status": "approved",
                }
            ]
        }
    )

    task_id: int
    title: str
    issuing_body: str
    period: str
    due: date
    overdue: bool
    run_id: int | None
    status: str | None
