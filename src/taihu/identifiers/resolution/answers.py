"""What the resolver caches and answers: flat cache entries, their rendered REST and wire forms."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any, Final

import orjson

from taihu.identifiers.records import CACHE_SECONDS, WireValue, public_body, public_wire

__all__ = [
    "REST_FORM",
    "U32",
    "WIRE_FORM",
    "CachedRecord",
    "Entry",
    "PublicAnswer",
    "WireAnswer",
    "entry_bytes",
    "rendered",
    "ttl_seconds",
    "wire_answer_of",
]


@dataclass(frozen=True, slots=True)
class CachedRecord:
    """A resolved record: the stored values (REST JSON dicts, permissions included)."""

    handle: str
    prefix: str
    values: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class PublicAnswer:
    """What anyone may see of a record: the rendered Handle REST answer of its public values."""

    handle: str
    prefix: str
    body: bytes

    def values(self) -> list[dict[str, Any]]:
        """The public values (REST JSON dicts, as the body shows them)."""
        shown: list[dict[str, Any]] = orjson.loads(self.body)["values"]
        return shown


@dataclass(frozen=True, slots=True)
class WireAnswer:
    """What anyone may see of a record over the Handle protocol: its public values, encoded."""

    handle: str
    prefix: str
    record: str
    body: bytes  # the body of the anonymous RESOLUTION reply: handle, value count, values

    @property
    def encoded(self) -> bytes:
        """The value count (u32) then each public value, as a RESOLUTION reply sends them."""
        return self.body[4 + U32.unpack_from(self.body)[0] :]

    def values(self) -> list[WireValue]:
        """The public values one by one (for a request that asks for some types or indexes)."""
        return public_wire(orjson.loads(self.record))


# A cache entry, a flat tuple of atoms: (expires, handle, prefix, stored record, REST answer, wire
# answer); handle "": no such handle. Each answer is rendered when a resolution first asks for it
# (the JSON body for HTTP, the RESOLUTION reply body for the Handle protocol) and kept in the
# entry, so a node serving one protocol never renders the other; None until then. Only atoms, no
# nested tuples: the collector stops tracking such a tuple at the first collection it sees it in.
# A miss can cache an answer without the record (record ""): a plain UDP resolution the wire
# answer the database keeps, which only ``bodies_now``/``bodies`` use, an anonymous REST
# resolution the answer cut from the record's text (``spliced_body``), which only
# ``public``/``public_now`` use; to every other reader such an entry is a miss. Without the
# ~800-byte record an entry takes about half the memory.
Entry = tuple[float, str, str, str, bytes | None, bytes | None]
REST_FORM: Final = 4
U32 = struct.Struct(">I")
WIRE_FORM: Final = 5


# What an entry costs besides the characters and bytes it holds (CPython 3.11, 64-bit): the
# dict slot and its share of the table, the key's str object, the 6-tuple, the float, the
# handle's str object and two bytes objects' heads. Checked with tracemalloc in
# tests/identifiers/test_resolution_warm.py.
_ENTRY_OVERHEAD: Final = 320


def entry_bytes(key: str, entry: Entry) -> int:
    """About how much memory a cache entry takes (the cache's budget counts this)."""
    return (
        _ENTRY_OVERHEAD
        + len(key)
        + len(entry[1])
        + len(entry[3])
        + len(entry[4] or b"")
        + len(entry[5] or b"")
    )


def _wire_body(handle: str, values: list[dict[str, Any]]) -> bytes:
    public = public_wire(values)
    name = handle.encode("utf-8")
    count = U32.pack(len(public))
    return U32.pack(len(name)) + name + count + b"".join(value[2] for value in public)


def rendered(entry: Entry, form: int, values: list[dict[str, Any]] | None = None) -> Entry:
    """``entry`` with its ``form`` (``REST_FORM`` or ``WIRE_FORM``) rendered from ``values``.

    An entry kept without its record (an answer only) stays as it is.
    """
    if entry[form] is not None or not entry[1] or (values is None and not entry[3]):
        return entry
    if values is None:
        values = orjson.loads(entry[3])
    if form == REST_FORM:
        return (*entry[:4], public_body(entry[1], values), entry[5])
    return (*entry[:5], _wire_body(entry[1], values))


def wire_answer_of(entry: Entry) -> WireAnswer | None:
    """The Handle-protocol answer of an entry, if rendered."""
    encoded = entry[WIRE_FORM]
    return WireAnswer(entry[1], entry[2], entry[3], encoded) if encoded is not None else None


def ttl_seconds(values: list[dict[str, Any]], now: float) -> float:
    """How long a record may be cached: the shortest TTL among its values."""
    shortest = float(CACHE_SECONDS)
    for value in values:
        ttl = float(value.get("ttl", CACHE_SECONDS))
        if value.get("ttlType") == 1:
            ttl = ttl - now
        shortest = min(shortest, ttl)
    return max(shortest, 0.0)
