"""Settings of a scaled-out node: its roles and the NATS JetStream message bus between them."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

Role = Literal["api", "transport", "ingest", "resolver", "jobs"]
ROLES: tuple[Role, ...] = ("api", "transport", "ingest", "resolver", "jobs")
_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
_SUBJECT = re.compile(r"[A-Za-z0-9_-]{1,32}(\.[A-Za-z0-9_-]{1,32}){0,4}")


def _split(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class ClusterSettings(BaseSettings):
    """The roles this process plays and the JetStream bus between transports and ingest."""

    model_config = SettingsConfigDict(env_prefix="TAIHU_CLUSTER_", extra="ignore")

    roles: Annotated[list[Role], NoDecode] = Field(
        default=[],
        description="Comma-separated roles of this process (api, transport, ingest, resolver, "
        "jobs); empty: all of them, as one process. `taihu serve --role` overrides it.",
    )
    nats_urls: Annotated[list[str], NoDecode] = Field(
        default=[],
        description="Comma-separated NATS server URLs (nats://host:4222); empty: no message bus, "
        "transports write to the database themselves.",
    )
    stream: str = Field(default="TAIHU_INGEST", description="JetStream stream of device data.")
    subject_prefix: str = Field(
        default="taihu.ingest", description="Subjects of device data: PREFIX.PARTITION."
    )
    command_prefix: str = Field(
        default="taihu.cmd",
        description="Subjects of commands to devices (core NATS, never stored): PREFIX.DEVICE_ID. "
        "Apart from the data subjects, which the stream would capture.",
    )
    command_timeout: float = Field(
        default=5.0, gt=0, le=60,
        description="Seconds a shared attribute push or one-way RPC waits for the process "
        "holding the device to take it.",
    )  # fmt: skip
    partitions: int = Field(
        default=16, ge=1, le=1024,
        description="Subjects device data is spread over, by device; each has a durable consumer "
        "that one ingest process at a time consumes (the unit of ordering and of sharing).",
    )  # fmt: skip
    replicas: int = Field(
        default=1, ge=1, le=5, description="Copies JetStream keeps of the stream (1, 3 or 5)."
    )
    stream_max_age: float = Field(
        default=0.0, ge=0, le=10 * 365 * 86400,
        description="Seconds the stream keeps a message at most, stored or not; 0: no limit "
        "(a stored message goes anyway). Applied to the stream at start.",
    )  # fmt: skip
    stream_max_bytes: int = Field(
        default=0, ge=0,
        description="Bytes the stream holds at most; a full stream refuses publishes (devices "
        "are told to send again), never drops; 0: no limit. Needs nats-server 2.10.5 or later.",
    )  # fmt: skip
    consumer: str = Field(
        default="taihu-ingest",
        description="Durable pull consumers of the partitions are NAME-PARTITION; a consumer "
        "NAME (shared by the ingest processes of earlier versions) is taken over at start.",
    )
    lease_seconds: float = Field(
        default=6.0, ge=1, le=300,
        description="Seconds an ingest process keeps a partition without renewing its lease "
        "(renewed every third of it): a dead process's partitions move within about this.",
    )  # fmt: skip
    overview_seconds: float = Field(
        default=6.0, ge=1, le=300,
        description="Seconds a process's figures stay in the cluster-wide hub overview without "
        "being published again (published every third of it): a dead process drops out within "
        "about this.",
    )  # fmt: skip
    connect_timeout: float = Field(
        default=30.0, gt=0, le=3600,
        description="Seconds a process waits at start for a NATS server, and again for its "
        "JetStream cluster to be ready for the stream, before it stops.",
    )  # fmt: skip
    publish_timeout: float = Field(
        default=5.0, gt=0, le=60, description="Seconds a transport waits for JetStream's ack."
    )
    ack_wait: float = Field(
        default=30.0, ge=1, le=3600,
        description="Seconds before JetStream redelivers a message an ingest process took.",
    )  # fmt: skip
    fetch_batch: int = Field(
        default=500, ge=1, le=10_000, description="Messages an ingest process takes at once."
    )

    @field_validator("roles", "nats_urls", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        return _split(value)

    @field_validator("roles")
    @classmethod
    def _in_order(cls, value: list[Role]) -> list[Role]:
        return [role for role in ROLES if role in value]  # canonical order, no repeats

    @field_validator("nats_urls")
    @classmethod
    def _urls(cls, value: list[str]) -> list[str]:
        for url in value:
            if not url.startswith(("nats://", "tls://")):
                raise ValueError(f"not a nats:// or tls:// URL: {url!r}")
        return value

    @field_validator("stream", "consumer")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.fullmatch(value):
            raise ValueError(f"letters, digits, - and _ only: {value!r}")
        return value

    @field_validator("subject_prefix", "command_prefix")
    @classmethod
    def _subject(cls, value: str) -> str:
        if not _SUBJECT.fullmatch(value):
            raise ValueError(f"dot-separated tokens of letters, digits, - and _: {value!r}")
        return value

    @model_validator(mode="after")
    def _commands_apart(self) -> ClusterSettings:
        data, commands = self.subject_prefix + ".", self.command_prefix + "."
        if data.startswith(commands) or commands.startswith(data):
            raise ValueError(
                f"command_prefix {self.command_prefix!r} must lie outside subject_prefix "
                f"{self.subject_prefix!r} (the stream stores everything under it)"
            )
        return self

    @property
    def bus(self) -> bool:
        """Whether a message bus is configured."""
        return bool(self.nats_urls)

    @property
    def plays(self) -> tuple[Role, ...]:
        """The roles this process plays."""
        return tuple(self.roles) or ROLES

    @property
    def all_roles(self) -> bool:
        """Whether this process plays every role (the one-process default)."""
        return len(self.plays) == len(ROLES)
