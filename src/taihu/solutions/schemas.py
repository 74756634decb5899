"""API shapes of the solution pool, with examples for ``/docs``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from taihu.core import MAX_ID, MAX_INT

__all__ = [
    "CaseIn",
    "CaseOut",
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
    "SuggestionOut",
    "TagIn",
    "TagOut",
]

_Key = Annotated[str, Field(min_length=1, max_length=64)]
_Ref = Annotated[int, Field(ge=1, le=MAX_ID)]
_Text = Field(min_length=1, max_length=200)
_Price = Field(default=None, ge=0, le=MAX_INT, description="10k yuan", examples=[20])


class _Orm(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class TagIn(BaseModel):
    """A new scenario tag (admin)."""

    key: str = Field(min_length=2, max_length=32, pattern="^[A-Za-z0-9_]+$", examples=["aps"])
    name_zh: str = Field(min_length=1, max_length=64, examples=["高级排产"])
    name_en: str = Field(min_length=1, max_length=64, examples=["Advanced scheduling"])


class TagOut(_Orm):
    """A scenario tag of the vocabulary."""

    key: str
    name_zh: str
    name_en: str
    builtin: bool


class ProviderIn(BaseModel):
    """A new provider (bureau)."""

    name: str = Field(min_length=1, max_length=200, examples=["某工业互联网平台公司"])
    name_en: str = Field(default="", max_length=200, examples=["An IIoT platform company"])
    kind: str = Field(pattern="^(platform|service|research)$", examples=["platform"])
    credit_code: str | None = Field(default=None, max_length=18, examples=["91320509MA1MXXXX0X"])
    description: str = Field(default="", max_length=2000)
    website: str = Field(default="", max_length=200)


class ProviderOut(_Orm):
    """A provider."""

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

    enterprise_name: str = Field(min_length=1, max_length=200, examples=["某光缆企业"])
    change: str = Field(min_length=1, max_length=2000, examples=["拉丝塔 40 台接入平台"])
    results: str = Field(min_length=1, max_length=2000, examples=["非计划停机下降 30%"])
    year: int | None = Field(default=None, ge=1990, le=2100, examples=[2025])
    credit_code: str | None = Field(default=None, max_length=18)


class CaseOut(_Orm):
    """A reference case."""

    id: int
    enterprise_name: str
    enterprise_id: int | None
    change: str
    results: str
    year: int | None


class SolutionIn(BaseModel):
    """A solution's text and classification."""

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

    enterprise_id: int = Field(ge=1, le=MAX_ID, examples=[12])
    title: str = Field(min_length=1, max_length=200, examples=["空压机能耗监测"])
    description: str = Field(default="", max_length=4000)
    tags: list[_Key] = Field(default=[], max_length=20, examples=[["energy"]])


class NeedActionIn(BaseModel):
    """One step of a need's life: match, start, close or withdraw."""

    action: str = Field(pattern="^(match|start|close|withdraw)$", examples=["match"])
    comment: str = Field(default="", max_length=1000)
    provider_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    solution_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    outcome: str = Field(default="", pattern="^(|resolved|unresolved)$")


class EventOut(_Orm):
    """A step in a need's history."""

    action: str
    status: str
    actor: str
    comment: str
    at: datetime


class NeedOut(_Orm):
    """A need with its history."""

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

    solution: SolutionOut
    reasons: list[str]


class GuideIn(BaseModel):
    """An industry application guide (bureau)."""

    industry_code: str = Field(min_length=1, max_length=4, examples=["3832"])
    title_zh: str = _Text
    title_en: str = _Text
    body: str = Field(default="", max_length=8000)
    solution_ids: list[_Ref] = Field(default=[], max_length=50)
    published: bool = False


class GuideOut(_Orm):
    """A guide."""

    id: int
    industry_code: str
    title_zh: str
    title_en: str
    body: str
    solution_ids: list[int]
    published: bool
