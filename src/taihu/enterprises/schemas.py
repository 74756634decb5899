"""API shapes of the enterprises context."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from taihu.core import Page

__all__ = ["EnterpriseCreateIn", "EnterpriseOut", "EnterprisePage"]

_EXAMPLE_CODE = "91320509MA1Y2B3C0Y"
_EXAMPLE: dict[str, Any] = {
    "id": 12,
    "name": "吴江示例光缆有限公司",
    "credit_code": _EXAMPLE_CODE,
    "created_at": "2026-11-25T08:00:00Z",
}


class EnterpriseCreateIn(BaseModel):
    """A new enterprise."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"name": "吴江示例光缆有限公司", "credit_code": _EXAMPLE_CODE}]
        }
    )

    name: str = Field(min_length=1, max_length=200)
    credit_code: str = Field(
        min_length=1, max_length=64, description="GB 32100-2015, 18 characters"
    )


class EnterpriseOut(BaseModel):
    """An enterprise as listed."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={"examples": [_EXAMPLE]},
    )

    id: int
    name: str
    credit_code: str
    created_at: datetime


class EnterprisePage(Page[EnterpriseOut]):
    """A page of enterprises, by name."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"items": [_EXAMPLE], "total": 1, "page": 1, "page_size": 50}]
        }
    )
