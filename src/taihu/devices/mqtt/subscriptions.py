"""MQTT subscription packets (SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK) and topic filters."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from taihu.devices.mqtt.framing import MalformedPacket, Reader, properties_of, text
from taihu.devices.mqtt.properties import Properties, encode_properties
from taihu.devices.mqtt.reasons import Reason

__all__ = [
    "SubAck",
    "Subscribe",
    "Subscription",
    "UnsubAck",
    "Unsubscribe",
    "check_topic_filter",
    "decode_suback",
    "decode_subscribe",
    "decode_unsuback",
    "decode_unsubscribe",
    "encode_suback",
    "encode_subscribe",
    "encode_unsuback",
    "encode_unsubscribe",
    "topic_matches",
]


@dataclass(frozen=True, slots=True)
class Subscription:
    """One topic filter of a SUBSCRIBE with its options."""

    topic_filter: str
    qos: int = 0
    no_local: bool = False
    retain_as_published: bool = False
    retain_handling: int = 0


@dataclass(frozen=True, slots=True)
class Subscribe:
    """SUBSCRIBE."""

    packet_id: int
    subscriptions: tuple[Subscription, ...]
    properties: Properties = field(default_factory=Properties)


@dataclass(frozen=True, slots=True)
class SubAck:
    """SUBACK: one reason code (granted QoS or failure) per subscription."""

    packet_id: int
    reasons: tuple[int, ...]
    properties: Properties = field(default_factory=Properties)


@dataclass(frozen=True, slots=True)
class Unsubscribe:
    """UNSUBSCRIBE."""

    packet_id: int
    topic_filters: tuple[str, ...]
    properties: Properties = field(default_factory=Properties)


@dataclass(frozen=True, slots=True)
class UnsubAck:
    """UNSUBACK (MQTT 5 carries one reason code per filter; 3.1.1 none)."""

    packet_id: int
    reasons: tuple[int, ...] = ()
    properties: Properties = field(default_factory=Properties)


# -- topics ------------------------------------------------------------------------------------


def check_topic_filter(topic_filter: str) -> bool:
    """Whether a topic filter is well formed (§4.7.1)."""
    if not topic_filter:
        return False
    levels = topic_filter.split("/")
    for i, level in enumerate(levels):
        if "#" in level and (level != "#" or i != len(levels) - 1):
            return False
        if "+" in level and level != "+":
            return False
    return True


def topic_matches(topic_filter: str, topic: str) -> bool:
    """Whether a topic name matches a topic filter with ``+`` and ``#`` wildcards."""
    f_levels = topic_filter.split("/")
    t_levels = topic.split("/")
    if topic.startswith("$") and f_levels[0] in ("+", "#"):
        return False
    for i, level in enumerate(f_levels):
        if level == "#":
            return True
        if i >= len(t_levels) or (level != "+" and level != t_levels[i]):
            return False
    return len(f_levels) == len(t_levels)


# -- decoding ----------------------------------------------------------------------------------


def decode_subscribe(r: Reader, version: int) -> Subscribe:
    """A SUBSCRIBE body: at least one filter, with options whose reserved bits are clear."""
    packet_id = r.u16("packet identifier")
    props = r.properties(version)
    subs = []
    while r.left:
        topic_filter = r.text("topic filter")
        options = r.byte("subscription options")
        if options & 0xC0 or (version < 5 and options & 0xFC):
            raise MalformedPacket("subscription options: reserved bits are set")
        qos = options & 0x03
        if qos == 3:
            raise MalformedPacket("subscription with QoS 3")
        retain_handling = (options >> 4) & 0x03
        if retain_handling == 3:
            raise MalformedPacket("retain handling 3")
        subs.append(
            Subscription(
                topic_filter, qos, bool(options & 0x04), bool(options & 0x08), retain_handling
            )
        )
    if not subs:
        raise MalformedPacket("SUBSCRIBE without topic filters", Reason.PROTOCOL_ERROR)
    return Subscribe(packet_id, tuple(subs), props)


def decode_unsubscribe(r: Reader, version: int) -> Unsubscribe:
    """An UNSUBSCRIBE body: at least one filter."""
    packet_id = r.u16("packet identifier")
    props = r.properties(version)
    filters = []
    while r.left:
        filters.append(r.text("topic filter"))
    if not filters:
        raise MalformedPacket("UNSUBSCRIBE without topic filters", Reason.PROTOCOL_ERROR)
    return Unsubscribe(packet_id, tuple(filters), props)


def decode_suback(r: Reader, version: int) -> SubAck:
    """A SUBACK body."""
    packet_id = r.u16("packet identifier")
    props = r.properties(version)
    return SubAck(packet_id, tuple(r.take(r.left, "reason codes")), props)


def decode_unsuback(r: Reader, version: int) -> UnsubAck:
    """An UNSUBACK body."""
    packet_id = r.u16("packet identifier")
    props = r.properties(version)
    return UnsubAck(packet_id, tuple(r.take(r.left, "reason codes")), props)


# -- encoding: (fixed-header byte 1, body) ------------------------------------------------------


def encode_subscribe(packet: Subscribe, version: int) -> tuple[int, bytes]:
    """A SUBSCRIBE."""
    body = struct.pack("!H", packet.packet_id) + properties_of(packet.properties, version)
    for s in packet.subscriptions:
        options = s.qos | (s.no_local << 2) | (s.retain_as_published << 3)
        body += text(s.topic_filter) + bytes([options | (s.retain_handling << 4)])
    return 0x82, body


def encode_unsubscribe(packet: Unsubscribe, version: int) -> tuple[int, bytes]:
    """An UNSUBSCRIBE."""
    body = struct.pack("!H", packet.packet_id) + properties_of(packet.properties, version)
    return 0xA2, body + b"".join(text(t) for t in packet.topic_filters)


def encode_suback(packet: SubAck, version: int) -> tuple[int, bytes]:
    """A SUBACK."""
    body = struct.pack("!H", packet.packet_id) + properties_of(packet.properties, version)
    return 0x90, body + bytes(packet.reasons)


def encode_unsuback(packet: UnsubAck, version: int) -> tuple[int, bytes]:
    """An UNSUBACK: its reason codes only in MQTT 5."""
    body = struct.pack("!H", packet.packet_id)
    if version >= 5:
        body += encode_properties(packet.properties) + bytes(packet.reasons)
    return 0xB0, body
