"""Typed settings, read once from the environment (prefix ``TAIHU_``), one section per concern.

Every setting is documented in ``docs/configuration.md``; ``tests/test_docs.py`` fails when one
is missing there.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import secrets
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

__all__ = [
    "AlarmSettings",
    "ConsoleSettings",
    "DatabaseSettings",
    "HandleSettings",
    "HttpSettings",
    "LogSettings",
    "MonitorSettings",
    "MqttSettings",
    "NodeSettings",
    "NoticeSettings",
    "ReportingSettings",
    "SecuritySettings",
    "Settings",
    "SmsSettings",
    "SparkplugSettings",
    "UnsafeSettingsError",
]

Environment = Literal["dev", "test", "production"]

_MIN_KEY_LENGTH = 32
# "aaaa…" or "changemechangeme…" is long enough but guessable; random keys use many symbols.
_MIN_DISTINCT_KEY_CHARS = 12
_SECTIONS = frozenset(
    {
        "database",
        "http",
        "mqtt",
        "handle",
        "node",
        "log",
        "console",
        "security",
        "monitor",
        "notices",
        "sms",
        "alarms",
        "sparkplug",
        "reporting",
    }
)


class UnsafeSettingsError(ValueError):
    """The settings are valid but unsafe for the environment they run in."""


class DatabaseSettings(BaseSettings):
    """Where the relational database is (SQLite by default, PostgreSQL in production)."""

    model_config = SettingsConfigDict(env_prefix="TAIHU_DATABASE_", extra="ignore")

    url: str | None = Field(
        default=None,
        description="SQLAlchemy async URL; empty means SQLite at DATA_DIR/taihu.sqlite3.",
    )
    echo: bool = Field(default=False, description="Log every SQL statement (debugging only).")
    pool_size: int = Field(default=10, ge=1, le=200, description="PostgreSQL pool size.")
    busy_timeout_ms: int = Field(
        default=5000, ge=0, description="SQLite: how long a writer waits for the lock."
    )


class HttpSettings(BaseSettings):
    """The HTTP listener serving the console and the APIs."""

    model_config = SettingsConfigDict(env_prefix="TAIHU_HTTP_", extra="ignore")

    host: str = Field(default="127.0.0.1", description="Address the HTTP server binds.")
    port: int = Field(default=8000, ge=0, le=65535, description="HTTP port; 0 picks a free one.")
    workers: int = Field(default=1, ge=1, le=64, description="HTTP worker processes.")
    max_body_bytes: int = Field(
        default=1_048_576, ge=1024, le=16_777_216,
        description="Largest request body of a JSON or form route, bytes (uploads: their own).",
    )  # fmt: skip
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default=[],  # pydantic copies it for each instance
        description="Comma-separated addresses or networks of proxies whose X-Forwarded-For and "
        "X-Forwarded-Proto are believed; empty: none, the peer address is the client.",
    )

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError as exc:
                raise ValueError(f"not an IP address or network: {entry!r}") from exc
        return value


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
    tls_cert: Path | None = Field(
        default=None, description="PEM certificate chain; with TLS_KEY the listener speaks TLS."
    )
    tls_key: Path | None = Field(default=None, description="PEM private key for TLS_CERT.")


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


class LogSettings(BaseSettings):
    """How the platform logs."""

    model_config = SettingsConfigDict(env_prefix="TAIHU_LOG_", extra="ignore")

    format: Literal["text", "json"] = Field(default="text", description="Log line format.")
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Lowest level logged."
    )
    access: bool = Field(default=True, description="Log one line per HTTP request.")


class ConsoleSettings(BaseSettings):
    """The web console: default language and the time zone days are counted in."""

    model_config = SettingsConfigDict(env_prefix="TAIHU_CONSOLE_", extra="ignore")

    language: Literal["zh_CN", "en"] = Field(
        default="zh_CN", description="Language shown before a user picks one."
    )
    timezone: str = Field(
        default="Asia/Shanghai", description="IANA zone for dates shown and days counted."
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @property
    def zone(self) -> ZoneInfo:
        """The time zone as an object."""
        return ZoneInfo(self.timezone)


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


class MonitorSettings(BaseSettings):
    """The operation monitor: resumption threshold, baseline window, warning bands, data checks."""

    model_config = SettingsConfigDict(env_prefix="TAIHU_MONITOR_", extra="ignore")

    theta: float = Field(
        default=0.30, gt=0, le=1, description="Resumed when a day's use is >= theta * baseline."
    )
    baseline_start: date | None = Field(
        default=None,
        description="First day of the baseline window; empty: from the data (the "
        "latest December with readings, docs/monitor.md).",
    )
    baseline_end: date | None = Field(
        default=None, description="Last day of the baseline window (with BASELINE_START)."
    )
    band_green: float = Field(default=0.8, ge=0, le=2, description="Green at or above this index.")
    band_yellow: float = Field(default=0.6, ge=0, le=2, description="Yellow at or above this.")
    band_orange: float = Field(
        default=0.4, ge=0, le=2, description="Orange at or above this; red below."
    )
    max_daily_kwh: float = Field(
        default=5_000_000, gt=0, description="Imported daily use above this is refused as absurd."
    )
    open_coverage: float = Field(
        default=0.5,
        gt=0,
        le=1,
        description="The dashboard opens on the latest day on which at least this share of the "
        "enterprises with a baseline are counted.",
    )
    spike_factor: float = Field(
        default=3.0, gt=1, description="A day this many times its neighbours' median is a spike."
    )
    meter_profile: str = Field(
        default="power-meter", description="Device profile whose devices are power meters."
    )
    meter_key: str = Field(default="energy", description="The meters' cumulative energy key (kWh).")
    meter_sync_minutes: int = Field(
        default=60, ge=0, le=1440,
        description="How often the server brings the meters' yesterday and today in (0: never).",
    )  # fmt: skip

    @model_validator(mode="after")
    def _consistent(self) -> MonitorSettings:
        if not self.band_green >= self.band_yellow >= self.band_orange:
            raise ValueError("the bands need green >= yellow >= orange")
        if (self.baseline_start is None) != (self.baseline_end is None):
            raise ValueError("give both BASELINE_START and BASELINE_END, or neither")
        if self.baseline_start and self.baseline_end and self.baseline_start > self.baseline_end:
            raise ValueError("BASELINE_START is after BASELINE_END")
        return self


class NoticeSettings(BaseSettings):
    """Notices to enterprises: the SMTP server e-mail goes through, retries, the delivery job."""

    model_config = SettingsConfigDict(env_prefix="TAIHU_NOTICES_", extra="ignore")

    smtp_host: str = Field(
        default="", description="SMTP server for notice e-mail; empty: e-mail waits unsent."
    )
    smtp_port: int = Field(default=25, ge=1, le=65535, description="SMTP server port.")
    smtp_username: str = Field(default="", description="SMTP user name; empty: no login.")
    smtp_password: SecretStr = Field(default=SecretStr(""), description="SMTP password.")
    smtp_starttls: bool = Field(default=False, description="Upgrade the connection (STARTTLS).")
    smtp_timeout: float = Field(default=30.0, gt=0, le=600, description="SMTP timeout (s).")
    sender: str = Field(default="taihu@localhost", description="The From address of notice e-mail.")
    console_url: str = Field(
        default="", description="The console's address, linked from e-mail (empty: no link)."
    )
    max_attempts: int = Field(
        default=5, ge=1, le=50, description="Tries per message before it is marked failed."
    )
    retry_seconds: int = Field(
        default=60, ge=1, le=86400, description="Wait before the first retry; doubles each time."
    )
    job_seconds: int = Field(
        default=30, ge=0, le=3600,
        description="How often the server publishes due notices and sends mail (0: never).",
    )  # fmt: skip


SmsProviderName = Literal["log", "aliyun", "tencent"]


class SmsSettings(BaseSettings):
    """The SMS provider notices go through: its keys, sign name, templates, batch and rate."""

    model_config = SettingsConfigDict(env_prefix="TAIHU_SMS_", extra="ignore")

    provider: SmsProviderName = Field(
        default="log", description="log (write to the log, send nothing), aliyun or tencent."
    )
    endpoint: str = Field(
        default="", description="The provider's API address; empty: its public endpoint."
    )
    access_key_id: str = Field(default="", description="AccessKey ID (Alibaba) or SecretId.")
    access_key_secret: SecretStr = Field(
        default=SecretStr(""), description="AccessKey secret (Alibaba) or SecretKey (Tencent)."
    )
    region: str = Field(default="", description="Region; empty: cn-hangzhou / ap-guangzhou.")
    sdk_app_id: str = Field(default="", description="Tencent SmsSdkAppId.")
    sign_name: str = Field(
        default="", description="The approved SMS sign (签名), e.g. 某某区工信局."
    )
    template_notice: str = Field(
        default="", description="Approved template code for a new notice (variable: title)."
    )
    template_reminder: str = Field(
        default="", description="Approved template code for a reminder (variable: title)."
    )
    batch_size: int = Field(
        default=0, ge=0, le=1000,
        description="Numbers per provider call; 0: the provider's maximum (1000 / 200).",
    )  # fmt: skip
    rate_per_second: float = Field(
        default=10.0, gt=0, le=1000, description="Provider calls per second at most."
    )
    timeout: float = Field(default=10.0, gt=0, le=120, description="HTTP timeout per call (s).")
    claim_seconds: int = Field(
        default=300, ge=10, le=86400,
        description="A message claimed longer ago than this, unanswered, is marked unknown.",
    )  # fmt: skip
    callback_token: SecretStr = Field(
        default=SecretStr(""),
        description="Secret the delivery-report URL must carry (?token=); empty: reports refused.",
    )  # fmt: skip


class ReportingSettings(BaseSettings):
    """Reports to upper departments: when the server generates the period's drafts."""

    model_config = SettingsConfigDict(env_prefix="TAIHU_REPORTING_", extra="ignore")

    job_seconds: int = Field(
        default=600, ge=0, le=86400,
        description="How often the server generates the report drafts that are due (0: never).",
    )  # fmt: skip
    upcoming_days: int = Field(
        default=14, ge=1, le=92, description="How far ahead the home page lists deadlines."
    )


