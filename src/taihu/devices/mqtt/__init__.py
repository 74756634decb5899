"""MQTT 3.1.1 and 5.0 for the device hub: a codec of bytes to typed packets, and a listener.

The codec (``codec`` over ``framing`` and the packet families ``connection``, ``publish`` and
``subscriptions``; ``properties``, ``reasons``) knows nothing of devices or of sockets; the
transport (``transport``) is an asyncio listener that drives the protocol and hands
authenticated sessions to an application through the small ``Broker`` interface.
"""

from taihu.devices.mqtt.codec import (
    MAX_REMAINING_LENGTH,
    ConnAck,
    Connect,
    Disconnect,
    MalformedPacket,
    Packet,
    PacketType,
    PingReq,
    PingResp,
    PubAck,
    Publish,
    SubAck,
    Subscribe,
    Subscription,
    UnsubAck,
    Unsubscribe,
    Will,
    decode_packet,
    encode_packet,
    read_varint,
    split_packet,
    topic_matches,
    varint,
)
from taihu.devices.mqtt.properties import Properties
from taihu.devices.mqtt.reasons import Reason

__all__ = [
    "MAX_REMAINING_LENGTH",
    "ConnAck",
    "Connect",
    "Disconnect",
    "MalformedPacket",
    "Packet",
    "PacketType",
    "PingReq",
    "PingResp",
    "Properties",
    "PubAck",
    "Publish",
    "Reason",
    "SubAck",
    "Subscribe",
    "Subscription",
    "UnsubAck",
    "Unsubscribe",
    "Will",
    "decode_packet",
    "encode_packet",
    "read_varint",
    "split_packet",
    "topic_matches",
    "varint",
]
