"""The settings of a Taihu process: every section, read once from the environment."""

from __future__ import annotations

import contextlib
import os
import secrets
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import Field
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from taihu.settings.bureau import MonitorSettings, NoticeSettings, ReportingSettings, SmsSettings
from taihu.settings.cluster import ClusterSettings
from taihu.settings.devices import AlarmSettings, MqttSettings, SparkplugSettings
from taihu.settings.identifiers import HandleSettings, NodeSettings
from taihu.settings.platform import (
    ConsoleSettings,
    DatabaseSettings,
    HttpSettings,
    LogSettings,
    MetricsSettings,
    SecuritySettings,
)

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
        "cluster",
        "metrics",
        "reporting",
    }
)


class UnsafeSettingsError(ValueError):
    """The settings are valid but unsafe for the environment they run in."""


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
    cluster: ClusterSettings = Field(default_factory=ClusterSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)

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