class SecuritySettings(BaseSettings):
    """Secrets, sessions, tokens and login throttling."""

    model_config = SettingsConfigDict(env_prefix="TAIHU_", extra="ignore")

    secret_key: SecretStr = Field(
        default=SecretStr(""), description="Signs CSRF tokens; required outside dev and test."
    )
    session_hours: int = Field(default=12, ge=1, le=24 * 30, description="Console session life.")
    token_days: int = Field(default=90, ge=1, le=3650, description="Default API token life.")
    login_max_failures: int = Field(
        default=5, ge=1, description="Failed logins allowed per user and address in the window."
    )
    login_window_seconds: int = Field(
        default=300, ge=1, description="Window over which failed logins are counted."
    )
    secure_cookies: bool = Field(
        default=False, description="Mark cookies Secure (set when served over HTTPS)."
    )

    @field_validator("secret_key")
    @classmethod
    def _strip(cls, value: SecretStr) -> SecretStr:
        return SecretStr(value.get_secret_value().strip())


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


class Settings(BaseSettings):
    """All of Taihu's settings; build once with ``Settings()`` and pass it down."""

    model_config = SettingsConfigDict(env_prefix="TAIHU_", extra="ignore")

    env: Environment = Field(default="production", description="dev, test or production.")
    data_dir: Path = Field(default=Path("var"), description="Where local state is kept.")
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    http: HttpSettings = Field(default_factory=HttpSettings)
    mqtt: MqttSettings = Field(default_factory=MqttSettings)
    handle: HandleSettings = Field(default_factory=HandleSettings)
    node: NodeSettings = Field(default_factory=NodeSettings)
    log: LogSettings = Field(default_factory=LogSettings)
    console: ConsoleSettings = Field(default_factory=ConsoleSettings)
    security: SecuritySettings = Field(default_factory=SecuritySettings)
    monitor: MonitorSettings = Field(default_factory=MonitorSettings)
    notices: NoticeSettings = Field(default_factory=NoticeSettings)
    sms: SmsSettings = Field(default_factory=SmsSettings)
    reporting: ReportingSettings = Field(default_factory=ReportingSettings)
    alarms: AlarmSettings = Field(default_factory=AlarmSettings)
    sparkplug: SparkplugSettings = Field(default_factory=SparkplugSettings)

    @property
    def database_url(self) -> str:
        """The database URL, defaulting to SQLite inside the data directory."""
        if self.database.url:
            return self.database.url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'taihu.sqlite3').resolve()}"

    def check_safe(self) -> None:
        """Refuse an unsafe configuration before anything is served."""
        if self.env in ("dev", "test"):
            return
        key = self.security.secret_key.get_secret_value()
        if len(key) < _MIN_KEY_LENGTH or len(set(key)) < _MIN_DISTINCT_KEY_CHARS:
            raise UnsafeSettingsError(
                "TAIHU_SECRET_KEY must be a random value of at least "
                f"{_MIN_KEY_LENGTH} characters in production; generate one with "
                "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`, "
                "or set TAIHU_ENV=dev on a development machine."
            )

    @cached_property
    def secret_key(self) -> bytes:
        """The signing key; in dev and test an unset key is kept in the data directory."""
        key = self.security.secret_key.get_secret_value()
        if key:
            return key.encode()
        self.check_safe()
        path = self.data_dir / "dev-secret-key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            draft = path.with_name(f".dev-secret-key.{os.getpid()}")
            draft.write_text(secrets.token_urlsafe(48), encoding="ascii")
            draft.chmod(0o600)
            # link() publishes the whole file or fails if another worker won the race, so every
            # worker of a node ends up signing with the same key.
            with contextlib.suppress(FileExistsError):
                os.link(draft, path)
            draft.unlink()
        return path.read_text(encoding="ascii").strip().encode()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,  # noqa: ARG003 - replaced by _TopLevelEnv
        dotenv_settings: PydanticBaseSettingsSource,  # noqa: ARG003 - no .env files by design
        file_secret_settings: PydanticBaseSettingsSource,  # noqa: ARG003 - not used
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Read sections from their own variables only (never TAIHU_HTTP='{json}' and the like)."""
        return (init_settings, _TopLevelEnv(settings_cls))


class _TopLevelEnv(EnvSettingsSource):
    """The environment, minus the section fields, which read their own TAIHU_SECTION_* vars."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        if field_name in _SECTIONS:
            return None, field_name, False
        return super().get_field_value(field, field_name)
