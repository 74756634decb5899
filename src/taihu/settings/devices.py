"""Settings of the device side: the MQTT transport, alarms and the Sparkplug B host."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    SettingsConfigDict,
)


class MqttSettings(BaseSettings):
    """The MQTT device transport."""

    model_config = SettingsConfigDict(env_prefix="TAIHU_MQTT_", extra="ignore")

    host: str = Field(default="127.0.0.1", description="Address the MQTT listener binds.")
    port: int = Field(default=1883, ge=0, le=65535, description="MQTT port; 0 picks a free one.")
    connect_timeout: float = Field(
        default=5.0, gt=0, le=60, description="Seconds a client has to send its whole CONNECT."
    )
    max_packet_size: int = Field(
        default=65_536, ge=1024, le=16_777_216, description="Largest MQTT packet accepted, bytes."
    )
    receive_maximum: int = Field(
        default=100, ge=1, le=65_535, description="Unacknowledged QoS 1 messages per connection."
    )
    max_connections_per_token: int = Field(
        default=5, ge=1, description="Concurrent connections allowed per device access token."
    )
    ingest_writers: int = Field(
        default=0,
        ge=0,
        le=16,
        description="Batches of device data written at once; 0: the database's own "
        "(1 on SQLite, 2 on PostgreSQL).",
    )
    tls_cert: Path | None = Field(
        default=None, description="PEM certificate chain; with TLS_KEY the listener speaks TLS."
    )
    tls_key: Path | None = Field(default=None, description="PEM private key for TLS_CERT.")


class AlarmSettings(BaseSettings):
    """Alarm rules and device presence: how often the engine writes, checks and reloads."""

    model_config = SettingsConfigDict(env_prefix="TAIHU_ALARMS_", extra="ignore")

    inactivity_timeout: float = Field(
        default=600.0, gt=0, description="Seconds without data after which a device is inactive."
    )
    flush_interval: float = Field(
        default=0.5, gt=0, description="Seconds between writes of alarm and presence changes."
    )
    tick_interval: float = Field(
        default=5.0, gt=0, description="Seconds between checks of silence, escalation, activity."
    )
    reload_interval: float = Field(
        default=30.0, gt=0, description="Seconds between reloads of the rules and devices."
    )
    notify_limit: int = Field(
        default=20, ge=1, description="Notifications per subscription within notify_window."
    )
    notify_window: float = Field(
        default=3600.0, gt=0, description="Seconds of a subscription's rate limit window."
    )
    delivery_interval: float = Field(
        default=2.0, gt=0, description="Seconds between rounds of webhook and e-mail delivery."
    )
    delivery_attempts: int = Field(
        default=6, ge=1, description="Attempts at a notification before it is marked failed."
    )
    delivery_backoff: float = Field(
        default=10.0, gt=0, description="Seconds before the first retry; doubled each time."
    )
    delivery_timeout: float = Field(
        default=10.0, gt=0, description="Seconds a webhook receiver has to answer."
    )


class SparkplugSettings(BaseSettings):
    """Taihu as a Sparkplug B host application on an external MQTT broker."""

    model_config = SettingsConfigDict(env_prefix="TAIHU_SPARKPLUG_", extra="ignore")

    enabled: bool = Field(default=False, description="Run the host application in `taihu serve`.")
    broker_host: str = Field(default="127.0.0.1", description="The broker's address.")
    broker_port: int = Field(default=1883, ge=1, le=65535, description="The broker's port.")
    username: str = Field(default="", description="User name at the broker (empty: none).")
    password: SecretStr = Field(default=SecretStr(""), description="Password at the broker.")
    tls: bool = Field(default=False, description="Speak MQTT over TLS to the broker.")
    tls_ca: Path | None = Field(
        default=None, description="PEM file of the CAs that sign the broker (empty: the system's)."
    )
    host_id: str = Field(
        default="taihu",
        min_length=1,
        max_length=100,
        pattern=r"^[^/+#]+$",
        description="The host application's id: its STATE topic is spBv1.0/STATE/<host_id>.",
    )
    groups: Annotated[list[str], NoDecode] = Field(
        default=[],
        description="Comma-separated group ids to subscribe to; empty: every group.",
    )
    enterprises: Annotated[dict[str, int], NoDecode] = Field(
        default={},
        description="Comma-separated GROUP=ENTERPRISE_ID or GROUP/EDGE_NODE=ENTERPRISE_ID: whose "
        "devices an edge node's are; nodes of no listed group are not taken in.",
    )
    rebirth_interval: float = Field(
        default=5.0, gt=0, description="Seconds at least between two rebirth requests to a node."
    )
    backoff_max: float = Field(
        default=30.0, gt=0, description="Longest pause, in seconds, between reconnection attempts."
    )

    @field_validator("groups", mode="before")
    @classmethod
    def _split_groups(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("groups")
    @classmethod
    def _group_ids(cls, value: list[str]) -> list[str]:
        for group in value:
            if any(c in group for c in "/+#"):
                raise ValueError(f"not a Sparkplug group id: {group!r}")
        return value

    @field_validator("enterprises", mode="before")
    @classmethod
    def _split_enterprises(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        mapping: dict[str, int] = {}
        for part in (p.strip() for p in value.split(",")):
            if not part:
                continue
            key, sep, enterprise = part.rpartition("=")
            if not sep or not key.strip() or not enterprise.strip().isdigit():
                raise ValueError(f"expected GROUP[/EDGE_NODE]=ENTERPRISE_ID, not {part!r}")
            mapping[key.strip()] = int(enterprise)
        return mapping

    def enterprise_of(self, group_id: str, edge_node_id: str) -> int | None:
        """The enterprise an edge node's devices belong to (the node's entry before its group's)."""
        found = self.enterprises.get(f"{group_id}/{edge_node_id}")
        return found if found is not None else self.enterprises.get(group_id)
