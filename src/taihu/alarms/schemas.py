"""API shapes of alarms: rules, alarms with their history, presence; ThingsBoard's alarm shape."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from taihu.alarms.models import Alarm
from taihu.core import Id, Page

__all__ = [
    "AckIn",
    "AlarmEventOut",
    "AlarmOut",
    "AlarmPage",
    "NotificationOut",
    "PresenceOut",
    "RuleIn",
    "RuleOut",
    "RulePatch",
    "SubscriptionIn",
    "SubscriptionOut",
    "TbAlarmPage",
    "tb_alarm",
]

Kind = Literal["threshold", "duration", "repeating", "no_data"]
Severity = Literal["critical", "major", "minor", "warning", "indeterminate"]
_RULE: dict[str, Any] = {
    "name": "过热",
    "kind": "duration",
    "key": "temperature",
    "severity": "major",
    "spec": {
        "op": ">",
        "value": 80,
        "clear_op": "<",
        "clear_value": 75,
        "hold_seconds": 60,
        "schedule": {"days": [1, 2, 3, 4, 5], "start": "08:00", "end": "18:00"},
        "escalate_after_seconds": 1800,
        "escalate_to": "critical",
    },
}
_ALARM: dict[str, Any] = {
    "id": 31,
    "device_id": 7,
    "rule_id": 4,
    "enterprise_id": 12,
    "name": "过热",
    "severity": "major",
    "key": "temperature",
    "status": "ACTIVE_UNACK",
    "started_at": "2026-12-06T08:00:00Z",
    "updated_at": "2026-12-06T08:05:00Z",
    "count": 12,
    "first_value": 81.2,
    "last_value": 84.0,
    "escalated": False,
    "acknowledged_at": None,
    "acknowledged_by": None,
    "ack_comment": None,
    "cleared_at": None,
    "cleared_by": None,
}


class RuleIn(BaseModel):
    """A new alarm rule, on a device profile or on one device (exactly one of the two)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{**_RULE, "profile_id": 2}]})

    name: str = Field(min_length=1, max_length=100)
    kind: Kind
    key: str = Field(default="", max_length=255, description="Empty: any key (no_data only)")
    severity: Severity
    spec: dict[str, Any] = Field(description="See docs/alarms.md for each kind's fields")
    profile_id: Id | None = None
    device_id: Id | None = None
    enabled: bool = True


class RulePatch(BaseModel):
    """Changes to a rule; fields left out stay."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"severity": "critical"}]})

    name: str | None = Field(default=None, min_length=1, max_length=100)
    kind: Kind | None = None
    key: str | None = Field(default=None, max_length=255)
    severity: Severity | None = None
    spec: dict[str, Any] | None = None
    enabled: bool | None = None


class RuleOut(BaseModel):
    """An alarm rule."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [{**_RULE, "id": 4, "profile_id": 2, "device_id": None, "enabled": True}]
        },
    )

    id: int
    name: str
    kind: str
    key: str
    severity: str
    spec: dict[str, Any]
    profile_id: int | None
    device_id: int | None
    enabled: bool


class AlarmOut(BaseModel):
    """An alarm, with ThingsBoard's status."""

    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [_ALARM]})

    id: int
    device_id: int
    rule_id: int
    enterprise_id: int
    name: str
    severity: str
    key: str
    status: str
    started_at: datetime
    updated_at: datetime
    count: int
    first_value: float | None
    last_value: float | None
    escalated: bool
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    ack_comment: str | None
    cleared_at: datetime | None
    cleared_by: str | None


class AlarmPage(Page[AlarmOut]):
    """A page of alarms."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"items": [_ALARM], "total": 1, "page": 1, "page_size": 50}]
        }
    )


class AlarmEventOut(BaseModel):
    """A step of an alarm's life."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "at": "2026-12-06T08:10:00Z",
                    "kind": "acknowledged",
                    "severity": "major",
                    "value": 84.0,
                    "actor": "alice",
                    "comment": "风机已检修",
                }
            ]
        },
    )

    at: datetime
    kind: str
    severity: str
    value: float | None
    actor: str | None
    comment: str | None


