"""API shapes of the device hub."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from taihu.core import Id, Page

__all__ = [
    "AttributeOut",
    "AttributesIn",
    "DeviceCreateIn",
    "DeviceCreatedOut",
    "DeviceGatewayIn",
    "DeviceOut",
    "DevicePage",
    "ProfileCreateIn",
    "ProfileOut",
    "ProfileTimeoutIn",
    "RejectCountOut",
    "RejectOut",
    "RejectsOut",
    "TelemetryKey",
    "TokenOut",
]

_DEVICE: dict[str, Any] = {
    "id": 7,
    "enterprise_id": 12,
    "profile_id": 2,
    "name": "电表-1号车间",
    "kind": "device",
    "gateway_id": None,
    "identifier": None,
    "public_state": False,
    "created_at": "2026-11-25T08:00:00Z",
}
_TOKEN = "dev_9Qx2c0mV0s4yZ1rXb8d3JkLwqP5tN7aH6uE2fG4iR1o"  # noqa: S105 - an example in the docs


class TelemetryKey(BaseModel):
    """A telemetry key a profile declares."""

    key: str = Field(min_length=1, max_length=255)
    unit: str = Field(default="", max_length=32)
    type: Literal["long", "double", "boolean", "string", "json"] = "double"


class ProfileCreateIn(BaseModel):
    """A new device profile."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "power-meter",
                    "telemetry_keys": [{"key": "active_power", "unit": "kW", "type": "double"}],
                    "retention_days": 400,
                    "rate_limits": "100:1,3000:60",
                    "data_point_limits": "1000:1,30000:60",
                    "inactivity_timeout": 900,
                }
            ]
        }
    )

    name: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=500)
    telemetry_keys: list[TelemetryKey] = Field(default_factory=list, max_length=500)
    retention_days: int = Field(default=365, ge=1, le=36_500)
    rate_limits: str = Field(
        default="", max_length=200, description="Messages per device: capacity:seconds,…"
    )
    data_point_limits: str = Field(
        default="",
        max_length=200,
        description="Telemetry data points per device: capacity:seconds,…",
    )
    inactivity_timeout: int | None = Field(
        default=None,
        ge=10,
        le=2_592_000,
        description="Seconds without data before a device is inactive (null: the setting)",
    )


class ProfileTimeoutIn(BaseModel):
    """A profile's inactivity timeout (``null``: the alarms setting applies)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"inactivity_timeout": 900}]})

    inactivity_timeout: int | None = Field(
        ge=10, le=2_592_000, description="Seconds without data before a device is inactive"
    )


class ProfileOut(BaseModel):
    """A device profile."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": 2,
                    "name": "power-meter",
                    "description": "",
                    "telemetry_keys": [{"key": "active_power", "unit": "kW", "type": "double"}],
                    "retention_days": 400,
                    "rate_limits": "100:1,3000:60",
                    "data_point_limits": "1000:1,30000:60",
                    "inactivity_timeout": 900,
                    "created_at": "2026-11-25T08:00:00Z",
                }
            ]
        },
    )

    id: int
    name: str
    description: str
    telemetry_keys: list[TelemetryKey]
    retention_days: int
    rate_limits: str
    data_point_limits: str
    inactivity_timeout: int | None
    created_at: datetime


class DeviceCreateIn(BaseModel):
    """A new device of an enterprise."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"enterprise_id": 12, "name": "电表-1号车间", "profile": "power-meter"}]
        }
    )

    enterprise_id: Id
    name: str = Field(min_length=1, max_length=200)
    profile: str | None = Field(default=None, max_length=100)
    gateway: bool = False
    identifier: str | None = Field(
        default=None,
        min_length=1,
        max_length=255,
        description="A registered handle under a prefix of the enterprise: the device is linked "
        "to it (its record gets a `URL` value to the device's public page), as "
        "`PUT /api/devices/{device_id}/identifier` does",
    )


class DeviceGatewayIn(BaseModel):
    """The gateway a device is to be a child of (``null``: none)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"gateway_id": 5}]})

    gateway_id: Id | None = Field(
        description="A gateway of the device's enterprise, or null to detach"
    )


class DeviceOut(BaseModel):
    """A device as listed."""

    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [_DEVICE]})

    id: int
    enterprise_id: int
    profile_id: int
    name: str
    kind: str
    gateway_id: int | None
    identifier: str | None
    public_state: bool = Field(description="Whether its identifier's page shows its latest values")
    created_at: datetime


class DeviceCreatedOut(BaseModel):
    """A new device and its access token (shown once)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"device": _DEVICE, "access_token": _TOKEN}]}
    )

    device: DeviceOut
    access_token: str


class TokenOut(BaseModel):
    """A device's new access token (shown once)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"access_token": _TOKEN}]})

    access_token: str


class DevicePage(Page[DeviceOut]):
    """A page of devices."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"items": [_DEVICE], "total": 1, "page": 1, "page_size": 50}]
        }
    )


class AttributesIn(BaseModel):
    """Attribute values to set."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"values": {"target_speed": 1200, "mode": "eco"}}]}
    )

    values: dict[str, Any] = Field(min_length=1, max_length=1000)


class AttributeOut(BaseModel):
    """One attribute, as ThingsBoard lists them."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"scope": "shared", "key": "mode", "value": "eco", "lastUpdateTs": 1764057600000}
            ]
        }
    )

    scope: str
    key: str
    value: Any
    lastUpdateTs: int  # noqa: N815 - ThingsBoard's field name


class RejectOut(BaseModel):
    """One refused message of a device."""

    model_config = ConfigDict(from_attributes=True)

    at: datetime
    reason: str = Field(description="Why: malformed, topic, not_authorized, too_many_points, "
                        "internal, rate_limited or not_stored")  # fmt: skip
    code: int = Field(description="The MQTT 5 reason code answered (also for HTTP)")
    transport: Literal["mqtt", "http"]
    topic: str
    detail: str = Field(
        description="Why, in the caller's language (Accept-Language); the device itself was "
        "told it in English"
    )
    message_id: str = Field(description="The English message id `detail` was rendered from")
    params: dict[str, Any] = Field(description="The values that fill `message_id`")


class RejectCountOut(BaseModel):
    """How many messages were refused for one reason, and when last."""

    count: int
    last_at: datetime


class RejectsOut(BaseModel):
    """The record of a device's refused messages: counts by reason and the last few."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "total": 3,
                    "by_reason": {"malformed": {"count": 3, "last_at": "2026-12-06T09:00:00Z"}},
                    "recent": [
                        {"at": "2026-12-06T09:00:00Z", "reason": "malformed", "code": 153,
                         "transport": "mqtt", "topic": "v1/devices/me/telemetry",
                         "detail": "payload is not valid JSON: unexpected character",
                         "message_id": "payload is not valid JSON: {error}",
                         "params": {"error": "unexpected character"}}
                    ],
                }
            ]
        }
    )  # fmt: skip

    total: int
    by_reason: dict[str, RejectCountOut]
    recent: list[RejectOut] = Field(description="Newest first, the last 20")
