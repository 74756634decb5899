"""API shapes of the solution pool, with examples for ``/docs``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from taihu.core import MAX_ID, MAX_INT

__all__ = [
    "CaseIn",
    "CaseOut",
    "DocumentOut",
    "EventOut",
    "GuideIn",
    "GuideOut",
    "NeedActionIn",
    "NeedIn",
    "NeedOut",
    "ProviderIn",
    "ProviderOut",
    "SolutionIn",
    "SolutionOut",
    "SolutionTagIn",
    "SolutionTagOut",
    "SuggestionOut",
]

_Key = Annotated[str, Field(min_length=1, max_length=64)]
_Ref = Annotated[int, Field(ge=1, le=MAX_ID)]
_Text = Field(min_length=1, max_length=200)
_Price = Field(default=None, ge=0, le=MAX_INT, description="10k yuan", examples=[20])

_CASE: dict[str, Any] = {
    "enterprise_name": "某光缆企业",
    "change": "拉丝塔 40 台接入平台",
    "results": "非计划停机下降 30%",
    "year": 2025,
}
_SOLUTION: dict[str, Any] = {
    "title_zh": "纺织能耗管理平台",
    "title_en": "Energy management for textile mills",
    "summary": "分项计量、峰谷分析和能效对标。",
    "tags": ["energy"],
    "industry_codes": ["1751"],
    "segments": ["poly.weaving"],
    "price_min": 15,
    "price_max": 60,
}
_EVENT: dict[str, Any] = {
    "action": "match",
    "status": "matched",
    "actor": "analyst",
    "comment": "推荐能耗管理方案",
    "at": "2026-12-02T08:00:00Z",
}
_GUIDE: dict[str, Any] = {
    "industry_code": "3833",
    "title_zh": "光纤光缆行业应用指南",
    "title_en": "IIoT guide for optical cable",
    "body": "设备上云 → 质量追溯 → 供应链协同",
    "solution_ids": [9, 11],
    "published": True,
}


class _Orm(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class DocumentOut(_Orm):
    """A document of a solution (its bytes are read apart)."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": 3,
                    "kind": "brochure",
                    "filename": "能耗管理方案.pdf",
                    "content_type": "application/pdf",
                    "size": 182044,
                    "uploaded_by": "provider-user",
                    "uploaded_at": "2026-12-07T08:00:00Z",
                }
            ]
        },
    )

    id: int
    kind: str
    filename: str
    content_type: str
    size: int
    uploaded_by: str
    uploaded_at: datetime


class SolutionTagIn(BaseModel):
    """A new scenario tag (admin)."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [{"key": "aps", "name_zh": "高级排产", "name_en": "Advanced scheduling"}]
        },
    )

    key: str = Field(min_length=2, max_length=32, pattern="^[A-Za-z0-9_]+$", examples=["aps"])
    name_zh: str = Field(min_length=1, max_length=64, examples=["高级排产"])
    name_en: str = Field(min_length=1, max_length=64, examples=["Advanced scheduling"])


class SolutionTagOut(_Orm):
    """A scenario tag of the vocabulary."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "key": "energy",
                    "name_zh": "能耗管理",
                    "name_en": "Energy management",
                    "builtin": True,
                }
            ]
        },
    )

    key: str
    name_zh: str
    name_en: str
    builtin: bool


class ProviderIn(BaseModel):
    """A new provider (bureau)."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "name": "某工业互联网平台公司",
                    "name_en": "An IIoT platform company",
                    "kind": "platform",
                    "credit_code": None,
                    "description": "工业云平台与设备接入",
                    "website": "",
                }
            ]
        },
    )

    name: str = Field(min_length=1, max_length=200, examples=["某工业互联网平台公司"])
    name_en: str = Field(default="", max_length=200, examples=["An IIoT platform company"])
    kind: str = Field(pattern="^(platform|service|research)$", examples=["platform"])
    credit_code: str | None = Field(default=None, max_length=18, examples=["91320509MA1MXXXX0X"])
    description: str = Field(default="", max_length=2000)
    website: str = Field(default="", max_length=200)


class ProviderOut(_Orm):
    """A provider."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": 3,
                    "name": "某工业互联网平台公司",
                    "name_en": "An IIoT platform company",
                    "kind": "platform",
                    "credit_code": None,
                    "enterprise_id": None,
                    "description": "工业云平台与设备接入",
                    "website": "",
                }
            ]
        },
    )

    id: int
    name: str
    name_en: str
    kind: str
    credit_code: str | None
    enterprise_id: int | None
    description: str
    website: str


