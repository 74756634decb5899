"""API shapes of the enterprises context."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from taihu.core import Page
from taihu.enterprises.profile import Profile, RevenueBand

__all__ = [
    "EnterpriseCreateIn",
    "EnterpriseOut",
    "EnterprisePage",
    "EnterpriseUpdateIn",
    "IndustryClassOut",
    "TownshipOut",
]

_EXAMPLE_CODE = "91320509MA1Y2B3C8P"
_PROFILE_EXAMPLE: dict[str, Any] = {
    "name_en": "Wujiang Example Optical Cable Co., Ltd.",
    "township_code": "320509107",
    "industry_code": "3833",
    "above_size": True,
    "key_enterprise": True,
    "chain_leader": False,
    "employees": 420,
    "revenue_band": "100M-1B",
    "address": "七都镇示例路 1 号",
    "latitude": 30.95,
    "longitude": 120.43,
}
_EXAMPLE: dict[str, Any] = {
    "id": 12,
    "name": "吴江示例光缆有限公司",
    "credit_code": _EXAMPLE_CODE,
    "created_at": "2026-11-25T08:00:00Z",
    **_PROFILE_EXAMPLE,
    "township_name": "七都镇",
    "industry_name": "光缆制造",
    "synthetic": True,
    "updated_at": None,
}


class ProfileIn(BaseModel):
    """The registry facts an analyst can set; the values are checked like an import row."""

    name_en: str | None = Field(default=None, max_length=200)
    township_code: str | None = Field(
        default=None, max_length=40, description="9-digit township code or its Chinese name"
    )
    industry_code: str | None = Field(
        default=None, max_length=5, description="GB/T 4754-2017 four-digit class"
    )
    above_size: bool = Field(default=False, description="规上: main revenue >= ¥20 million")
    key_enterprise: bool = Field(default=False, description="重点企业")
    chain_leader: bool = Field(default=False, description="链主企业")
    employees: int | None = Field(default=None, ge=0, le=1_000_000)
    revenue_band: RevenueBand | None = None
    address: str | None = Field(default=None, max_length=300)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)

    def profile(self) -> Profile:
        """The validated profile (raises InvalidInput with the standard's wording)."""
        values = self.model_dump(include=set(ProfileIn.model_fields))
        values["revenue_band"] = self.revenue_band.value if self.revenue_band else None
        return Profile(**values)


class EnterpriseCreateIn(ProfileIn):
    """A new enterprise."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"name": "吴江示例光缆有限公司", "credit_code": _EXAMPLE_CODE, **_PROFILE_EXAMPLE}
            ]
        }
    )

    name: str = Field(min_length=1, max_length=200)
    credit_code: str = Field(
        min_length=1, max_length=64, description="GB 32100-2015, 18 characters"
    )


class EnterpriseUpdateIn(ProfileIn):
    """New registry facts for an enterprise (every field is replaced)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"name": "吴江示例光缆有限公司", **_PROFILE_EXAMPLE}]}
    )

    name: str | None = Field(default=None, min_length=1, max_length=200)


class EnterpriseOut(BaseModel):
    """An enterprise with its registry facts."""

    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [_EXAMPLE]})

    id: int
    name: str
    credit_code: str
    created_at: datetime
    name_en: str | None = None
    township_code: str | None = None
    township_name: str | None = None
    industry_code: str | None = None
    industry_name: str | None = None
    above_size: bool = False
    key_enterprise: bool = False
    chain_leader: bool = False
    employees: int | None = None
    revenue_band: str | None = None
    address: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    synthetic: bool = False
    updated_at: datetime | None = None


class EnterprisePage(Page[EnterpriseOut]):
    """A page of enterprises, by name."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"items": [_EXAMPLE], "total": 1, "page": 1, "page_size": 50}]
        }
    )


class IndustryClassOut(BaseModel):
    """A GB/T 4754-2017 code."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [{"code": "3832", "level": "class", "parent": "383", "name_zh": "光纤制造"}]
        },
    )

    code: str
    level: str
    parent: str | None
    name_zh: str


class TownshipOut(BaseModel):
    """A township of the district."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={"examples": [{"code": "320509105", "name_zh": "盛泽镇"}]},
    )

    code: str
    name_zh: str
