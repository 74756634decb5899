import secrets
from pathlib import Path

import pytest
from pydantic import ValidationError

from taihu.settings import SecuritySettings, Settings, UnsafeSettingsError


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TAIHU_ENV", "TAIHU_DATABASE_URL", "TAIHU_HTTP_PORT", "TAIHU_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert settings.env == "production"
    assert settings.http.port == 8000
    assert settings.mqtt.port == 1883
    assert settings.handle.port == 2641
    assert settings.console.language == "zh_CN"
    assert settings.database_url.endswith("/var/taihu.sqlite3")
    assert settings.database_url.startswith("sqlite+aiosqlite:///")


def test_environment_is_read_per_section(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAIHU_HTTP_PORT", "9100")
    monkeypatch.setenv("TAIHU_MQTT_PORT", "11883")
    monkeypatch.setenv("TAIHU_HANDLE_PORT", "12641")
    monkeypatch.setenv("TAIHU_DATABASE_URL", "postgresql+asyncpg://u@db/taihu")
    monkeypatch.setenv("TAIHU_LOG_FORMAT", "json")
    settings = Settings()
    assert (settings.http.port, settings.mqtt.port, settings.handle.port) == (9100, 11883, 12641)
    assert settings.database_url == "postgresql+asyncpg://u@db/taihu"
    assert settings.log.format == "json"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TAIHU_HTTP_PORT", "70000"),
        ("TAIHU_LOG_FORMAT", "xml"),
        ("TAIHU_ENV", "staging"),
        ("TAIHU_CONSOLE_TIMEZONE", "Mars/Olympus"),
    ],
)
def test_bad_values_fail_fast(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError):
        Settings()


@pytest.mark.parametrize("key", ["", "short", "changeme" * 5, "x" * 64])
def test_production_refuses_a_weak_secret_key(key: str) -> None:
    settings = Settings(env="production", security=SecuritySettings(secret_key=key))
    with pytest.raises(UnsafeSettingsError, match="TAIHU_SECRET_KEY"):
        settings.check_safe()


def test_production_accepts_a_strong_key() -> None:
    key = secrets.token_urlsafe(48)
    settings = Settings(env="production", security=SecuritySettings(secret_key=key))
    settings.check_safe()
    assert settings.secret_key == key.encode()


def test_sections_read_only_their_own_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAIHU_HTTP", '{"port": 7}')
    monkeypatch.setenv("TAIHU_LOG", "debug")
    monkeypatch.setenv("TAIHU_HTTP_PORT", "9200")
    settings = Settings()
    assert settings.http.port == 9200
    assert settings.log.level == "INFO"


def test_dev_without_key_keeps_one_in_the_data_dir(tmp_path: Path) -> None:
    first = Settings(env="dev", data_dir=tmp_path, security=SecuritySettings(secret_key=""))
    second = Settings(env="dev", data_dir=tmp_path, security=SecuritySettings(secret_key=""))
    first.check_safe()
    assert len(first.secret_key) >= 32
    assert first.secret_key == second.secret_key  # every worker of a node signs alike
    assert (tmp_path / "dev-secret-key").exists()
