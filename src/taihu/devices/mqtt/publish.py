"""MQTT publish packets: PUBLISH, and PUBACK with PUBREC, PUBREL, PUBCOMP (one shape)."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from taihu.devices.mqtt.framing import (
    FIXED_FLAGS,
    MalformedPacket,
    PacketType,
    Reader,
    properties_of,
    text,
)
from taihu.devices.mqtt.properties import Properties, encode_properties
from taihu.devices.mqtt.reasons import Reason

__all__ = [
    "PubAck",
    "Publish",
    "decode_puback",
    "decode_publish",
    "encode_puback",
    "encode_publish",
]


@dataclass(frozen=True, slots=True)
class Publish:
    """PUBLISH: a message on a topic (``packet_id`` for QoS 1 and 2)."""

    topic: str
    payload: bytes
    qos: int = 0
    retain: bool = False
    dup: bool = False
    packet_id: int | None = None
    properties: Properties = field(default_factory=Properties)


@dataclass(frozen=True, slots=True)
class PubAck:
    """PUBACK (and PUBREC, PUBREL, PUBCOMP, which share its shape, by ``kind``)."""

    packet_id: int
    reason: int = 0
    properties: Properties = field(default_factory=Properties)
    kind: PacketType = PacketType.PUBACK


def decode_publish(r: Reader, flags: int, version: int) -> Publish:
    """A PUBLISH body; ``flags`` (the fixed header's) carry its QoS, retain and DUP."""
    qos = (flags >> 1) & 0x03
    if qos == 3:
        raise MalformedPacket("PUBLISH with QoS 3")
    dup = bool(flags & 0x08)
    if dup and qos == 0:
        raise MalformedPacket("PUBLISH with DUP set at QoS 0", Reason.PROTOCOL_ERROR)
    topic = r.text("topic name")
    if "+" in topic or "#" in topic:
        raise MalformedPacket(f"topic name {topic!r} has a wildcard", Reason.TOPIC_NAME_INVALID)
    packet_id = None
    if qos:
        packet_id = r.u16("packet identifier")
        if packet_id == 0:
            raise MalformedPacket("packet identifier 0", Reason.PROTOCOL_ERROR)
    props = r.properties(version)
    payload = r.take(r.left, "payload")
    return Publish(topic, payload, qos, bool(flags & 0x01), dup, packet_id, props)


def decode_puback(r: Reader, kind: PacketType, version: int) -> PubAck:
    """A PUBACK, PUBREC, PUBREL or PUBCOMP body (``kind``)."""
    packet_id = r.u16("packet identifier")
    reason = r.byte("reason code") if version >= 5 and r.left else 0
    props = r.properties(version) if version >= 5 and r.left else Properties()
    return PubAck(packet_id, reason, props, kind)


def encode_publish(packet: Publish, version: int) -> tuple[int, bytes]:
    """A PUBLISH: (fixed-header byte 1, body)."""
    flags = (packet.dup << 3) | (packet.qos << 1) | int(packet.retain)
    body = text(packet.topic)
    if packet.qos:
        body += struct.pack("!H", packet.packet_id or 0)
    return 0x30 | flags, body + properties_of(packet.properties, version) + packet.payload


def encode_puback(packet: PubAck, version: int) -> tuple[int, bytes]:
    """A PUBACK (or its kin): (fixed-header byte 1, body)."""
    body = struct.pack("!H", packet.packet_id)
    if version >= 5 and (packet.reason or packet.properties != Properties()):
        body += bytes([packet.reason]) + encode_properties(packet.properties)
    return (packet.kind << 4) | FIXED_FLAGS.get(packet.kind, 0), body
