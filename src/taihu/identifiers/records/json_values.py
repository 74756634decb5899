"""Handle values in the JSON shapes of the Handle.Net REST API, both ways.

Reading is lenient the way the Handle.Net server is, because existing clients rely on it:
``data`` may be a bare string (pyhandle sends ``"data": "https://…"``) or ``{"format", "value"}``;
an HS_ADMIN ``index`` may be a string (pyhandle sends ``"index": "200"``). Writing always uses the
full ``{"format", "value"}`` form. Formats: string, base64, hex, admin, vlist (``site`` is not
supported yet and is refused with a message).
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from taihu.core.messages import N_
from taihu.identifiers.handle import (
    ADMIN_TYPE,
    DEFAULT_TTL,
    AdminPermission,
    AdminRef,
    HandleValue,
    HandleValueError,
    TtlType,
    decode_admin,
    encode_admin,
    text_value,
)
from taihu.identifiers.wire import values as wire_values
from taihu.identifiers.wire.buffer import WireDecodeError
from taihu.identifiers.wire.values import VLIST_TYPE

__all__ = [
    "VLIST_TYPE",
    "admin_json",
    "decode_vlist",
    "encode_vlist",
    "iso",
    "value_from_json",
    "value_to_json",
]


def encode_vlist(refs: list[tuple[int, str]]) -> bytes:
    """HS_VLIST data from ``(index, handle)`` pairs (the wire codec's encoding)."""
    return wire_values.encode_vlist(tuple(refs))


def decode_vlist(data: bytes) -> list[tuple[int, str]]:
    """Parse HS_VLIST data (the inverse of ``encode_vlist``), bounded like every wire read."""
    try:
        return list(wire_values.decode_vlist(data))
    except WireDecodeError as exc:
        raise HandleValueError(N_("malformed HS_VLIST data")) from exc


def _int(raw: object, what: str) -> int:
    if isinstance(raw, bool):
        raise HandleValueError(N_("{what} must be a number"), what=what)
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str) and raw.strip().isdigit():
        return int(raw.strip())
    raise HandleValueError(N_("{what} must be a number, not {raw}"), what=what, raw=repr(raw))


def _admin_from_json(value: object) -> bytes:
    if not isinstance(value, dict):
        raise HandleValueError(N_('admin data must be {"handle", "index", "permissions"}'))
    handle = value.get("handle")
    if not isinstance(handle, str):
        raise HandleValueError(N_("admin data needs a handle"))
    permissions = value.get("permissions", AdminPermission(0x0FFF).to_bits())
    if not isinstance(permissions, str):
        raise HandleValueError(N_("admin permissions must be a 12-character string"))
    ref = AdminRef(
        handle, _int(value.get("index"), "admin index"), AdminPermission.from_bits(permissions)
    )
    return encode_admin(ref)


def _data_from_json(type_: str, data: object) -> bytes:
    if isinstance(data, str):
        return data.encode("utf-8")
    if not isinstance(data, dict) or "value" not in data:
        raise HandleValueError(N_('data must be a string or {"format", "value"}'))
    fmt = data.get("format", "string")
    value = data["value"]
    if fmt == "admin" or (type_ == ADMIN_TYPE and isinstance(value, dict)):
        return _admin_from_json(value)
    if fmt == "vlist":
        if not isinstance(value, list):
            raise HandleValueError(N_('vlist data must be a list of {"index", "handle"}'))
        refs = [(_int(r.get("index"), "vlist index"), str(r.get("handle", ""))) for r in value]
        return encode_vlist(refs)
    if not isinstance(value, str):
        raise HandleValueError(N_("data of format {format} must be a string"), format=repr(fmt))
    if fmt == "string":
        return value.encode("utf-8")
    try:
        if fmt == "base64":
            return base64.b64decode(value, validate=True)
        if fmt == "hex":
            return bytes.fromhex(value)
    except (binascii.Error, ValueError) as exc:
        raise HandleValueError(N_("data is not valid {format}"), format=fmt) from exc
    raise HandleValueError(
        N_("data format {format} is not supported (string, base64, hex, admin, vlist)"),
        format=repr(fmt),
    )


def _permissions(raw: object) -> tuple[bool, bool, bool, bool]:
    if raw is None:
        return (True, True, True, False)
    if not isinstance(raw, str) or len(raw) != 4 or set(raw) - {"0", "1"}:
        raise HandleValueError(N_('permissions must be 4 characters of 0/1, e.g. "1110"'))
    a_r, a_w, p_r, p_w = (c == "1" for c in raw)
    return (a_r, a_w, p_r, p_w)


# The form nearly every registration and every stored record uses: text data, a numeric index,
# perhaps a TTL and permissions, nothing else. Read without the general path's branches (a
# 2,000-identifier batch reads 10,000 values); the value object checks itself either way.
_PLAIN_KEYS = frozenset({"index", "type", "data", "ttl", "timestamp", "permissions"})
_STRING_DATA_KEYS = frozenset({"format", "value"})
_PERMISSIONS = {
    f"{a:d}{b:d}{c:d}{d:d}": (a, b, c, d)
    for a in (False, True) for b in (False, True) for c in (False, True) for d in (False, True)
}  # fmt: skip


# Values sent without a time, by (index, type, text, TTL, permissions): see _plain.
_SENT: dict[tuple[int, str, str, int, str], HandleValue] = {}
_SENT_MEMO = 4096
_SHARED_DATA_CHARS = 256


