"""A handle record's stored form: the JSON text of its values, read and written in one place."""

from __future__ import annotations

from datetime import datetime
from operator import attrgetter
from typing import Any

import orjson

from taihu.identifiers.handle import HandleValue
from taihu.identifiers.records.json_values import value_from_json, value_to_json

__all__ = ["dump_record", "load_record", "stored_values", "value_from_stored"]

_INDEX = attrgetter("index")


def _stamp(raw: dict[str, object]) -> datetime | None:
    stamp = raw.get("timestamp")
    if isinstance(stamp, str):
        return datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return None


def value_from_stored(raw: dict[str, object]) -> HandleValue:
    """One value of a stored record, as parsed JSON (the resolver cache keeps that form)."""
    return value_from_json(raw, timestamp=_stamp(raw))


def load_record(text: str) -> list[HandleValue]:
    """The values of a stored record, in index order."""
    return [value_from_stored(raw) for raw in orjson.loads(text)]


def stored_values(values: list[HandleValue], *, at: datetime | None = None) -> list[dict[str, Any]]:
    """The stored form of values, parsed: sorted by index, REST JSON shape, permissions given.

    With ``at``, every value is written with that timestamp (a write stamps all its values).
    """
    out = []
    for value in sorted(values, key=_INDEX):
        raw = value_to_json(value, at=at)
        raw["permissions"] = value.permission_bits
        out.append(raw)
    return out


def dump_record(values: list[HandleValue], *, at: datetime | None = None) -> str:
    """The stored form of values as the JSON text of the record (see ``stored_values``)."""
    return orjson.dumps(stored_values(values, at=at)).decode("utf-8")
