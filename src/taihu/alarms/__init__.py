"""Alarms on device data: rules as data, the in-memory engine in the ingest path, presence.

The rule arithmetic (``rules``) is pure; the engine (``engine``) keeps state per (device, rule)
in memory and writes transitions in batches; the service reads and writes for a principal.
"""

from taihu.alarms.delivery import AlarmDelivery, Outgoing, Sender, sign
from taihu.alarms.engine import AlarmEngine
from taihu.alarms.models import (
    Alarm,
    AlarmEvent,
    AlarmNotification,
    AlarmRule,
    AlarmSubscription,
    DevicePresence,
    PresenceEvent,
)
from taihu.alarms.notifications import CHANNELS, SubscriptionService
from taihu.alarms.rules import KINDS, OPERATORS, SEVERITIES, check_rule
from taihu.alarms.service import STATUSES, AlarmFilter, AlarmService

__all__ = [
    "CHANNELS",
    "KINDS",
    "OPERATORS",
    "SEVERITIES",
    "STATUSES",
    "Alarm",
    "AlarmDelivery",
    "AlarmEngine",
    "AlarmEvent",
    "AlarmFilter",
    "AlarmNotification",
    "AlarmRule",
    "AlarmService",
    "AlarmSubscription",
    "DevicePresence",
    "Outgoing",
    "PresenceEvent",
    "Sender",
    "SubscriptionService",
    "check_rule",
    "sign",
]
