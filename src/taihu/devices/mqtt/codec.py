"""MQTT 3.1.1 and 5.0 control packets: typed values to bytes and back.

    fixed header   byte 1: packet type (4 bits) and flags (4 bits)
                   remaining length: variable byte integer, 1-4 bytes, at most 268,435,455
    variable header, payload: per packet type; MQTT 5 adds properties after the variable header

Decoding never trusts a length it has not checked against the bytes it holds, so a hostile
packet costs at most the size the transport already accepted (``split_packet`` refuses a
remaining length over the caller's maximum before anything is buffered). QoS 2 is not part of
the device API and is refused by the transport, but its packets are recognised here.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from enum import IntEnum

from taihu.devices.mqtt.properties import (
    Properties,
    PropertyError,
    decode_properties,
    encode_properties,
)
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
    "PubAck",
    "Publish",
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

MAX_REMAINING_LENGTH = 268_435_455
_NO_PROPERTIES = Properties()  # shared: properties are immutable
_PROTOCOL_NAMES = {b"MQTT": (4, 5), b"MQIsdp": (3,)}


class MalformedPacket(ValueError):
    """Bytes that are not a valid packet; ``reason`` is the MQTT 5 code to disconnect with."""

    def __init__(self, message: str, reason: Reason = Reason.MALFORMED_PACKET) -> None:
        super().__init__(message)
        self.reason = reason


class PacketType(IntEnum):
    """The control packet types (§2.1.2)."""

    CONNECT = 1
    CONNACK = 2
    PUBLISH = 3
    PUBACK = 4
    PUBREC = 5
    PUBREL = 6
    PUBCOMP = 7
    SUBSCRIBE = 8
    SUBACK = 9
    UNSUBSCRIBE = 10
    UNSUBACK = 11
    PINGREQ = 12
    PINGRESP = 13
    DISCONNECT = 14
    AUTH = 15


@dataclass(frozen=True, slots=True)
class Will:
    """The message a server publishes when a client goes away without DISCONNECT."""

    topic: str
    payload: bytes
    qos: int = 0
    retain: bool = False
    properties: Properties = field(default_factory=Properties)


@dataclass(frozen=True, slots=True)
class Connect:
    """CONNECT: the first packet of a connection."""

    version: int  # 3 (MQIsdp), 4 (3.1.1) or 5
    client_id: str
    keep_alive: int = 60
    clean_start: bool = True
    username: str | None = None
    password: bytes | None = None
    will: Will | None = None
    properties: Properties = field(default_factory=Properties)


@dataclass(frozen=True, slots=True)
class ConnAck:
    """CONNACK: ``reason`` is the MQTT 5 reason code or the 3.1.1 return code."""

    session_present: bool = False
    reason: int = 0
    properties: Properties = field(default_factory=Properties)


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


@dataclass(frozen=True, slots=True)
class PingReq:
    """PINGREQ."""


@dataclass(frozen=True, slots=True)
class PingResp:
    """PINGRESP."""


@dataclass(frozen=True, slots=True)
class Disconnect:
    """DISCONNECT (in MQTT 5 either side may send it, with a reason)."""

    reason: int = 0
    properties: Properties = field(default_factory=Properties)


Packet = (
    Connect | ConnAck | Publish | PubAck | Subscribe | SubAck | Unsubscribe | UnsubAck | PingReq
    | PingResp | Disconnect
)  # fmt: skip


# -- primitives --------------------------------------------------------------------------------


def varint(value: int) -> bytes:
    """A variable byte integer (§1.5.5)."""
    if not 0 <= value <= MAX_REMAINING_LENGTH:
        raise ValueError(f"{value} does not fit a variable byte integer")
    out = bytearray()
    while True:
        byte, value = value % 128, value // 128
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def read_varint(data: bytes | bytearray, pos: int = 0) -> tuple[int, int] | None:
    """``(value, next offset)``, or None when more bytes are needed; raises when malformed."""
    value = 0
    for shift in range(4):
        if pos >= len(data):
            return None
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << (7 * shift)
        if not byte & 0x80:
            return value, pos
    raise MalformedPacket("remaining length is longer than 4 bytes")


def split_packet(buffer: bytes | bytearray, max_size: int) -> tuple[int, int, int] | None:
    """``(first byte, body offset, body length)`` of the packet at the start of ``buffer``.

    None when the fixed header is incomplete. A packet larger than ``max_size`` bytes in total
    raises ``MalformedPacket`` with reason 0x95 before its body is read.
    """
    if not buffer:
        return None
    header = read_varint(buffer, 1)
    if header is None:
        return None
    length, offset = header
    if offset + length > max_size:
        raise MalformedPacket(
            f"packet of {offset + length} bytes exceeds the maximum of {max_size}",
            Reason.PACKET_TOO_LARGE,
        )
    return buffer[0], offset, length


class _Reader:
    """A cursor over a packet body that refuses to read past its end."""

    __slots__ = ("data", "end", "pos")

    def __init__(self, data: bytes, pos: int = 0, end: int | None = None) -> None:
        self.data = data
        self.pos = pos
        self.end = len(data) if end is None else end

    def take(self, n: int, what: str) -> bytes:
        if self.pos + n > self.end:
            raise MalformedPacket(f"{what} runs past the end of the packet")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return bytes(chunk)

    def byte(self, what: str) -> int:
        return self.take(1, what)[0]

    def u16(self, what: str) -> int:
        return int.from_bytes(self.take(2, what), "big")

    def binary(self, what: str) -> bytes:
        return self.take(self.u16(what), what)

    def text(self, what: str) -> str:
        raw = self.binary(what)
        try:
            value = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedPacket(f"{what} is not valid UTF-8") from None
        if "\x00" in value:
            raise MalformedPacket(f"{what} contains U+0000")
        return value

    def properties(self, version: int) -> Properties:
        if version < 5:
            return _NO_PROPERTIES
        if self.pos < self.end and self.data[self.pos] == 0:  # the usual: no properties
            self.pos += 1
            return _NO_PROPERTIES
        try:
            props, self.pos = decode_properties(self.data, self.pos, self.end)
        except PropertyError as exc:
            raise MalformedPacket(f"bad properties: {exc}") from None
        return props

    @property
    def left(self) -> int:
        return self.end - self.pos


def _text(value: str) -> bytes:
    data = value.encode("utf-8")
    if len(data) > 0xFFFF:
        raise ValueError("string longer than 65,535 bytes")
    return struct.pack("!H", len(data)) + data


def _binary(value: bytes) -> bytes:
    return struct.pack("!H", len(value)) + value


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


_FIXED_FLAGS = {
    PacketType.PUBREL: 0b0010,
    PacketType.SUBSCRIBE: 0b0010,
    PacketType.UNSUBSCRIBE: 0b0010,
}


def decode_packet(  # noqa: PLR0912, PLR0915 - one branch per packet type reads best
    first: int, body: bytes, version: int
) -> Packet:
    """The packet with fixed-header byte ``first`` and ``body``; ``version`` is 4 or 5."""
    try:
        kind = PacketType(first >> 4)
    except ValueError:
        raise MalformedPacket("packet type 0 is reserved") from None
    flags = first & 0x0F
    if kind is not PacketType.PUBLISH and flags != _FIXED_FLAGS.get(kind, 0):
        raise MalformedPacket(f"{kind.name} with reserved flags {flags:#06b}")
    r = _Reader(body)
    packet: Packet
    if kind is PacketType.CONNECT:
        packet = _decode_connect(r)
    elif kind is PacketType.PUBLISH:
        packet = _decode_publish(r, flags, version)
    elif kind in (PacketType.PUBACK, PacketType.PUBREC, PacketType.PUBREL, PacketType.PUBCOMP):
        packet_id = r.u16("packet identifier")
        reason = r.byte("reason code") if version >= 5 and r.left else 0
        props = r.properties(version) if version >= 5 and r.left else Properties()
        packet = PubAck(packet_id, reason, props, kind)
    elif kind is PacketType.SUBSCRIBE:
        packet = _decode_subscribe(r, version)
    elif kind is PacketType.UNSUBSCRIBE:
        packet_id = r.u16("packet identifier")
        props = r.properties(version)
        filters = []
        while r.left:
            filters.append(r.text("topic filter"))
        if not filters:
            raise MalformedPacket("UNSUBSCRIBE without topic filters", Reason.PROTOCOL_ERROR)
        packet = Unsubscribe(packet_id, tuple(filters), props)
    elif kind is PacketType.CONNACK:
        ack_flags = r.byte("acknowledge flags")
        reason = r.byte("reason code")
        packet = ConnAck(bool(ack_flags & 1), reason, r.properties(version))
    elif kind is PacketType.SUBACK:
        packet_id = r.u16("packet identifier")
        props = r.properties(version)
        packet = SubAck(packet_id, tuple(r.take(r.left, "reason codes")), props)
    elif kind is PacketType.UNSUBACK:
        packet_id = r.u16("packet identifier")
        props = r.properties(version)
        packet = UnsubAck(packet_id, tuple(r.take(r.left, "reason codes")), props)
    elif kind is PacketType.PINGREQ:
        packet = PingReq()
    elif kind is PacketType.PINGRESP:
        packet = PingResp()
    elif kind is PacketType.DISCONNECT:
        reason = r.byte("reason code") if version >= 5 and r.left else 0
        props = r.properties(version) if version >= 5 and r.left else Properties()
        packet = Disconnect(reason, props)
    else:
        raise MalformedPacket("AUTH is not supported", Reason.PROTOCOL_ERROR)
    if r.left:
        raise MalformedPacket(f"{r.left} bytes left over after {kind.name}")
    return packet


def _decode_connect(r: _Reader) -> Connect:
    name = r.binary("protocol name")
    level = r.byte("protocol level")
    if name not in _PROTOCOL_NAMES:
        raise MalformedPacket(f"protocol name {name!r} is not MQTT", Reason.PROTOCOL_ERROR)
    if level not in _PROTOCOL_NAMES[name]:
        raise MalformedPacket(
            f"protocol level {level} is not supported", Reason.UNSUPPORTED_PROTOCOL_VERSION
        )
    flags = r.byte("connect flags")
    if flags & 0x01:
        raise MalformedPacket("connect flags: the reserved bit is set")
    keep_alive = r.u16("keep alive")
    props = r.properties(level)
    client_id = r.text("client identifier")
    will = None
    will_qos = (flags >> 3) & 0x03
    if flags & 0x04:
        if will_qos == 3:
            raise MalformedPacket("will QoS 3")
        will_props = r.properties(level)
        will = Will(
            r.text("will topic"), r.binary("will payload"), will_qos, bool(flags & 0x20),
            will_props,
        )  # fmt: skip
    elif will_qos or flags & 0x20:
        raise MalformedPacket("will QoS or retain without a will")
    username = r.text("user name") if flags & 0x80 else None
    password = r.binary("password") if flags & 0x40 else None
    if password is not None and username is None and level < 5:
        raise MalformedPacket("password without a user name")
    return Connect(
        level, client_id, keep_alive, bool(flags & 0x02), username, password, will, props
    )


def _decode_publish(r: _Reader, flags: int, version: int) -> Publish:
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


def _decode_subscribe(r: _Reader, version: int) -> Subscribe:
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


# -- encoding ----------------------------------------------------------------------------------


def _props(props: Properties, version: int) -> bytes:
    return encode_properties(props) if version >= 5 else b""


def encode_packet(packet: Packet, version: int) -> bytes:
    """The bytes of a packet for a connection speaking ``version`` (4 or 5)."""
    first, body = _encode(packet, version)
    return bytes([first]) + varint(len(body)) + body


def _encode(packet: Packet, version: int) -> tuple[int, bytes]:  # noqa: PLR0911, PLR0912 - per type
    if isinstance(packet, Publish):
        flags = (packet.dup << 3) | (packet.qos << 1) | int(packet.retain)
        body = _text(packet.topic)
        if packet.qos:
            body += struct.pack("!H", packet.packet_id or 0)
        return 0x30 | flags, body + _props(packet.properties, version) + packet.payload
    if isinstance(packet, PubAck):
        body = struct.pack("!H", packet.packet_id)
        if version >= 5 and (packet.reason or packet.properties != Properties()):
            body += bytes([packet.reason]) + encode_properties(packet.properties)
        return (packet.kind << 4) | _FIXED_FLAGS.get(packet.kind, 0), body
    if isinstance(packet, ConnAck):
        return 0x20, bytes([int(packet.session_present), packet.reason]) + _props(
            packet.properties, version
        )
    if isinstance(packet, SubAck):
        body = struct.pack("!H", packet.packet_id) + _props(packet.properties, version)
        return 0x90, body + bytes(packet.reasons)
    if isinstance(packet, UnsubAck):
        body = struct.pack("!H", packet.packet_id)
        if version >= 5:
            body += encode_properties(packet.properties) + bytes(packet.reasons)
        return 0xB0, body
    if isinstance(packet, PingReq):
        return 0xC0, b""
    if isinstance(packet, PingResp):
        return 0xD0, b""
    if isinstance(packet, Disconnect):
        body = b""
        if version >= 5 and (packet.reason or packet.properties != Properties()):
            body = bytes([packet.reason]) + encode_properties(packet.properties)
        return 0xE0, body
    if isinstance(packet, Connect):
        return 0x10, _encode_connect(packet)
    if isinstance(packet, Subscribe):
        body = struct.pack("!H", packet.packet_id) + _props(packet.properties, version)
        for s in packet.subscriptions:
            options = s.qos | (s.no_local << 2) | (s.retain_as_published << 3)
            body += _text(s.topic_filter) + bytes([options | (s.retain_handling << 4)])
        return 0x82, body
    body = struct.pack("!H", packet.packet_id) + _props(packet.properties, version)
    return 0xA2, body + b"".join(_text(t) for t in packet.topic_filters)


def _encode_connect(packet: Connect) -> bytes:
    name = b"MQIsdp" if packet.version == 3 else b"MQTT"
    flags = int(packet.clean_start) << 1
    if packet.will:
        flags |= 0x04 | (packet.will.qos << 3) | (int(packet.will.retain) << 5)
    if packet.password is not None:
        flags |= 0x40
    if packet.username is not None:
        flags |= 0x80
    body = _binary(name) + bytes([packet.version, flags]) + struct.pack("!H", packet.keep_alive)
    body += _props(packet.properties, packet.version) + _text(packet.client_id)
    if packet.will:
        body += _props(packet.will.properties, packet.version)
        body += _text(packet.will.topic) + _binary(packet.will.payload)
    if packet.username is not None:
        body += _text(packet.username)
    if packet.password is not None:
        body += _binary(packet.password)
    return body
