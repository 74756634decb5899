"""Alarms on device data: rules as data, the in-memory engine in the ingest path, presence.

The rule arithmetic (``rules``) is pure; the engine (``engine``) keeps state per (device, rule)
in memory and writes transitions in batches; the service reads and writes for a principal.
"""

from taihu.alarms.engine import AlarmEngine
from taihu.alarms.models import Alarm, AlarmEvent, AlarmRule, DevicePresence, PresenceEvent
from taihu.alarms.rules import KINDS, OPERATORS, SEVERITIES, check_rule
from taihu.alarms.service import STATUSES, AlarmFilter, AlarmService

__all__ = [
    "KINDS",
    "OPERATORS",
    "SEVERITIES",
    "STATUSES",
    "Alarm",
    "AlarmEngine",
    "AlarmEvent",
    "AlarmFilter",
    "AlarmRule",
    "AlarmService",
    "DevicePresence",
    "PresenceEvent",
    "check_rule",
]
