"""Settings of the identifier node: the Handle protocol and the node hierarchy."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import (
    BaseSettings,
    SettingsConfigDict,
)


class HandleSettings(BaseSettings):
    """The Handle protocol listener (TCP and UDP)."""

    model_config = SettingsConfigDict(env_prefix="TAIHU_HANDLE_", extra="ignore")

    host: str = Field(default="127.0.0.1", description="Address the Handle listeners bind.")
    port: int = Field(default=2641, ge=0, le=65535, description="Handle port; 0 picks a free one.")
    case_sensitive: bool = Field(
        default=False,
        description="Compare handle suffixes as written (99.1/REF-1 and 99.1/ref-1 are two "
        "handles); the default, as the Handle.Net server's, compares them case-insensitively. "
        "Choose before registering: keys are stored in the chosen form.",
    )
    address: str = Field(
        default="",
        description="IP address this node publishes in its HS_SITE (default: the bound host, "
        "or 127.0.0.1 when bound to all addresses).",
    )
    udp_reply_max_bytes: int = Field(
        default=1536,
        ge=512,
        le=65_535,
        description="Largest UDP reply sent, in bytes on the wire (its 512-byte datagrams); a "
        "larger one is refused with RC 2 (truncated), which makes Handle clients ask over TCP.",
    )
    udp_source_bytes_per_second: int = Field(
        default=65_536,
        ge=0,
        description="UDP reply bytes per second one source (IPv4 address, IPv6 /64) may get; "
        "0: no limit per source.",
    )
    udp_source_burst_bytes: int = Field(
        default=262_144, ge=512, description="UDP reply bytes one source may get at once."
    )
    udp_spread: Literal["random", "cpu", "hash"] = Field(
        default="random",
        description="How `taihu serve --workers N` shares UDP datagrams among its workers: "
        "random (each datagram to any worker, so one client socket reaches them all), cpu "
        "(the worker numbered as the CPU receiving it) or hash (the kernel's choice by client "
        "address and port, the supervisor included). Linux; elsewhere always hash.",
    )
    tcp_max_connections: int = Field(
        default=512, ge=1, description="Handle TCP connections open at once, all clients."
    )
    tcp_connections_per_address: int = Field(
        default=16,
        ge=1,
        description="Handle TCP connections open at once from one address (IPv6: one /64).",
    )
    tcp_request_timeout: float = Field(
        default=5.0,
        gt=0,
        le=60,
        description="Seconds a new TCP connection has to send its first complete request.",
    )
    resolver_cache_entries: int = Field(
        default=2_000_000,
        ge=100,
        description="Identifiers each server process keeps resolved in memory (REST and Handle "
        "protocol), 1-2 KB each (answers only, or record too); past it, or past "
        "RESOLVER_CACHE_MEGABYTES, the older half is dropped.",
    )
    resolver_cache_megabytes: int = Field(
        default=1024,
        ge=1,
        le=1 << 20,
        description="Memory budget of each server process's resolution cache, in MiB (about "
        "1.4 KB per identifier with both anonymous answers); past it the older half is dropped.",
    )
    shared_state: Literal["auto", "memory", "database"] = Field(
        default="auto",
        description="Where pending Handle challenges and sessions live: memory (this process; "
        "under --workers the supervisor, the workers relaying to it) or database (tables every "
        "resolver process reads, so a challenge or session is answered by whichever process, "
        "on whichever machine, the answer reaches); auto: database on PostgreSQL, memory on "
        "SQLite.",
    )
    resolver_warm: bool = Field(
        default=True,
        description="Read the served identifiers into each HTTP worker's resolution cache at "
        "start, in the background, up to 90 % of its budget.",
    )

    @model_validator(mode="after")
    def _burst_holds_a_reply(self) -> HandleSettings:
        if self.udp_source_burst_bytes < self.udp_reply_max_bytes:
            msg = "TAIHU_HANDLE_UDP_SOURCE_BURST_BYTES must be at least UDP_REPLY_MAX_BYTES"
            raise ValueError(msg)
        return self


NodeRole = Literal["top-level", "secondary", "enterprise"]


class NodeSettings(BaseSettings):
    """The node's place in the identifier hierarchy: role, upstream node, recursion bounds."""

    model_config = SettingsConfigDict(env_prefix="TAIHU_NODE_", extra="ignore")

    role: NodeRole = Field(
        default="secondary",
        description="top-level, secondary or enterprise (docs: Node hierarchy).",
    )
    upstream: str = Field(
        default="",
        description="HOST:PORT of the node above (top-level) for recursive resolution; "
        "`taihu node join` records its own.",
    )
    secret: SecretStr = Field(
        default=SecretStr(""),
        description="Secret key of the credential this node files with upstream (HS_SECKEY).",
    )
    secret_file: Path | None = Field(
        default=None, description="File holding that secret key (instead of TAIHU_NODE_SECRET)."
    )
    recursive: bool = Field(
        default=False,
        description="Answer requests flagged RECU for prefixes served elsewhere by following "
        "referrals from the upstream node.",
    )
    timeout: float = Field(
        default=3.0, gt=0, le=60, description="Seconds to wait for another node's answer."
    )
    max_referrals: int = Field(
        default=4, ge=1, le=16, description="Referrals followed per resolution before RC 6."
    )
    cache_size: int = Field(
        default=10_000, ge=0, description="Referrals and answers of other nodes kept (by TTL)."
    )
    retry_seconds: float = Field(
        default=30.0, gt=0, description="Pause before a failed filing with upstream is retried."
    )

    def upstream_secret(self) -> bytes:
        """The filing secret from TAIHU_NODE_SECRET or TAIHU_NODE_SECRET_FILE (may be empty)."""
        if self.secret_file is not None:
            return self.secret_file.read_bytes().strip()
        return self.secret.get_secret_value().encode("utf-8")
