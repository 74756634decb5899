"""MQTT 5 properties (§2.2.2): a typed value object and its wire form.

Each property is an identifier (a variable byte integer, in practice one byte) followed by a value
of one of seven types. Only user properties and subscription identifiers may repeat.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field, fields, replace
from typing import Any

__all__ = ["Properties", "PropertyError", "decode_properties", "encode_properties"]


class PropertyError(ValueError):
    """Properties that break the rules of §2.2.2 (the packet is malformed)."""


# identifier -> (field, type); types: byte, u16, u32, varint, str, bin, pair
_TABLE: dict[int, tuple[str, str]] = {
    0x01: ("payload_format_indicator", "byte"),
    0x02: ("message_expiry_interval", "u32"),
    0x03: ("content_type", "str"),
    0x08: ("response_topic", "str"),
    0x09: ("correlation_data", "bin"),
    0x0B: ("subscription_identifiers", "varint"),
    0x11: ("session_expiry_interval", "u32"),
    0x12: ("assigned_client_identifier", "str"),
    0x13: ("server_keep_alive", "u16"),
    0x15: ("authentication_method", "str"),
    0x16: ("authentication_data", "bin"),
    0x17: ("request_problem_information", "byte"),
    0x18: ("will_delay_interval", "u32"),
    0x19: ("request_response_information", "byte"),
    0x1A: ("response_information", "str"),
    0x1C: ("server_reference", "str"),
    0x1F: ("reason_string", "str"),
    0x21: ("receive_maximum", "u16"),
    0x22: ("topic_alias_maximum", "u16"),
    0x23: ("topic_alias", "u16"),
    0x24: ("maximum_qos", "byte"),
    0x25: ("retain_available", "byte"),
    0x26: ("user_properties", "pair"),
    0x27: ("maximum_packet_size", "u32"),
    0x28: ("wildcard_subscription_available", "byte"),
    0x29: ("subscription_identifier_available", "byte"),
    0x2A: ("shared_subscription_available", "byte"),
}
_BY_NAME = {name: (ident, kind) for ident, (name, kind) in _TABLE.items()}
_REPEATABLE = {"user_properties", "subscription_identifiers"}


@dataclass(frozen=True, slots=True)
class Properties:
    """The MQTT 5 properties of one packet; unset ones are None (or empty when repeatable)."""

    payload_format_indicator: int | None = None
    message_expiry_interval: int | None = None
    content_type: str | None = None
    response_topic: str | None = None
    correlation_data: bytes | None = None
    subscription_identifiers: tuple[int, ...] = ()
    session_expiry_interval: int | None = None
    assigned_client_identifier: str | None = None
    server_keep_alive: int | None = None
    authentication_method: str | None = None
    authentication_data: bytes | None = None
    request_problem_information: int | None = None
    will_delay_interval: int | None = None
    request_response_information: int | None = None
    response_information: str | None = None
    server_reference: str | None = None
    reason_string: str | None = None
    receive_maximum: int | None = None
    topic_alias_maximum: int | None = None
    topic_alias: int | None = None
    maximum_qos: int | None = None
    retain_available: int | None = None
    user_properties: tuple[tuple[str, str], ...] = field(default=())
    maximum_packet_size: int | None = None
    wildcard_subscription_available: int | None = None
    subscription_identifier_available: int | None = None
    shared_subscription_available: int | None = None

    def with_(self, **changes: Any) -> Properties:
        """A copy with some properties changed."""
        return replace(self, **changes)


EMPTY = Properties()


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value % 128, value // 128
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _str(value: str) -> bytes:
    data = value.encode("utf-8")
    return struct.pack("!H", len(data)) + data


def _encode_value(kind: str, value: Any) -> bytes:  # noqa: PLR0911 - one per type
    if kind == "byte":
        return bytes([value])
    if kind == "u16":
        return struct.pack("!H", value)
    if kind == "u32":
        return struct.pack("!I", value)
    if kind == "varint":
        return _varint(value)
    if kind == "str":
        return _str(value)
    if kind == "bin":
        return struct.pack("!H", len(value)) + bytes(value)
    return _str(value[0]) + _str(value[1])  # pair


def encode_properties(props: Properties) -> bytes:
    """The property length and properties of a packet."""
    body = bytearray()
    for f in fields(props):
        value = getattr(props, f.name)
        ident, kind = _BY_NAME[f.name]
        if f.name in _REPEATABLE:
            for item in value:
                body.append(ident)
                body += _encode_value(kind, item)
        elif value is not None:
            body.append(ident)
            body += _encode_value(kind, value)
    return _varint(len(body)) + bytes(body)


def _read_str(data: bytes, pos: int, end: int) -> tuple[str, int]:
    if pos + 2 > end:
        raise PropertyError("string runs past the properties")
    n = int.from_bytes(data[pos : pos + 2], "big")
    if pos + 2 + n > end:
        raise PropertyError("string runs past the properties")
    raw = data[pos + 2 : pos + 2 + n]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise PropertyError("string is not valid UTF-8") from None
    if "\x00" in text:
        raise PropertyError("string contains U+0000")
    return text, pos + 2 + n


def decode_properties(  # noqa: PLR0912 - one branch per value type
    data: bytes, pos: int, end: int
) -> tuple[Properties, int]:
    """Properties starting at ``pos`` (property length first); returns them and the next offset."""
    length, pos = _read_varint(data, pos, end)
    stop = pos + length
    if stop > end:
        raise PropertyError("property length runs past the packet")
    values: dict[str, Any] = {}
    pairs: list[tuple[str, str]] = []
    ids: list[int] = []
    while pos < stop:
        ident = data[pos]
        pos += 1
        if ident not in _TABLE:
            raise PropertyError(f"unknown property identifier 0x{ident:02x}")
        name, kind = _TABLE[ident]
        value: Any
        if kind == "byte":
            if pos + 1 > stop:
                raise PropertyError(f"{name} runs past the properties")
            value, pos = data[pos], pos + 1
        elif kind in ("u16", "u32"):
            size = 2 if kind == "u16" else 4
            if pos + size > stop:
                raise PropertyError(f"{name} runs past the properties")
            value, pos = int.from_bytes(data[pos : pos + size], "big"), pos + size
        elif kind == "varint":
            value, pos = _read_varint(data, pos, stop)
        elif kind == "str":
            value, pos = _read_str(data, pos, stop)
        elif kind == "bin":
            if pos + 2 > stop:
                raise PropertyError(f"{name} runs past the properties")
            n = int.from_bytes(data[pos : pos + 2], "big")
            if pos + 2 + n > stop:
                raise PropertyError(f"{name} runs past the properties")
            value, pos = bytes(data[pos + 2 : pos + 2 + n]), pos + 2 + n
        else:
            key, pos = _read_str(data, pos, stop)
            val, pos = _read_str(data, pos, stop)
            pairs.append((key, val))
            continue
        if name == "subscription_identifiers":
            ids.append(value)
            continue
        if name in values:
            raise PropertyError(f"{name} appears twice")
        values[name] = value
    return Properties(
        **values, user_properties=tuple(pairs), subscription_identifiers=tuple(ids)
    ), stop


def _read_varint(data: bytes, pos: int, end: int) -> tuple[int, int]:
    value = 0
    for shift in range(4):
        if pos >= end:
            raise PropertyError("variable byte integer runs past the packet")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << (7 * shift)
        if not byte & 0x80:
            return value, pos
    raise PropertyError("variable byte integer longer than 4 bytes")
