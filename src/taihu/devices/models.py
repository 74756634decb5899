"""Tables of the device hub: profiles, devices, access tokens, attributes and time series."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from taihu.core import Base, JSONType, UTCDateTime

__all__ = [
    "Device",
    "DeviceAttribute",
    "DeviceProfile",
    "DeviceReject",
    "DeviceRejectCount",
    "DeviceToken",
    "TsLatest",
    "TsPoint",
    "TsRollup",
]


class DeviceProfile(Base):
    """What a kind of device reports: telemetry keys with units and types, retention, limits."""

    __tablename__ = "device_profiles"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    description: Mapped[str] = mapped_column(sa.String(500), default="")
    # [{"key": "temperature", "unit": "°C", "type": "double"}, …]
    telemetry_keys: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    retention_days: Mapped[int] = mapped_column(sa.Integer)
    # ThingsBoard's "capacity:seconds,…" form, e.g. "100:1,3000:60"; empty = unlimited.
    rate_limits: Mapped[str] = mapped_column(sa.String(200), default="")
    # capacity:seconds,… on the data points of telemetry (ThingsBoard's telemetryDataPoints)
    data_point_limits: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")
    # The enterprise whose gateway named it as a child's type (None: defined by the platform);
    # it bounds how many profiles an enterprise's gateways create. A record, so no foreign key.
    created_by_enterprise_id: Mapped[int | None] = mapped_column(sa.Integer, default=None)
    # Seconds without data before its devices count as inactive (None: the alarms setting).
    inactivity_timeout: Mapped[int | None] = mapped_column(sa.Integer, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Device(Base):
    """A device (or a gateway) of an enterprise; a child device belongs to its gateway.

    Names are unique where they are looked up: a gateway's children among its children (the
    gateway API addresses them by name), every other device within its enterprise.
    """

    __tablename__ = "devices"
    __table_args__ = (
        sa.UniqueConstraint("gateway_id", "name"),
        sa.Index(
            "uq_devices_standalone_name", "enterprise_id", "name", unique=True,
            sqlite_where=sa.text("gateway_id IS NULL"),
            postgresql_where=sa.text("gateway_id IS NULL"),
        ),
    )  # fmt: skip

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(
        sa.ForeignKey("enterprises.id", ondelete="CASCADE"), index=True
    )
    profile_id: Mapped[int] = mapped_column(sa.ForeignKey("device_profiles.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[str] = mapped_column(sa.String(16))  # "device" or "gateway"
    gateway_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("devices.id", ondelete="SET NULL"), index=True
    )
    identifier: Mapped[str | None] = mapped_column(sa.String(255), index=True)  # its 标识
    # Whether anyone resolving its identifier may see its latest telemetry (the owner decides).
    public_state: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class DeviceToken(Base):
    """An access token of a device (stored hashed; revoked tokens are kept for the record)."""

    __tablename__ = "device_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(
        sa.ForeignKey("devices.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class DeviceAttribute(Base):
    """One attribute of a device in one scope: client, shared or server."""

    __tablename__ = "device_attributes"

    device_id: Mapped[int] = mapped_column(
        sa.ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True
    )
    scope: Mapped[str] = mapped_column(sa.String(8), primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    value: Mapped[Any] = mapped_column(JSONType)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class DeviceReject(Base):
    """One refused message of a device; only the last few per device are kept."""

    __tablename__ = "device_rejects"

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(
        sa.ForeignKey("devices.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(sa.String(32))  # a message id, see taihu.devices.rejects
    code: Mapped[int] = mapped_column(sa.SmallInteger)  # the MQTT 5 reason code answered
    transport: Mapped[str] = mapped_column(sa.String(8))  # "mqtt" or "http"
    topic: Mapped[str] = mapped_column(sa.String(255), default="")
    # Why, as a message id (English, with {name} fields) and the values that fill it, so that
    # each reader gets it in their language; rows from before devices_0006 have plain English
    # text and no params.
    detail: Mapped[str] = mapped_column(sa.String(500), default="")
    params: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)


class DeviceRejectCount(Base):
    """How many messages of a device were refused for one reason, since it was registered."""

    __tablename__ = "device_reject_counts"

    device_id: Mapped[int] = mapped_column(
        sa.ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True
    )
    reason: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    count: Mapped[int] = mapped_column(sa.BigInteger)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime())


# Time series use integer milliseconds since the epoch, as ThingsBoard's API does. No foreign
# keys: the ingest path writes tens of thousands of rows a second and devices are deleted by a
# job that removes their series too.


class TsPoint(Base):
    """One raw data point: a value of one key of one device at one time."""

    __tablename__ = "ts_points"

    device_id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    ts: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    kind: Mapped[int] = mapped_column(sa.SmallInteger)  # see taihu.devices.values.Kind
    num: Mapped[float | None] = mapped_column(sa.Float)
    txt: Mapped[str | None] = mapped_column(sa.Text)


class TsLatest(Base):
    """The latest value of each key of each device."""

    __tablename__ = "ts_latest"

    device_id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    ts: Mapped[int] = mapped_column(sa.BigInteger)
    kind: Mapped[int] = mapped_column(sa.SmallInteger)
    num: Mapped[float | None] = mapped_column(sa.Float)
    txt: Mapped[str | None] = mapped_column(sa.Text)


class TsRollup(Base):
    """min/max/sum/count of a numeric key over one minute, hour or day."""

    __tablename__ = "ts_rollups"

    device_id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    period: Mapped[int] = mapped_column(sa.Integer, primary_key=True)  # seconds: 60, 3600, 86400
    start_ts: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    min: Mapped[float] = mapped_column(sa.Float)
    max: Mapped[float] = mapped_column(sa.Float)
    sum: Mapped[float] = mapped_column(sa.Float)
    count: Mapped[int] = mapped_column(sa.Integer)