def _plain(raw: dict[str, Any], timestamp: datetime | None) -> HandleValue | None:
    """The value of a plain-text JSON value, or ``None`` for the general path to read."""
    index = raw.get("index")
    type_ = raw.get("type", "")
    data = raw.get("data", "")
    ttl = raw.get("ttl", DEFAULT_TTL)
    if type(index) is not int or type(type_) is not str or type(ttl) is not int:
        return None
    if type(data) is not str:
        if (
            type(data) is not dict
            or data.keys() - _STRING_DATA_KEYS
            or data.get("format", "string") != "string"
            or type(data.get("value")) is not str
        ):
            return None
        data = data["value"]
    bits = raw.get("permissions", "1110")
    # Anything but a string (a list is unhashable here) is for the general path to refuse.
    permissions = _PERMISSIONS.get(bits) if type(bits) is str else None
    if permissions is None:
        return None
    # A value as a client sends it (no time yet) is often sent again and again: a batch's
    # identifiers share their model, batch, manufacturer. The value object is immutable, so
    # one serves them all (short data only, so the memo stays small).
    shared = timestamp is None and len(data) <= _SHARED_DATA_CHARS
    if shared:
        key = (index, type_, data, ttl, bits)
        value = _SENT.get(key)
        if value is not None:
            return value
    try:
        value = text_value(index, type_, _utf8_data(data), ttl, timestamp, permissions)
    except HandleValueError as exc:
        raise HandleValueError(
            N_("value {index}: {reason}"), index=index, reason=exc.message
        ) from exc
    if shared:
        if len(_SENT) >= _SENT_MEMO:
            _SENT.clear()  # starts over, so a new batch's shared values get kept
        _SENT[key] = value
    return value


def _utf8_data(text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise HandleValueError(N_("data is not valid UTF-8 text")) from exc


def value_from_json(raw: object, *, timestamp: datetime | None = None) -> HandleValue:
    """A value from its REST JSON form; raises ``HandleValueError`` naming what is wrong."""
    if not isinstance(raw, dict):
        raise HandleValueError(N_("each value must be a JSON object"))
    if raw.keys() <= _PLAIN_KEYS:
        plain = _plain(raw, timestamp)
        if plain is not None:
            return plain
    type_ = raw.get("type", "")
    if not isinstance(type_, str):
        raise HandleValueError(N_("a value's type must be a string"))
    index = _int(raw.get("index"), "value index")
    try:
        data = _data_from_json(type_, raw.get("data", ""))
        a_r, a_w, p_r, p_w = _permissions(raw.get("permissions"))
        ttl_type = (
            TtlType.RELATIVE if "ttlType" not in raw else TtlType(_int(raw["ttlType"], "ttlType"))
        )
        refs_raw = raw.get("references") or []
        if not isinstance(refs_raw, list):
            raise HandleValueError(N_("references must be a list"))
        references = tuple(
            (_int(r.get("index"), "reference index"), str(r.get("handle", ""))) for r in refs_raw
        )
        return HandleValue(
            index=index,
            type=type_,
            data=data,
            ttl=_int(raw.get("ttl", DEFAULT_TTL), "ttl"),
            ttl_type=ttl_type,
            timestamp=timestamp,
            admin_read=a_r,
            admin_write=a_w,
            public_read=p_r,
            public_write=p_w,
            references=references,
        )
    except HandleValueError as exc:
        raise HandleValueError(
            N_("value {index}: {reason}"), index=index, reason=exc.message
        ) from exc
    except ValueError as exc:  # TtlType(2)
        raise HandleValueError(N_("value {index}: {reason}"), index=index, reason=str(exc)) from exc


@lru_cache(maxsize=4096)  # a batch's identifiers share one HS_ADMIN value
def admin_json(data: bytes) -> dict[str, Any]:
    """HS_ADMIN data in its REST JSON form (shared between calls: callers only serialize it)."""
    admin = decode_admin(data)
    return {
        "format": "admin",
        "value": {
            "handle": admin.handle,
            "index": admin.index,
            "permissions": admin.permissions.to_bits(),
        },
    }


def _data_to_json(value: HandleValue) -> dict[str, Any]:
    if value.type == ADMIN_TYPE:
        return admin_json(value.data)
    if value.type == VLIST_TYPE:
        try:
            refs = decode_vlist(value.data)
        except HandleValueError:
            refs = None
        if refs is not None:
            return {"format": "vlist", "value": [{"index": i, "handle": h} for i, h in refs]}
    text = value.text
    if text is not None:
        return {"format": "string", "value": text}
    return {"format": "base64", "value": base64.b64encode(value.data).decode("ascii")}


@lru_cache(maxsize=4096)  # a batch stamps every value with the same moment
def iso(moment: datetime) -> str:
    """A timestamp as the Handle.Net REST API writes it."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def value_to_json(value: HandleValue, *, at: datetime | None = None) -> dict[str, Any]:
    """A value in the Handle.Net REST JSON form (time-stamped ``at`` when given)."""
    out: dict[str, Any] = {"index": value.index, "type": value.type, "data": _data_to_json(value)}
    if value.ttl_type is TtlType.ABSOLUTE:
        out["ttlType"] = 1
    out["ttl"] = value.ttl
    stamp = at or value.timestamp
    if stamp is not None:
        out["timestamp"] = iso(stamp)
    if not (value.admin_read and value.admin_write and value.public_read) or value.public_write:
        out["permissions"] = value.permission_bits
    if value.references:
        out["references"] = [{"index": i, "handle": h} for i, h in value.references]
    return out
