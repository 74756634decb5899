"""Tables of alarms: rules, alarms with history, presence with history, subscriptions, outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from taihu.core import Base, JSONType, UTCDateTime

__all__ = [
    "ACTIVE",
    "Alarm",
    "AlarmEvent",
    "AlarmNotification",
    "AlarmRule",
    "AlarmSubscription",
    "DevicePresence",
    "PresenceEvent",
]

# The predicate of "an active alarm": one index on it keeps one per (device, rule).
ACTIVE = sa.text("cleared_at IS NULL")


class AlarmRule(Base):
    """A rule on a device profile's data, or a device's own (which overrides one of that name)."""

    __tablename__ = "alarm_rules"
    __table_args__ = (
        sa.CheckConstraint("(profile_id IS NULL) <> (device_id IS NULL)", name="one_owner"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    profile_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("device_profiles.id", ondelete="CASCADE"), index=True
    )
    device_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("devices.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(100))
    # threshold | duration | repeating | no_data; see taihu.alarms.rules
    kind: Mapped[str] = mapped_column(sa.String(16))
    key: Mapped[str] = mapped_column(sa.String(255), default="")  # "" for a silent device
    severity: Mapped[str] = mapped_column(sa.String(16))
    # The condition, the clear condition (hysteresis), holding, repetition, silence, schedule,
    # escalation: validated by taihu.alarms.rules.RuleSpec.
    spec: Mapped[dict[str, Any]] = mapped_column(JSONType)
    enabled: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Alarm(Base):
    """One alarm of a device raised by a rule; at most one active per (device, rule)."""

    __tablename__ = "alarms"
    __table_args__ = (
        sa.Index(
            "uq_alarms_active",
            "device_id",
            "rule_id",
            unique=True,
            sqlite_where=ACTIVE,
            postgresql_where=ACTIVE,
        ),
        sa.Index("ix_alarms_enterprise_started", "enterprise_id", "started_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(
        sa.ForeignKey("devices.id", ondelete="CASCADE"), index=True
    )
    rule_id: Mapped[int] = mapped_column(sa.ForeignKey("alarm_rules.id", ondelete="CASCADE"))
    enterprise_id: Mapped[int] = mapped_column(sa.Integer)  # the device's, for the lists
    name: Mapped[str] = mapped_column(sa.String(100))  # the rule's name when raised
    severity: Mapped[str] = mapped_column(sa.String(16))
    key: Mapped[str] = mapped_column(sa.String(255), default="")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    count: Mapped[int] = mapped_column(sa.Integer, default=1)  # readings that met the rule
    first_value: Mapped[float | None] = mapped_column(sa.Float)
    last_value: Mapped[float | None] = mapped_column(sa.Float)
    escalated: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acknowledged_by: Mapped[str | None] = mapped_column(sa.String(128))
    ack_comment: Mapped[str | None] = mapped_column(sa.String(500))
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cleared_by: Mapped[str | None] = mapped_column(sa.String(128))  # None: by its rule

    @property
    def status(self) -> str:
        """ThingsBoard's status: ACTIVE_UNACK, ACTIVE_ACK, CLEARED_UNACK or CLEARED_ACK."""
        life = "CLEARED" if self.cleared_at is not None else "ACTIVE"
        return f"{life}_{'ACK' if self.acknowledged_at is not None else 'UNACK'}"


class AlarmEvent(Base):
    """A step in an alarm's life: created, escalated, acknowledged, cleared."""

    __tablename__ = "alarm_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    alarm_id: Mapped[int] = mapped_column(
        sa.ForeignKey("alarms.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(sa.String(16))
    severity: Mapped[str] = mapped_column(sa.String(16))
    value: Mapped[float | None] = mapped_column(sa.Float)
    actor: Mapped[str | None] = mapped_column(sa.String(128))  # None: the rule engine
    comment: Mapped[str | None] = mapped_column(sa.String(500))


class DevicePresence(Base):
    """A device's presence: connected, disconnected or inactive (silent past the timeout)."""

    __tablename__ = "device_presence"

    device_id: Mapped[int] = mapped_column(
        sa.ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True
    )
    state: Mapped[str] = mapped_column(sa.String(16))
    since: Mapped[datetime] = mapped_column(UTCDateTime())


class PresenceEvent(Base):
    """A change of a device's presence."""

    __tablename__ = "device_presence_events"
    __table_args__ = (sa.Index("ix_device_presence_events_device_at", "device_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(sa.ForeignKey("devices.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(sa.String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class AlarmSubscription(Base):
    """A person's wish to hear of alarms: of one enterprise (or all they see), from a severity."""

    __tablename__ = "alarm_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # None: every enterprise the person may see (staff); an enterprise user's is always theirs.
    enterprise_id: Mapped[int | None] = mapped_column(sa.Integer)
    min_severity: Mapped[str] = mapped_column(sa.String(16))
    channel: Mapped[str] = mapped_column(sa.String(16))  # console | webhook | email
    target: Mapped[str] = mapped_column(sa.String(500), default="")  # URL or e-mail address
    secret: Mapped[str] = mapped_column(sa.String(128), default="")  # the webhook's HMAC key
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AlarmNotification(Base):
    """The outbox: one notification of one alarm change for one subscription."""

    __tablename__ = "alarm_notifications"
    __table_args__ = (
        sa.UniqueConstraint("subscription_id", "alarm_id", "event", name="uq_alarm_notification"),
        sa.Index("ix_alarm_notifications_due", "status", "next_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        sa.ForeignKey("alarm_subscriptions.id", ondelete="CASCADE"), index=True
    )
    alarm_id: Mapped[int] = mapped_column(sa.ForeignKey("alarms.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(sa.String(16))  # created | escalated | cleared
    channel: Mapped[str] = mapped_column(sa.String(16))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    # pending -> sent | failed; suppressed: over the subscription's rate limit
    status: Mapped[str] = mapped_column(sa.String(16))
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    next_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    error: Mapped[str | None] = mapped_column(sa.String(500))
