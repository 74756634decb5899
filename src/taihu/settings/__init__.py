"""Typed settings, read once from the environment (prefix ``TAIHU_``), one section per concern.

Every setting is documented in ``docs/configuration.md``; ``tests/test_docs.py`` fails when one
is missing there. The sections live in modules by concern (``platform``, ``identifiers``,
``devices``, ``bureau``); ``environment`` holds the root ``Settings`` that reads them all.
"""

from taihu.settings.bureau import (
    MonitorSettings,
    NoticeSettings,
    ReportingSettings,
    SmsSettings,
)
from taihu.settings.cluster import (
    ROLES,
    ClusterSettings,
    Role,
)
from taihu.settings.devices import (
    AlarmSettings,
    MqttSettings,
    SparkplugSettings,
)
from taihu.settings.environment import (
    Settings,
    UnsafeSettingsError,
)
from taihu.settings.identifiers import (
    HandleSettings,
    NodeSettings,
)
from taihu.settings.platform import (
    ConsoleSettings,
    DatabaseSettings,
    HttpSettings,
    LogSettings,
    MetricsSettings,
    SecuritySettings,
)

__all__ = [
    "ROLES",
    "AlarmSettings",
    "ClusterSettings",
    "ConsoleSettings",
    "DatabaseSettings",
    "HandleSettings",
    "HttpSettings",
    "LogSettings",
    "MetricsSettings",
    "MonitorSettings",
    "MqttSettings",
    "NodeSettings",
    "NoticeSettings",
    "ReportingSettings",
    "Role",
    "SecuritySettings",
    "Settings",
    "SmsSettings",
    "SparkplugSettings",
    "UnsafeSettingsError",
]
