"""Sparkplug B 3.0 host application: edge nodes on an external broker as Taihu devices."""

from taihu.devices.sparkplug.codec import (
    BadSparkplug,
    DataType,
    Metric,
    Payload,
    Template,
    Topic,
    decode_payload,
    encode_payload,
    parse_topic,
)
from taihu.devices.sparkplug.host import STATUS_FILE, HostStats, SparkplugHost
from taihu.devices.sparkplug.state import NodeTracker, Verdict

__all__ = [
    "STATUS_FILE",
    "BadSparkplug",
    "DataType",
    "HostStats",
    "Metric",
    "NodeTracker",
    "Payload",
    "SparkplugHost",
    "Template",
    "Topic",
    "Verdict",
    "decode_payload",
    "encode_payload",
    "parse_topic",
]
