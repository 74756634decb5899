"""API shapes of the programmes context, with examples for ``/docs``."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from taihu.core import MAX_ID, MAX_INT

__all__ = [
    "ApplicationOut",
    "AwardIn",
    "AwardOut",
    "CountOut",
    "DecisionIn",
    "DocumentOut",
    "FormIn",
    "ProgrammeIn",
    "ProgrammeOut",
    "StepOut",
]

_PROGRAMME: dict[str, Any] = {
    "id": 7,
    "key": "cloud_stars",
    "name_zh": "星级上云企业",
    "name_en": "Star-rated cloud enterprise",
    "level": "provincial",
    "issuing_body": "江苏省工业和信息化厅",
    "year": None,
    "batch": "",
    "criteria": "按上云深度评定一至五星。",
    "documents": [
        {"key": "licence", "name_zh": "营业执照", "name_en": "Business licence", "required": True}
    ],
    "stages": ["enterprise", "district", "city", "province"],
    "grades": [{"key": "5", "name_zh": "5星级", "name_en": "5 stars"}],
    "validity_years": 3,
    "subsidy_yuan": None,
    "accepting": True,
    "builtin": True,
}


class ProgrammeIn(BaseModel):
    """A new programme, as data (bureau)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {k: v for k, v in _PROGRAMME.items() if k not in ("id", "accepting", "builtin")}
                | {
                    "key": "district_smart_workshop",
                    "name_zh": "区级智能车间",
                    "name_en": "District smart workshop",
                    "level": "district",
                    "issuing_body": "吴江区工业和信息化局",
                    "stages": ["enterprise", "district"],
                    "grades": [],
                    "subsidy_yuan": 200000,
                }
            ]
        }
    )

    key: str = Field(min_length=2, max_length=64)
    name_zh: str = Field(min_length=1, max_length=200)
    name_en: str = Field(min_length=1, max_length=200)
    level: str = Field(max_length=16)
    issuing_body: str = Field(min_length=1, max_length=200)
    year: int | None = Field(default=None, ge=1990, le=2100)
    batch: str = Field(default="", max_length=64)
    criteria: str = Field(default="", max_length=20000)
    documents: list[dict[str, Any]] = Field(default_factory=list, max_length=30)
    stages: list[str] = Field(min_length=2, max_length=5)
    grades: list[dict[str, Any]] = Field(default_factory=list, max_length=20)
    validity_years: int | None = Field(default=None, ge=1, le=100)
    subsidy_yuan: int | None = Field(default=None, ge=0, le=MAX_INT)
    form_id: str | None = Field(
        default=None,
        max_length=64,
        description="A survey form applicants fill (its web form) besides the built-in fields",
    )


class ProgrammeOut(BaseModel):
    """A programme."""

    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [_PROGRAMME]})

    id: int
    key: str
    name_zh: str
    name_en: str
    level: str
    issuing_body: str
    year: int | None
    batch: str
    criteria: str
    documents: list[dict[str, Any]]
    stages: list[str]
    grades: list[dict[str, Any]]
    validity_years: int | None
    subsidy_yuan: int | None
    accepting: bool
    builtin: bool
    form_id: str | None = None


class DocumentOut(BaseModel):
    """A document of an application (its bytes are read apart, by reviewers)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    filename: str
    content_type: str
    size: int
    step_id: int | None


class StepOut(BaseModel):
    """One step of an application's review."""

    model_config = ConfigDict(from_attributes=True)

    stage: str
    decision: str
    actor: str
    comment: str
    at: datetime


