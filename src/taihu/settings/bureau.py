"""Settings of the bureau's work: the operation monitor, notices, SMS and reporting."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import (
    BaseSettings,
    SettingsConfigDict,
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


SmsProviderName = Literal["log", "aliyun", "tencent", "smpp"]


class SmsSettings(BaseSettings):
    """The SMS provider notices go through: its keys, sign name, templates, batch and rate."""

    model_config = SettingsConfigDict(env_prefix="TAIHU_SMS_", extra="ignore")

    provider: SmsProviderName = Field(
        default="log",
        description="log (write to the log, send nothing), aliyun, tencent or smpp (SMPP 3.4).",
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
    template_alarm: str = Field(
        default="",
        description="Approved template code for an alarm notification (variables: name, "
        "severity, event, device, value); empty: alarms are not sent by SMS.",
    )
    batch_size: int = Field(
        default=0, ge=0, le=1000,
        description="Numbers per provider call; 0: the provider's maximum (1000 / 200).",
    )  # fmt: skip
    rate_per_second: float = Field(
        default=10.0, gt=0, le=1000, description="Provider calls per second at most."
    )
    timeout: float = Field(
        default=10.0, gt=0, le=120, description="Timeout per HTTP call or SMPP response (s)."
    )
    claim_seconds: int = Field(
        default=300, ge=10, le=86400,
        description="A message claimed longer ago than this, unanswered, is marked unknown.",
    )  # fmt: skip
    callback_token: SecretStr = Field(
        default=SecretStr(""),
        description="Secret the delivery-report URL must carry (?token=); empty: reports refused.",
    )  # fmt: skip
    smpp_host: str = Field(default="", description="The SMSC's SMPP host (provider smpp).")
    smpp_port: int = Field(default=2775, ge=1, le=65535, description="The SMSC's SMPP port.")
    smpp_system_id: str = Field(default="", max_length=15, description="SMPP bind system_id.")
    smpp_password: SecretStr = Field(
        default=SecretStr(""), description="SMPP bind password (at most 8 characters)."
    )
    smpp_system_type: str = Field(
        default="", max_length=12, description="SMPP bind system_type (often empty)."
    )
    smpp_source_addr: str = Field(
        default="", max_length=20, description="The sender number (source_addr), e.g. 106…."
    )
    smpp_bind: Literal["transceiver", "transmitter"] = Field(
        default="transceiver",
        description="transceiver (delivery receipts come back on the bind) or transmitter.",
    )
    smpp_enquire_link_seconds: int = Field(
        default=30, ge=1, le=600, description="Keep-alive (enquire_link) interval of an idle bind."
    )

    @model_validator(mode="after")
    def _smpp_complete(self) -> SmsSettings:
        if self.provider == "smpp" and not (self.smpp_host and self.smpp_system_id):
            raise ValueError("the smpp provider needs TAIHU_SMS_SMPP_HOST and SMPP_SYSTEM_ID")
        if len(self.smpp_password.get_secret_value()) > 8:  # SMPP 3.4: C-octet string of 9
            raise ValueError("TAIHU_SMS_SMPP_PASSWORD is at most 8 characters")
        return self


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
