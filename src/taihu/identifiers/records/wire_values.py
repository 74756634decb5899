"""Stored values straight to their wire bytes: the resolution fast path's one conversion.

A stored record is REST JSON (see ``records``). Going through ``HandleValue`` costs tens of
microseconds a value; the common shapes (string and admin data, no references) are packed
here directly, anything else takes the general path. ``stored_to_wire(raw)`` equals
``encode_value(value_from_stored(raw))`` for every value; a test holds the two together.

``stored_columns`` gives a write both columns of a row: the record and its anonymous
RESOLUTION answer already encoded (``id_handles.wire``), so a resolution that misses the cache
reads bytes to send instead of rendering JSON, as Handle.Net's own storage keeps values in their
wire form. Triggers (migration identifiers_0003) set the answer to NULL when a statement changes
the record without it; the resolver renders the record itself then.
"""

from __future__ import annotations

import struct
from datetime import datetime
from functools import lru_cache
from operator import attrgetter
from typing import Any

import orjson

from taihu.identifiers.handle import (
    ADMIN_TYPE,
    SECKEY_TYPE,
    AdminPermission,
    AdminRef,
    HandleValue,
    encode_admin,
)
from taihu.identifiers.records.json_values import admin_json, iso
from taihu.identifiers.records.stored import stored_values, value_from_stored
from taihu.identifiers.wire import encode_value
from taihu.identifiers.wire.values import VLIST_TYPE

__all__ = [
    "CACHE_SECONDS",
    "WireValue",
    "public_wire",
    "stored_columns",
    "stored_to_wire",
    "wire_answer",
]

# One public value as the Handle protocol sends it: (index, type, encoded value).
WireValue = tuple[int, str, bytes]

CACHE_SECONDS = 86400  # the longest a resolver keeps a record, whatever its TTLs say
_INDEX = attrgetter("index")
_ANSWER_HEAD = struct.Struct(">II")  # cache seconds, value count

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
# Packed heads (index to type name) and HS_ADMIN payloads, by what they are made of: a
# template's values share index, type, TTL and permissions, and a batch shares its timestamp,
# so on a cache miss most values of a record are looked up rather than packed anew.
_HEADS: dict[tuple[Any, ...], tuple[int, str, bool, bytes] | None] = {}
_ADMINS: dict[tuple[str, int, str], bytes] = {}
_MEMO = 4096


def _remember(memo: dict[Any, Any], key: object, value: object, size: int = _MEMO) -> None:
    """Keep ``value`` in a bounded memo; a full one starts over, so new moments get memoized.

    Every batch brings a new timestamp: a memo that stopped taking keys once full would leave a
    long-running server packing every value anew.
    """
    if len(memo) >= size:
        memo.clear()
    memo[key] = value


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
        _remember(_STAMPS, stamp, seconds, _STAMP_MEMO)  # a batch's values share one moment
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
            admin = _ADMINS.get((handle, index, bits))
            if admin is None:
                admin = encode_admin(AdminRef(handle, index, AdminPermission.from_bits(bits)))
                _remember(_ADMINS, (handle, index, bits), admin)
            return admin
    return None


def _head(
    index: object, type_: object, stamp: object, ttl: object, ttl_type: object, bits: object
) -> tuple[int, str, bool, bytes] | None:
    """Index, type, public read and the packed head up to the type name; ``None``: unusual."""
    permissions = _PERMISSIONS.get(bits) if isinstance(bits, str) else None
    if (
        not isinstance(type_, str)
        or not isinstance(index, int)
        or permissions is None
        or not isinstance(ttl, int)
        or ttl_type not in (0, 1)
    ):
        return None
    seconds = _seconds(stamp)
    if seconds is None:
        return None
    kind = type_.encode("utf-8")
    head = _HEAD.pack(index, seconds, ttl_type, ttl, permissions, len(kind)) + kind
    return index, type_, bool(permissions & 0x02), head


def stored_to_wire(raw: dict[str, Any]) -> tuple[int, str, bool, bytes]:
    """``(index, type, public read, wire bytes)`` of one stored value."""
    parts = (
        raw.get("index"),
        raw.get("type"),
        raw.get("timestamp"),
        raw.get("ttl", 86400),
        raw.get("ttlType", 0),
        raw.get("permissions", "1110"),
    )
    try:
        head = _HEADS[parts]
    except KeyError:
        head = _head(*parts)
        _remember(_HEADS, parts, head)
    except TypeError:  # something unhashable where a number or a string belongs
        head = None
    if head is not None and not raw.get("references"):
        index, type_, public, packed = head
        payload = _payload(type_, raw.get("data"))
        if payload is not None:
            return index, type_, public, packed + _U32.pack(len(payload)) + payload + _NO_REFERENCES
    value = value_from_stored(raw)
    return value.index, value.type, value.public_read, encode_value(value)