class AckIn(BaseModel):
    """A person's note on acknowledging or clearing an alarm."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"comment": "风机已检修"}]})

    comment: str = Field(default="", max_length=500)


class PresenceOut(BaseModel):
    """A device's presence and its latest changes, newest first."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "state": "connected",
                    "since": "2026-12-06T08:00:00Z",
                    "history": [{"state": "connected", "at": "2026-12-06T08:00:00Z"}],
                }
            ]
        }
    )

    state: str | None
    since: datetime | None
    history: list[dict[str, Any]]


class TbAlarmPage(BaseModel):
    """ThingsBoard's page of alarms."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"data": [], "totalPages": 0, "totalElements": 0, "hasNext": False}]
        }
    )

    data: list[dict[str, Any]]
    totalPages: int  # noqa: N815 - ThingsBoard's names
    totalElements: int  # noqa: N815
    hasNext: bool  # noqa: N815


def _ms(moment: datetime | None) -> int:
    return int(moment.timestamp() * 1000) if moment is not None else 0


def tb_alarm(alarm: Alarm) -> dict[str, Any]:
    """An alarm in ThingsBoard's shape (its REST API's ``Alarm``)."""
    return {
        "id": {"entityType": "ALARM", "id": str(alarm.id)},
        "createdTime": _ms(alarm.started_at),
        "type": alarm.name,
        "originator": {"entityType": "DEVICE", "id": str(alarm.device_id)},
        "severity": alarm.severity.upper(),
        "status": alarm.status,
        "acknowledged": alarm.acknowledged_at is not None,
        "cleared": alarm.cleared_at is not None,
        "startTs": _ms(alarm.started_at),
        "endTs": _ms(alarm.cleared_at or alarm.updated_at),
        "ackTs": _ms(alarm.acknowledged_at),
        "clearTs": _ms(alarm.cleared_at),
        "details": {
            "count": alarm.count,
            "key": alarm.key,
            "lastValue": alarm.last_value,
            "comment": alarm.ack_comment,
        },
    }


class SubscriptionIn(BaseModel):
    """A subscription to alarm notifications."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"channel": "webhook", "min_severity": "major", "enterprise_id": 12,
                 "target": "https://scada.example.com/taihu-alarms"}
            ]
        }
    )  # fmt: skip

    channel: Literal["console", "webhook", "email", "sms"]
    min_severity: Severity = "warning"
    enterprise_id: Id | None = Field(
        default=None, description="Empty: every enterprise you see (staff) or your own."
    )
    target: str = Field(
        default="", max_length=500, description="The webhook URL, e-mail address or mobile number."
    )


class SubscriptionOut(BaseModel):
    """A subscription; a webhook's secret is shown only in the answer to its creation."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {"id": 3, "channel": "webhook", "min_severity": "major", "enterprise_id": 12,
                 "target": "https://scada.example.com/taihu-alarms",
                 "secret": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                 "created_at": "2026-12-06T08:00:00Z"}
            ]
        },
    )  # fmt: skip

    id: int
    channel: str
    min_severity: str
    enterprise_id: int | None
    target: str
    secret: str | None = Field(default=None, description="The webhook's HMAC-SHA256 key.")
    created_at: datetime


class NotificationOut(BaseModel):
    """A console notification of an alarm change."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {"id": 17, "alarm_id": 31, "event": "created",
                 "payload": {"event": "created", "alarm_id": 31, "device_id": 7,
                             "enterprise_id": 12, "name": "过热", "severity": "major",
                             "value": 84.0, "at": "2026-12-06T08:00:00+00:00"},
                 "created_at": "2026-12-06T08:00:01Z", "read_at": None}
            ]
        },
    )  # fmt: skip

    id: int
    alarm_id: int
    event: str
    payload: dict[str, Any]
    created_at: datetime
    read_at: datetime | None
