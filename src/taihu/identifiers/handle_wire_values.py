"""Stored values straight to their wire bytes: the resolution fast path's one conversion.

A stored record is REST JSON (see ``records``). Going through ``HandleValue`` costs tens of
microseconds a value; the common shapes (string and admin data, no references) are packed
here directly, anything else takes the general path. ``stored_to_wire(raw)`` equals
``encode_value(value_from_stored(raw))`` for every value; a test holds the two together.
"""

from __future__ import annotations

import struct
from datetime import datetime
from typing import Any

from taihu.identifiers.handle_values import AdminPermission, AdminRef, encode_admin
from taihu.identifiers.records import value_from_stored
from taihu.identifiers.wire import encode_value

__all__ = ["stored_to_wire"]

# index, timestamp, TTL type, TTL, permissions, type length
_HEAD = struct.Struct(">IIBIBI")
_U32 = struct.Struct(">I")
_NO_REFERENCES = bytes(4)
_PERMISSIONS = {
    f"{a}{b}{c}{d}": (a << 3) | (b << 2) | (c << 1) | d
    for a in (0, 1) for b in (0, 1) for c in (0, 1) for d in (0, 1)
}  # fmt: skip
_STAMPS: dict[str, int] = {}
_STAMP_MEMO = 4096


def _seconds(stamp: object) -> int | None:
    if stamp is None:
        return 0
    if not isinstance(stamp, str):
        return None
    seconds = _STAMPS.get(stamp)
    if seconds is None:
        try:
            seconds = int(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp())
        except ValueError:
            return None
        if len(_STAMPS) < _STAMP_MEMO:  # bulk registrations share a handful of moments
            _STAMPS[stamp] = seconds
    return seconds


def _payload(type_: str, data: object) -> bytes | None:
    if not isinstance(data, dict):
        return None
    fmt, value = data.get("format"), data.get("value")
    if fmt == "string" and isinstance(value, str) and type_ != "HS_ADMIN":
        return value.encode("utf-8")
    if fmt == "admin" and isinstance(value, dict):
        handle, index, bits = value.get("handle"), value.get("index"), value.get("permissions")
        if isinstance(handle, str) and isinstance(index, int) and isinstance(bits, str):
            return encode_admin(AdminRef(handle, index, AdminPermission.from_bits(bits)))
    return None


def stored_to_wire(raw: dict[str, Any]) -> tuple[int, str, bool, bytes]:
    """``(index, type, public read, wire bytes)`` of one stored value."""
    type_, index = raw.get("type"), raw.get("index")
    permissions = _PERMISSIONS.get(raw.get("permissions", "1110"))
    ttl, ttl_type = raw.get("ttl", 86400), raw.get("ttlType", 0)
    if (
        isinstance(type_, str)
        and isinstance(index, int)
        and permissions is not None
        and not raw.get("references")
        and isinstance(ttl, int)
        and ttl_type in (0, 1)
    ):
        payload = _payload(type_, raw.get("data"))
        stamp = _seconds(raw.get("timestamp"))
        if payload is not None and stamp is not None:
            kind = type_.encode("utf-8")
            head = _HEAD.pack(index, stamp, ttl_type, ttl, permissions, len(kind))
            body = head + kind + _U32.pack(len(payload)) + payload + _NO_REFERENCES
            return index, type_, bool(permissions & 0x02), body
    value = value_from_stored(raw)
    return value.index, value.type, value.public_read, encode_value(value)