_APPLICATION: dict[str, Any] = {
    "id": 3,
    "programme_id": 7,
    "enterprise_id": 12,
    "status": "in_review",
    "stage": "city",
    "form": {
        "contact_name": "王敏",
        "contact_phone": "13800000000",
        "summary": "设备上云 120 台、能耗管理平台上线。",
    },
    "steps": [
        {
            "stage": "enterprise",
            "decision": "submitted",
            "actor": "wang",
            "comment": "",
            "at": "2026-12-01T09:00:00Z",
        },
        {
            "stage": "district",
            "decision": "passed",
            "actor": "li.bureau",
            "comment": "材料齐全",
            "at": "2026-12-02T10:00:00Z",
        },
    ],
    "documents": [
        {
            "id": 5,
            "kind": "licence",
            "filename": "licence.pdf",
            "content_type": "application/pdf",
            "size": 81234,
            "step_id": 1,
        }
    ],
    "created_at": "2026-12-01T09:00:00Z",
    "updated_at": "2026-12-02T10:00:00Z",
}


class ApplicationOut(BaseModel):
    """An application, its steps and documents."""

    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [_APPLICATION]})

    id: int
    programme_id: int
    enterprise_id: int
    status: str
    stage: str
    form: dict[str, Any]
    # The survey form's answers: {form_id, instance_id, version, rows: [{path, label, value}]}.
    answers: dict[str, Any] | None = None
    steps: list[StepOut] = []
    documents: list[DocumentOut] = []
    created_at: datetime
    updated_at: datetime


class FormIn(BaseModel):
    """The survey form a programme's applicants fill, or none (the built-in form only)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"form_id": "cloud_stars_form"}]})

    form_id: str | None = Field(default=None, max_length=64)


class DecisionIn(BaseModel):
    """A stage's decision (bureau); at the last stage a pass enters the award."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"decision": "return", "comment": "补充近一年能耗数据"},
                {
                    "decision": "pass",
                    "comment": "省厅公示通过",
                    "grade": "4",
                    "since": "2026-12-01",
                },
            ]
        }
    )

    decision: str = Field(pattern="^(pass|return|reject)$")
    comment: str = Field(default="", max_length=1000)
    grade: str = Field(default="", max_length=32)
    since: date | None = None


class AwardIn(BaseModel):
    """A historical award, won before the platform (bureau)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "programme_id": 9,
                    "enterprise_id": 12,
                    "grade": "little_giant",
                    "since": "2024-07-01",
                    "note": "第五批",
                }
            ]
        }
    )

    programme_id: int = Field(ge=1, le=MAX_ID)
    enterprise_id: int = Field(ge=1, le=MAX_ID)
    grade: str = Field(default="", max_length=32)
    since: date
    until: date | None = None
    note: str = Field(default="", max_length=500)


class AwardOut(BaseModel):
    """A registry entry."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 4,
                    "programme": "specialised_sme",
                    "programme_name": "专精特新中小企业",
                    "enterprise_id": 12,
                    "enterprise_name": "吴江精密机械有限公司",
                    "credit_code": "91320509MA0TXT010F",
                    "level": "national",
                    "grade": "little_giant",
                    "year": 2024,
                    "since": "2024-07-01",
                    "until": "2027-06-30",
                    "source": "historical",
                    "note": "第五批",
                }
            ]
        }
    )

    id: int
    programme: str
    programme_name: str
    enterprise_id: int
    enterprise_name: str
    credit_code: str
    level: str
    grade: str
    year: int
    since: date
    until: date | None
    source: str
    note: str


class CountOut(BaseModel):
    """Awards of one programme at one level in one year."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "programme": "cloud_stars",
                    "name_zh": "星级上云企业",
                    "name_en": "Star-rated cloud enterprise",
                    "level": "provincial",
                    "year": 2026,
                    "count": 41,
                }
            ]
        }
    )

    programme: str
    name_zh: str
    name_en: str
    level: str
    year: int
    count: int


class HolderCountOut(BaseModel):
    """How many enterprises of one township, industry class or chain hold one programme."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "group": "320509102",
                    "name_zh": "盛泽镇",
                    "name_en": "Shengze",
                    "programme": "cloud_stars",
                    "count": 12,
                }
            ]
        }
    )

    group: str = Field(description="Township code, industry class or chain key; empty: none")
    name_zh: str
    name_en: str
    programme: str
    count: int
