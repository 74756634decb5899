"""The edge gateway: Modbus TCP, OPC UA and MQTT devices to the hub, with store-and-forward.

It runs apart from the server (``taihu edge run``) and imports none of the server's contexts
or its web stack, so it installs with the ``edge`` extra alone.
"""

from taihu.edge.buffer import Buffer, BufferStats, read_status
from taihu.edge.codec import decode, encode, plan_reads
from taihu.edge.config import ConfigError, EdgeConfig, load_config, parse_config
from taihu.edge.gateway import EdgeGateway

__all__ = [
    "Buffer",
    "BufferStats",
    "ConfigError",
    "EdgeConfig",
    "EdgeGateway",
    "decode",
    "encode",
    "load_config",
    "parse_config",
    "plan_reads",
    "read_status",
]
