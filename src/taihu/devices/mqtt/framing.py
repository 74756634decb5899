"""MQTT framing: the fixed header, variable byte integers, and the fields packets are made of.

    fixed header   byte 1: packet type (4 bits) and flags (4 bits)
                   remaining length: variable byte integer, 1-4 bytes, at most 268,435,455

``Reader`` reads a packet body's fields and refuses to read past its end; ``text`` and
``binary`` write them. The packet families (``connection``, ``publish``, ``subscriptions``) are
built from these.
"""

from __future__ import annotations

import struct
from enum import IntEnum

from taihu.devices.mqtt.properties import (
    Properties,
    PropertyError,
    decode_properties,
    encode_properties,
)
from taihu.devices.mqtt.reasons import Reason

__all__ = [
    "FIXED_FLAGS",
    "MAX_REMAINING_LENGTH",
    "NO_PROPERTIES",
    "MalformedPacket",
    "PacketType",
    "Reader",
    "binary",
    "properties_of",
    "read_varint",
    "split_packet",
    "text",
    "varint",
]

MAX_REMAINING_LENGTH = 268_435_455
NO_PROPERTIES = Properties()  # shared: properties are immutable


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


# The packet types whose fixed-header flags are not 0 (PUBLISH's carry its QoS and are its own).
FIXED_FLAGS = {
    PacketType.PUBREL: 0b0010,
    PacketType.SUBSCRIBE: 0b0010,
    PacketType.UNSUBSCRIBE: 0b0010,
}


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


class Reader:
    """A cursor over a packet body that refuses to read past its end."""

    __slots__ = ("data", "end", "pos")

    def __init__(self, data: bytes, pos: int = 0, end: int | None = None) -> None:
        self.data = data
        self.pos = pos
        self.end = len(data) if end is None else end

    def take(self, n: int, what: str) -> bytes:
        """The next ``n`` bytes (``what`` names them in the error)."""
        if self.pos + n > self.end:
            raise MalformedPacket(f"{what} runs past the end of the packet")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return bytes(chunk)

    def byte(self, what: str) -> int:
        """The next byte."""
        return self.take(1, what)[0]

    def u16(self, what: str) -> int:
        """The next two-byte integer."""
        return int.from_bytes(self.take(2, what), "big")

    def binary(self, what: str) -> bytes:
        """The next binary data field (length-prefixed)."""
        return self.take(self.u16(what), what)

    def text(self, what: str) -> str:
        """The next UTF-8 string, refused when not valid UTF-8 or holding U+0000."""
        raw = self.binary(what)
        try:
            value = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedPacket(f"{what} is not valid UTF-8") from None
        if "\x00" in value:
            raise MalformedPacket(f"{what} contains U+0000")
        return value

    def properties(self, version: int) -> Properties:
        """The next property list (MQTT 5; none in 3.1.1)."""
        if version < 5:
            return NO_PROPERTIES
        if self.pos < self.end and self.data[self.pos] == 0:  # the usual: no properties
            self.pos += 1
            return NO_PROPERTIES
        try:
            props, self.pos = decode_properties(self.data, self.pos, self.end)
        except PropertyError as exc:
            raise MalformedPacket(f"bad properties: {exc}") from None
        return props

    @property
    def left(self) -> int:
        """How many bytes of the body are still unread."""
        return self.end - self.pos


def text(value: str) -> bytes:
    """A UTF-8 string field."""
    data = value.encode("utf-8")
    if len(data) > 0xFFFF:
        raise ValueError("string longer than 65,535 bytes")
    return struct.pack("!H", len(data)) + data


def binary(value: bytes) -> bytes:
    """A binary data field."""
    return struct.pack("!H", len(value)) + value


def properties_of(props: Properties, version: int) -> bytes:
    """A packet's property list as ``version`` carries it (nothing before MQTT 5)."""
    return encode_properties(props) if version >= 5 else b""
