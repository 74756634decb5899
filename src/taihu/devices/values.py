"""Telemetry and attribute values as devices send them, validated.

ThingsBoard accepts four telemetry shapes, and arrays of the last two::

    {"temperature": 21.5, "running": true}                     values now
    [{"temperature": 21.5}, {"speed": 1200}]                   several objects, now
    {"ts": 1764057600000, "values": {"temperature": 21.5}}     values at a time (ms)
    [{"ts": …, "values": {…}}, {"ts": …, "values": {…}}]       several times

An object without ``ts`` is stamped by the hub: the parsers take the first free millisecond the
hub reserved for the device (``now_ms``) and give each such object of a message the next one, so
two readings of a key never share a stamp (see ``untimed_entries`` and ``taihu.devices.stamps``).
A value is a number, a boolean, a string or a JSON object/array (stored as JSON text).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import orjson

from taihu.core.messages import N_, Message

__all__ = [
    "MAX_KEY_LENGTH",
    "MAX_STRING_LENGTH",
    "BadPayload",
    "Kind",
    "Point",
    "Row",
    "parse_attributes",
    "parse_json",
    "parse_telemetry",
    "point_rows",
    "stored_value",
    "telemetry_rows",
    "typed_value",
    "untimed_entries",
]

MAX_KEY_LENGTH = 255
MAX_STRING_LENGTH = 10_000
MAX_POINTS_PER_MESSAGE = 10_000
# Timestamps outside 2000-01-01 .. 2100-01-01 are mistakes (seconds for ms, or garbage).
_MIN_TS = 946_684_800_000
_MAX_TS = 4_102_444_800_000


class BadPayload(ValueError):
    """A payload that is not valid telemetry or attributes; ``message`` says why.

    Raised only on the refusal path: the message (an id with values, see
    ``taihu.core.messages``) is built for refused payloads, never for accepted ones. ``str()``
    is the English sentence the device is told (MQTT 5 reason string, HTTP error message).
    """

    def __init__(self, template: str, /, **params: object) -> None:
        self.message = Message(template, **params)
        super().__init__(self.message.render())


class Kind(IntEnum):
    """How a value is stored."""

    BOOL = 0
    LONG = 1
    DOUBLE = 2
    STRING = 3
    JSON = 4


@dataclass(frozen=True, slots=True)
class Point:
    """One value of one key at one time (ms since the epoch)."""

    key: str
    ts: int
    value: bool | int | float | str | dict[str, Any] | list[Any]

    @property
    def kind(self) -> Kind:
        """How the value is stored."""
        return _kind(self.value)

    @property
    def number(self) -> float | None:
        """The value as a number for rollups (booleans and numbers), else None."""
        v = self.value
        if isinstance(v, bool | int | float):
            return float(v)
        return None


def _kind(value: object) -> Kind:
    if isinstance(value, bool):
        return Kind.BOOL
    if isinstance(value, int):
        return Kind.LONG
    if isinstance(value, float):
        return Kind.DOUBLE
    if isinstance(value, str):
        return Kind.STRING
    return Kind.JSON


# A point as the store keeps it: (device id, key, ts, kind, num, txt). Ingest moves these plain
# tuples from the payload to the database, as they are bound to the INSERT: at ~100,000 points/s
# an object (and a conversion) per point is most of the cost.
Row = tuple[int, str, int, int, float | None, str | None]


def stored_value(point: Point) -> tuple[int, float | None, str | None]:
    """``(kind, num, txt)`` columns for a point."""
    kind = point.kind
    if kind in (Kind.BOOL, Kind.LONG, Kind.DOUBLE):
        return kind, float(point.value), None  # type: ignore[arg-type]
    if kind is Kind.STRING:
        return kind, None, point.value  # type: ignore[return-value]
    return kind, None, orjson.dumps(point.value).decode()


def typed_value(kind: int, num: float | None, txt: str | None) -> Any:
    """The value back from its ``(kind, num, txt)`` columns."""
    if kind == Kind.BOOL:
        return bool(num)
    if kind == Kind.LONG:
        return int(num or 0)
    if kind == Kind.DOUBLE:
        return num
    if kind == Kind.STRING:
        return txt
    return orjson.loads(txt or "null")


def parse_json(payload: bytes, *, limit: int) -> Any:
    """Decode JSON, refusing payloads over ``limit`` bytes."""
    if len(payload) > limit:
        raise BadPayload(N_("payload of {size} bytes exceeds the limit of {limit}"),
                         size=len(payload), limit=limit)  # fmt: skip
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise BadPayload(N_("payload is not valid JSON: {error}"), error=str(exc)) from None


def _check_key(key: object) -> str:
    if not isinstance(key, str) or not key.strip():
        raise BadPayload(N_("keys must be non-empty strings"))
    if len(key) > MAX_KEY_LENGTH:
        raise BadPayload(N_("key {key}… is longer than {limit} characters"), key=repr(key[:40]),
                         limit=MAX_KEY_LENGTH)  # fmt: skip
    return key


def _check_value(key: str, value: object) -> bool | int | float | str | dict[str, Any] | list[Any]:
    if value is None:
        raise BadPayload(N_("{key}: null is not a value"), key=key)
    if isinstance(value, float) and not math.isfinite(value):
        raise BadPayload(N_("{key}: {value} is not a finite number"), key=key, value=str(value))
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**63 - 1:
        raise BadPayload(N_("{key}: {value} does not fit in 64 bits"), key=key, value=str(value))
    if isinstance(value, str) and len(value) > MAX_STRING_LENGTH:
        raise BadPayload(N_("{key}: strings are limited to {limit} characters"), key=key,
                         limit=MAX_STRING_LENGTH)  # fmt: skip
    if isinstance(value, bool | int | float | str | dict | list):
        return value
    raise BadPayload(
        N_("{key}: unsupported value {value}"), key=key, value=repr(value)
    )  # pragma: no cover - JSON has no more


def _values(obj: dict[str, Any], ts: int, out: list[Point]) -> None:
    for key, value in obj.items():
        out.append(Point(_check_key(key), ts, _check_value(key, value)))


def _entry(entry: object, now_ms: int, out: list[Point]) -> bool:
    """Append an entry's points; whether it took the hub's stamp ``now_ms``."""
    if not isinstance(entry, dict):
        raise BadPayload(N_("expected a JSON object, got {kind}"), kind=type(entry).__name__)
    if "ts" in entry and "values" in entry:
        ts, values = entry["ts"], entry["values"]
        if isinstance(ts, bool) or not isinstance(ts, int):
            raise BadPayload(N_("ts must be integer milliseconds since the epoch, got {ts}"),
                             ts=repr(ts)[:40])  # fmt: skip
        if not _MIN_TS <= ts < _MAX_TS:
            raise BadPayload(N_("ts {ts} is not milliseconds between 2000 and 2100"), ts=ts)
        if not isinstance(values, dict):
            raise BadPayload(N_("values must be a JSON object of key: value"))
        _values(values, ts, out)
        return False
    _values(entry, now_ms, out)
    return True


def untimed_entries(document: Any) -> int:
    """How many objects of a decoded telemetry document carry no ``ts`` (the hub stamps them)."""
    if type(document) is dict:
        return 0 if "ts" in document and "values" in document else 1
    if type(document) is list:
        return sum(1 for e in document if not (type(e) is dict and "ts" in e and "values" in e))
    return 0


def parse_telemetry(document: Any, now_ms: int, step: int = 1) -> list[Point]:
    """The points of a decoded telemetry document in any of ThingsBoard's shapes.

    Objects without ``ts`` get ``now_ms``, ``now_ms + step``, … in order.
    """
    out: list[Point] = []
    entries = document if isinstance(document, list) else [document]
    for entry in entries:
        now_ms += step * _entry(entry, now_ms, out)
        if len(out) > MAX_POINTS_PER_MESSAGE:
            raise BadPayload(N_("more than {limit} data points in one message"),
                             limit=MAX_POINTS_PER_MESSAGE)  # fmt: skip
    if not out:
        raise BadPayload(N_("no values in the payload"))
    return out


def point_rows(device_id: int, points: Sequence[Point]) -> list[Row]:
    """The stored form of points of one device."""
    return [(device_id, p.key, p.ts, *stored_value(p)) for p in points]


_BOOL, _LONG, _DOUBLE, _STRING, _JSON = (int(k) for k in Kind)  # plain ints bind fastest


def _row(device_id: int, key: object, ts: int, value: object) -> Row:
    # The common cases first, by exact type; the rules are those of _check_key/_check_value.
    if type(key) is not str or not key or len(key) > MAX_KEY_LENGTH or key.isspace():
        _check_key(key)
    kind = type(value)
    if kind is float:
        if value - value == 0:  # type: ignore[operator] # false for inf and nan
            return (device_id, key, ts, _DOUBLE, value, None)  # type: ignore[return-value]
    elif kind is int:
        if -(2**63) < value < 2**63:  # type: ignore[operator]
            return (device_id, key, ts, _LONG, float(value), None)  # type: ignore[arg-type,return-value]
    elif kind is bool:
        return (device_id, key, ts, _BOOL, float(value), None)  # type: ignore[arg-type,return-value]
    elif kind is str:
        if len(value) <= MAX_STRING_LENGTH:  # type: ignore[arg-type]
            return (device_id, key, ts, _STRING, None, value)  # type: ignore[return-value]
    elif kind is dict or kind is list:
        return (device_id, key, ts, _JSON, None, orjson.dumps(value).decode())  # type: ignore[return-value]
    _check_value(key, value)  # type: ignore[arg-type] # raises with the reason
    raise BadPayload(
        N_("{key}: unsupported value {value}"), key=key, value=repr(value)
    )  # pragma: no cover


def telemetry_rows(document: Any, now_ms: int, device_id: int, step: int = 1) -> list[Row]:
    """What ``parse_telemetry`` finds, as rows of one device, checked by the same rules."""
    out: list[Row] = []
    entries = document if type(document) is list else [document]
    for entry in entries:
        if type(entry) is not dict:
            _entry(entry, now_ms, [])  # raises with the reason
        if "ts" in entry and "values" in entry:
            ts, values = entry["ts"], entry["values"]
            if type(ts) is not int or not _MIN_TS <= ts < _MAX_TS or type(values) is not dict:
                _entry(entry, now_ms, [])
        else:
            ts, values = now_ms, entry
            now_ms += step  # the next object without ts gets the next stamp
        out.extend([_row(device_id, k, ts, v) for k, v in values.items()])
        if len(out) > MAX_POINTS_PER_MESSAGE:
            raise BadPayload(N_("more than {limit} data points in one message"),
                             limit=MAX_POINTS_PER_MESSAGE)  # fmt: skip
    if not out:
        raise BadPayload(N_("no values in the payload"))
    return out


def parse_attributes(document: Any) -> dict[str, Any]:
    """Attribute updates from a decoded ``{key: value}`` document."""
    if not isinstance(document, dict):
        raise BadPayload(N_("attributes must be a JSON object of key: value"))
    if not document:
        raise BadPayload(N_("no attributes in the payload"))
    return {_check_key(k): _check_value(k, v) for k, v in document.items()}