class CaseIn(BaseModel):
    """A reference case."""

    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [_CASE]})

    enterprise_name: str = Field(min_length=1, max_length=200, examples=["某光缆企业"])
    change: str = Field(min_length=1, max_length=2000, examples=["拉丝塔 40 台接入平台"])
    results: str = Field(min_length=1, max_length=2000, examples=["非计划停机下降 30%"])
    year: int | None = Field(default=None, ge=1990, le=2100, examples=[2025])
    credit_code: str | None = Field(default=None, max_length=18)


class CaseOut(_Orm):
    """A reference case."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={"examples": [{"id": 5, "enterprise_id": None, **_CASE}]},
    )

    id: int
    enterprise_name: str
    enterprise_id: int | None
    change: str
    results: str
    year: int | None


class SolutionIn(BaseModel):
    """A solution's text and classification."""

    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [_SOLUTION]})

    title_zh: str = _Text
    title_en: str = _Text
    summary: str = Field(default="", max_length=4000)
    tags: list[_Key] = Field(default=[], max_length=20, examples=[["device_cloud", "energy"]])
    industry_codes: list[_Key] = Field(default=[], max_length=20, examples=[["3832"]])
    segments: list[_Key] = Field(default=[], max_length=40, examples=[["fibre.preform"]])
    price_min: int | None = _Price
    price_max: int | None = _Price


class SolutionOut(_Orm):
    """A solution with its provider and cases."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": 9,
                    "provider_id": 3,
                    **_SOLUTION,
                    "updated_at": "2026-12-01T08:00:00Z",
                    "cases": [{"id": 5, "enterprise_id": None, **_CASE}],
                }
            ]
        },
    )

    id: int
    provider_id: int
    title_zh: str
    title_en: str
    summary: str
    tags: list[str]
    industry_codes: list[str]
    segments: list[str]
    price_min: int | None
    price_max: int | None
    updated_at: datetime
    cases: list[CaseOut] = []


class NeedIn(BaseModel):
    """An enterprise's need."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "enterprise_id": 12,
                    "title": "空压机能耗监测",
                    "description": "按班组统计电耗",
                    "tags": ["energy"],
                }
            ]
        },
    )

    enterprise_id: int = Field(ge=1, le=MAX_ID, examples=[12])
    title: str = Field(min_length=1, max_length=200, examples=["空压机能耗监测"])
    description: str = Field(default="", max_length=4000)
    tags: list[_Key] = Field(default=[], max_length=20, examples=[["energy"]])


class NeedActionIn(BaseModel):
    """One step of a need's life: match, start, close or withdraw."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [{"action": "match", "comment": "推荐能耗管理方案", "solution_id": 9}]
        },
    )

    action: str = Field(pattern="^(match|start|close|withdraw)$", examples=["match"])
    comment: str = Field(default="", max_length=1000)
    provider_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    solution_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    outcome: str = Field(default="", pattern="^(|resolved|unresolved)$")


class EventOut(_Orm):
    """A step in a need's history."""

    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [_EVENT]})

    action: str
    status: str
    actor: str
    comment: str
    at: datetime


class NeedOut(_Orm):
    """A need with its history."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": 4,
                    "enterprise_id": 12,
                    "title": "空压机能耗监测",
                    "description": "按班组统计电耗",
                    "tags": ["energy"],
                    "status": "matched",
                    "provider_id": 3,
                    "solution_id": 9,
                    "outcome": "",
                    "created_at": "2026-12-01T08:00:00Z",
                    "events": [_EVENT],
                }
            ]
        },
    )

    id: int
    enterprise_id: int
    title: str
    description: str
    tags: list[str]
    status: str
    provider_id: int | None
    solution_id: int | None
    outcome: str
    created_at: datetime
    events: list[EventOut] = []


class SuggestionOut(BaseModel):
    """A suggested solution and the reasons."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "solution": {
                        "id": 9,
                        "provider_id": 3,
                        **_SOLUTION,
                        "updated_at": "2026-12-01T08:00:00Z",
                        "cases": [],
                    },
                    "reasons": ["fits its industry class 1751"],
                }
            ]
        },
    )

    solution: SolutionOut
    reasons: list[str]


class GuideIn(BaseModel):
    """An industry application guide (bureau)."""

    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [_GUIDE]})

    industry_code: str = Field(min_length=1, max_length=4, examples=["3832"])
    title_zh: str = _Text
    title_en: str = _Text
    body: str = Field(default="", max_length=8000)
    solution_ids: list[_Ref] = Field(default=[], max_length=50)
    published: bool = False


class GuideOut(_Orm):
    """A guide."""

    model_config = ConfigDict(
        from_attributes=True, json_schema_extra={"examples": [{"id": 2, **_GUIDE}]}
    )

    id: int
    industry_code: str
    title_zh: str
    title_en: str
    body: str
    solution_ids: list[int]
    published: bool
