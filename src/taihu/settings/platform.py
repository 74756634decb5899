"""Settings of the platform itself: database, HTTP, logs, console, security."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    SettingsConfigDict,
)


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


class MetricsSettings(BaseSettings):
    """A Prometheus listener of its own, for processes that serve no HTTP (roles)."""

    model_config = SettingsConfigDict(env_prefix="TAIHU_METRICS_", extra="ignore")

    host: str = Field(default="127.0.0.1", description="Address the metrics listener binds.")
    port: int = Field(
        default=0, ge=0, le=65535,
        description="Port of a /metrics listener of this process's own; 0: none (the HTTP "
        "server's /metrics answers).",
    )  # fmt: skip


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
