"""API shapes of device nameplates."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["IdentifierIn", "NameplateOut", "PublicDeviceOut", "PublicStateIn", "PublicValue"]


class IdentifierIn(BaseModel):
    """The identifier a device carries (``null``: none)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"identifier": "88.118.8/ELV-001"}]})

    identifier: str | None = Field(
        min_length=1,
        max_length=255,
        description="A registered handle under a prefix of the device's enterprise, or null",
    )


class PublicStateIn(BaseModel):
    """Whether anyone resolving the device's identifier sees its latest telemetry."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"public_state": True}]})

    public_state: bool


class PublicValue(BaseModel):
    """A key's latest value."""

    ts: int = Field(description="Milliseconds since the epoch")
    at: datetime
    value: Any


class PublicDeviceOut(BaseModel):
    """A device as anyone resolving its identifier sees it."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": 7,
                    "identifier": "88.118.8/ELV-001",
                    "public_state": True,
                    "name": "电梯-1号楼",
                    "enterprise": "吴江电梯有限公司",
                    "presence": "connected",
                    "telemetry": {
                        "speed": {"ts": 1796371200000, "at": "2026-12-07T02:00:00Z", "value": 1.5}
                    },
                },
                {"id": 8, "identifier": "88.118.8/ELV-002", "public_state": False},
            ]
        },
    )

    id: int
    identifier: str
    public_state: bool
    name: str | None = None
    enterprise: str | None = None
    presence: str | None = None
    telemetry: dict[str, PublicValue] | None = None


class NameplateOut(BaseModel):
    """A device's identifier and whether its state is public."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [{"id": 7, "identifier": "88.118.8/ELV-001", "public_state": False}]
        },
    )

    id: int
    identifier: str | None
    public_state: bool
