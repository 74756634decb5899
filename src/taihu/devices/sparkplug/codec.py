"""The Sparkplug B payload (protobuf, written from the Sparkplug 3.0 specification) and topics.

    Payload  1 timestamp uint64 · 2 metrics repeated Metric · 3 seq uint64 · 4 uuid · 5 body
    Metric   1 name · 2 alias uint64 · 3 timestamp uint64 · 4 datatype uint32
             5 is_historical · 6 is_transient · 7 is_null · 8 metadata · 9 properties
             10 int_value uint32 · 11 long_value uint64 · 12 float · 13 double · 14 boolean
             15 string · 16 bytes · 17 dataset · 18 template · 19 extension
    Template 1 version · 2 metrics repeated Metric · 3 parameters · 4 template_ref · 5 is_definition

Signed integers travel as two's complement of their own width (Int8 -1 is 255, Int64 -1 is
2**64-1); DateTime is milliseconds since the epoch in long_value. Metadata, property sets,
data sets and extensions are skipped on reading: what Taihu keeps has no use for them.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

__all__ = [
    "NAMESPACE",
    "BadSparkplug",
    "DataType",
    "Metric",
    "Payload",
    "Template",
    "Topic",
    "decode_payload",
    "encode_payload",
    "parse_topic",
]

NAMESPACE = "spBv1.0"
_KINDS = {"NBIRTH", "NDEATH", "NDATA", "NCMD", "DBIRTH", "DDEATH", "DDATA", "DCMD"}


class BadSparkplug(ValueError):
    """A payload or topic that is not Sparkplug B."""


class DataType(IntEnum):
    """Sparkplug B data types (the scalar ones and templates are read and written)."""

    UNKNOWN = 0
    INT8 = 1
    INT16 = 2
    INT32 = 3
    INT64 = 4
    UINT8 = 5
    UINT16 = 6
    UINT32 = 7
    UINT64 = 8
    FLOAT = 9
    DOUBLE = 10
    BOOLEAN = 11
    STRING = 12
    DATETIME = 13
    TEXT = 14
    UUID = 15
    DATASET = 16
    BYTES = 17
    FILE = 18
    TEMPLATE = 19


_SIGNED_BITS = {DataType.INT8: 8, DataType.INT16: 16, DataType.INT32: 32, DataType.INT64: 64}
_UNSIGNED_BITS = {DataType.UINT8: 8, DataType.UINT16: 16, DataType.UINT32: 32, DataType.UINT64: 64}
_INT_FIELD = {DataType.INT8, DataType.INT16, DataType.INT32, DataType.UINT8, DataType.UINT16,
              DataType.UINT32}  # fmt: skip
_LONG_FIELD = {DataType.INT64, DataType.UINT64, DataType.DATETIME}
_TEXT_FIELD = {DataType.STRING, DataType.TEXT, DataType.UUID}
_BYTES_FIELD = {DataType.BYTES, DataType.FILE}


@dataclass(frozen=True, slots=True)
class Template:
    """A template instance or definition (parameters are not kept)."""

    metrics: tuple[Metric, ...] = ()
    version: str | None = None
    template_ref: str | None = None
    is_definition: bool = False


@dataclass(frozen=True, slots=True)
class Metric:
    """One metric; ``value`` is None when ``is_null`` (or of a type not read)."""

    name: str | None = None
    value: Any = None
    datatype: int = DataType.UNKNOWN
    alias: int | None = None
    timestamp: int | None = None
    is_historical: bool = False
    is_transient: bool = False
    is_null: bool = False


@dataclass(frozen=True, slots=True)
class Payload:
    """A Sparkplug B payload."""

    timestamp: int | None = None
    metrics: tuple[Metric, ...] = ()
    seq: int | None = None
    uuid: str | None = None
    body: bytes | None = None

    def metric(self, name: str) -> Metric | None:
        """The first metric of that name."""
        return next((m for m in self.metrics if m.name == name), None)


@dataclass(frozen=True, slots=True)
class Topic:
    """``spBv1.0/<group>/<kind>/<edge node>[/<device>]``."""

    group_id: str
    kind: str
    edge_node_id: str
    device_id: str | None = None

    def __str__(self) -> str:
        parts = [NAMESPACE, self.group_id, self.kind, self.edge_node_id]
        return "/".join([*parts, self.device_id] if self.device_id is not None else parts)


def parse_topic(topic: str) -> Topic:
    """The parts of a Sparkplug topic; BadSparkplug for anything else (STATE included)."""
    parts = topic.split("/")
    if len(parts) not in (4, 5) or parts[0] != NAMESPACE or parts[2] not in _KINDS:
        raise BadSparkplug(f"not a Sparkplug B edge topic: {topic[:200]!r}")
    if any(not p for p in parts):
        raise BadSparkplug(f"empty element in topic {topic[:200]!r}")
    device = parts[4] if len(parts) == 5 else None
    if (device is None) != parts[2].startswith("N"):
        raise BadSparkplug(f"{parts[2]} with the wrong number of topic elements")
    return Topic(parts[1], parts[2], parts[3], device)


# -- protobuf wire format ------------------------------------------------------------------------


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        bits = value & 0x7F
        value >>= 7
        if value:
            out.append(bits | 0x80)
        else:
            out.append(bits)
            return bytes(out)


def _key(number: int, wire: int) -> bytes:
    return _varint(number << 3 | wire)


def _uint(number: int, value: int) -> bytes:
    return _key(number, 0) + _varint(value)


def _len(number: int, data: bytes) -> bytes:
    return _key(number, 2) + _varint(len(data)) + data


def _fields(data: bytes) -> list[tuple[int, int, Any]]:
    """(number, wire type, value) of each field; lengths checked."""
    out: list[tuple[int, int, Any]] = []
    pos, end = 0, len(data)
    while pos < end:
        key, pos = _read_varint(data, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise BadSparkplug("field number 0")
        value: int | bytes
        if wire == 0:
            value, pos = _read_varint(data, pos)
        elif wire == 1:
            value, pos = data[pos : pos + 8], pos + 8
        elif wire == 5:
            value, pos = data[pos : pos + 4], pos + 4
        elif wire == 2:
            size, pos = _read_varint(data, pos)
            value, pos = data[pos : pos + size], pos + size
        else:
            raise BadSparkplug(f"unsupported wire type {wire}")
        if pos > end:
            raise BadSparkplug("truncated payload")
        out.append((number, wire, value))
    return out


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data):
            raise BadSparkplug("truncated varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value & 0xFFFF_FFFF_FFFF_FFFF, pos
        shift += 7
        if shift >= 70:
            raise BadSparkplug("varint too long")


# -- encoding --------------------------------------------------------------------------------------


def encode_payload(payload: Payload) -> bytes:
    """The protobuf bytes of a payload."""
    out = bytearray()
    if payload.timestamp is not None:
        out += _uint(1, payload.timestamp)
    for metric in payload.metrics:
        out += _len(2, _encode_metric(metric))
    if payload.seq is not None:
        out += _uint(3, payload.seq)
    if payload.uuid is not None:
        out += _len(4, payload.uuid.encode())
    if payload.body is not None:
        out += _len(5, payload.body)
    return bytes(out)


def _encode_metric(metric: Metric) -> bytes:
    out = bytearray()
    if metric.name is not None:
        out += _len(1, metric.name.encode())
    if metric.alias is not None:
        out += _uint(2, metric.alias)
    if metric.timestamp is not None:
        out += _uint(3, metric.timestamp)
    if metric.datatype:
        out += _uint(4, metric.datatype)
    for number, flag in ((5, metric.is_historical), (6, metric.is_transient)):
        if flag:
            out += _uint(number, 1)
    if metric.is_null or metric.value is None:
        return bytes(out + _uint(7, 1))
    return bytes(out + _encode_value(DataType(metric.datatype), metric.value))


def _encode_value(kind: DataType, value: Any) -> bytes:  # noqa: PLR0911 - one per field
    if kind == DataType.UNKNOWN:  # a data message may leave the type to the birth
        kind = _untyped(value)
    if kind in _SIGNED_BITS or kind in _UNSIGNED_BITS:
        bits = _SIGNED_BITS.get(kind) or _UNSIGNED_BITS[kind]
        low, high = (-(2 ** (bits - 1)), 2 ** (bits - 1)) if kind in _SIGNED_BITS else (0, 2**bits)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value < high:
            raise BadSparkplug(f"{value!r} is not a {kind.name}")
        return _uint(10 if kind in _INT_FIELD else 11, value % 2**bits)
    if kind == DataType.DATETIME:
        return _uint(11, int(value))
    if kind == DataType.FLOAT:
        return _key(12, 5) + struct.pack("<f", float(value))
    if kind == DataType.DOUBLE:
        return _key(13, 1) + struct.pack("<d", float(value))
    if kind == DataType.BOOLEAN:
        return _uint(14, 1 if value else 0)
    if kind in _TEXT_FIELD:
        return _len(15, str(value).encode())
    if kind in _BYTES_FIELD:
        return _len(16, bytes(value))
    if kind == DataType.TEMPLATE and isinstance(value, Template):
        return _len(18, _encode_template(value))
    raise BadSparkplug(f"cannot encode a {kind.name} metric")


def _untyped(value: Any) -> DataType:
    """The field a value without a data type travels in."""
    if isinstance(value, bool):
        return DataType.BOOLEAN
    if isinstance(value, int):
        return DataType.INT64 if value < 0 else DataType.UINT64
    if isinstance(value, float):
        return DataType.DOUBLE
    if isinstance(value, bytes):
        return DataType.BYTES
    if isinstance(value, Template):
        return DataType.TEMPLATE
    return DataType.STRING


def _encode_template(template: Template) -> bytes:
    out = bytearray()
    if template.version is not None:
        out += _len(1, template.version.encode())
    for metric in template.metrics:
        out += _len(2, _encode_metric(metric))
    if template.template_ref is not None:
        out += _len(4, template.template_ref.encode())
    if template.is_definition:
        out += _uint(5, 1)
    return bytes(out)


# -- decoding --------------------------------------------------------------------------------------


def decode_payload(data: bytes) -> Payload:
    """A payload from protobuf bytes; BadSparkplug when they are not one."""
    timestamp = seq = None
    uuid: str | None = None
    body: bytes | None = None
    metrics: list[Metric] = []
    for number, wire, value in _fields(data):
        if number == 1 and wire == 0:
            timestamp = value
        elif number == 2 and wire == 2:
            metrics.append(_decode_metric(value))
        elif number == 3 and wire == 0:
            seq = value
        elif number == 4 and wire == 2:
            uuid = _text(value)
        elif number == 5 and wire == 2:
            body = bytes(value)
    return Payload(timestamp, tuple(metrics), seq, uuid, body)


def _text(value: bytes) -> str:
    try:
        return bytes(value).decode()
    except UnicodeDecodeError:
        raise BadSparkplug("a string field is not UTF-8") from None


@dataclass(slots=True)
class _MetricDraft:
    fields: dict[str, Any] = field(default_factory=dict)
    raw: dict[int, tuple[int, Any]] = field(default_factory=dict)


def _decode_metric(data: bytes) -> Metric:
    draft = _MetricDraft()
    names = {1: "name", 2: "alias", 3: "timestamp", 4: "datatype", 5: "is_historical",
             6: "is_transient", 7: "is_null"}  # fmt: skip
    for number, wire, value in _fields(data):
        if number in names:
            draft.fields[names[number]] = _text(value) if number == 1 else value
        elif 10 <= number <= 19:
            draft.raw[number] = (wire, value)
    f = draft.fields
    for flag in ("is_historical", "is_transient", "is_null"):
        f[flag] = bool(f.get(flag, 0))
    kind = f.get("datatype", 0)
    if not f["is_null"] and draft.raw:
        f["value"] = _decode_value(kind, draft.raw)
    return Metric(**f)


def _decode_value(kind: int, raw: dict[int, tuple[int, Any]]) -> Any:  # noqa: PLR0911
    """The value for a data type; without a known type, whatever field is present."""
    number, (wire, value) = next(iter(raw.items()))
    integral = kind in _SIGNED_BITS or kind in _UNSIGNED_BITS or kind == DataType.DATETIME
    if integral and wire != 0:
        raise BadSparkplug(f"a {DataType(kind).name} metric without an integer value")
    if kind in _SIGNED_BITS:
        bits = _SIGNED_BITS[DataType(kind)]
        value &= (1 << bits) - 1  # also reads senders that sign-extend to 32 bits
        return value - (1 << bits) if value >> (bits - 1) else value
    if kind in _UNSIGNED_BITS or kind == DataType.DATETIME:
        return int(value)
    if number == 12 and wire == 5:
        return struct.unpack("<f", value)[0]
    if number == 13 and wire == 1:
        return struct.unpack("<d", value)[0]
    if number == 14:
        return bool(value)
    if number == 15:
        return _text(value)
    if number == 16:
        return bytes(value)
    if number == 18 and wire == 2:
        return _decode_template(value)
    if number in (10, 11) and wire == 0:
        return int(value)
    return None  # a data set or an extension: not read


def _decode_template(data: bytes) -> Template:
    version = ref = None
    definition = False
    metrics: list[Metric] = []
    for number, wire, value in _fields(data):
        if number == 1 and wire == 2:
            version = _text(value)
        elif number == 2 and wire == 2:
            metrics.append(_decode_metric(value))
        elif number == 4 and wire == 2:
            ref = _text(value)
        elif number == 5 and wire == 0:
            definition = bool(value)
    return Template(tuple(metrics), version, ref, definition)