def public_wire(stored: list[dict[str, Any]]) -> list[WireValue]:
    """The values of a stored record anyone may read, encoded (never an HS_SECKEY)."""
    encoded = []
    for raw in stored:
        index, type_, public, wire = stored_to_wire(raw)
        if public and type_ != SECKEY_TYPE:
            encoded.append((index, type_, wire))
    return encoded


def wire_answer(stored: list[dict[str, Any]]) -> bytes | None:
    """What ``id_handles.wire`` keeps of a stored record; ``None`` when a TTL is absolute.

    The seconds the record may be cached (u32: its shortest TTL, at most ``CACHE_SECONDS``),
    then the public value count (u32) and the values as a RESOLUTION reply sends them. An
    absolute TTL's remaining life depends on when it is read: the resolver works it out.
    """
    shortest = CACHE_SECONDS
    for raw in stored:
        if raw.get("ttlType") == 1:
            return None
        shortest = min(shortest, int(raw.get("ttl", CACHE_SECONDS)))
    public = public_wire(stored)
    return _ANSWER_HEAD.pack(max(shortest, 0), len(public)) + b"".join(v[2] for v in public)


def stored_columns(
    values: list[HandleValue], *, at: datetime | None = None
) -> tuple[str, bytes | None]:
    """The ``record`` and ``wire`` columns of a row holding ``values`` (stamped ``at``)."""
    fast = _stored_columns_fast(values, at)
    if fast is not None:
        return fast
    stored = stored_values(values, at=at)
    return orjson.dumps(stored).decode("utf-8"), wire_answer(stored)


def _stored_columns_fast(
    values: list[HandleValue], at: datetime | None
) -> tuple[str, bytes | None] | None:
    """``stored_columns`` straight from the values; ``None`` when one takes the general path.

    The same text and bytes as ``stored_values`` + ``wire_answer`` (a test holds them equal),
    without the stored dicts being built and read back: a batch writes ten thousand values per
    call. Each value's JSON is its data's JSON between two memoized pieces (what comes before
    and after the data depends only on index, type, TTL, time and permissions, which a batch's
    values mostly share). Values with references, a VLIST or binary data, and absolute TTLs
    take the general path.
    """
    stamp_text = iso(at) if at is not None else None
    stored: list[bytes] = []
    public: list[bytes] = []
    shortest = CACHE_SECONDS
    for value in sorted(values, key=_INDEX):
        type_ = value.type
        if value.references or value.ttl_type or type_ == VLIST_TYPE:
            return None
        if type_ == ADMIN_TYPE:
            data, payload = _admin_stored(value.data)
        else:
            try:
                data = orjson.dumps(value.data.decode("utf-8"))
            except UnicodeDecodeError:
                return None
            payload = value.data
        if at is not None:
            stamp = stamp_text
        else:
            stamp = iso(value.timestamp) if value.timestamp is not None else None
        # The head stored_to_wire packs for this value's stored form, from the same memo.
        parts = (value.index, type_, stamp, value.ttl, 0, value.permission_bits)
        head = _HEADS.get(parts)
        if head is None:
            head = _head(*parts)
            _remember(_HEADS, parts, head)
        if head is None or payload is None:
            return None
        around = _AROUND.get(parts)
        if around is None:
            around = _around(parts)
            _remember(_AROUND, parts, around)
        stored.append(around[0] + data + around[1])
        shortest = min(shortest, value.ttl)
        if head[2] and type_ != SECKEY_TYPE:
            public.append(head[3] + _U32.pack(len(payload)) + payload + _NO_REFERENCES)
    answer = _ANSWER_HEAD.pack(shortest, len(public)) + b"".join(public)
    return (b"[" + b",".join(stored) + b"]").decode("utf-8"), answer


# By (index, type, time text, TTL, TTL type, permissions): a stored value's JSON before its data
# and after it, as orjson writes the whole value (compact, keys in the stored order).
_AROUND: dict[tuple[Any, ...], tuple[bytes, bytes]] = {}
_STRING_DATA = b'{"format":"string","value":'


def _around(parts: tuple[Any, ...]) -> tuple[bytes, bytes]:
    index, type_, stamp, ttl, _, bits = parts
    before = orjson.dumps({"index": index, "type": type_})[:-1] + b',"data":'
    if type_ != ADMIN_TYPE:
        before += _STRING_DATA
    tail: dict[str, Any] = {"ttl": ttl}
    if stamp is not None:
        tail["timestamp"] = stamp
    tail["permissions"] = bits
    after = b"," + orjson.dumps(tail)[1:]
    return before, (after if type_ == ADMIN_TYPE else b"}" + after)


@lru_cache(maxsize=256)  # a batch's identifiers share one HS_ADMIN value
def _admin_stored(data: bytes) -> tuple[bytes, bytes | None]:
    """HS_ADMIN data's stored JSON and its wire payload."""
    shown = admin_json(data)
    return orjson.dumps(shown), _payload(ADMIN_TYPE, shown)
