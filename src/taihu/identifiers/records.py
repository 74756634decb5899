"""A handle record's stored form: the JSON text of its values, read and written in one place."""

from __future__ import annotations

from datetime import datetime
from operator import attrgetter

import orjson

from taihu.identifiers.handle_json import value_from_json, value_to_json
from taihu.identifiers.handle_values import HandleValue

__all__ = ["dump_record", "load_record", "value_from_stored"]

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


def dump_record(values: list[HandleValue], *, at: datetime | None = None) -> str:
    """The stored form of values (sorted by index, REST JSON shape, permissions always given).

    With ``at``, every value is written with that timestamp (a write stamps all its values).
    """
    out = []
    for value in sorted(values, key=_INDEX):
        raw = value_to_json(value, at=at)
        raw["permissions"] = value.permission_bits
        out.append(raw)
    return orjson.dumps(out).decode("utf-8")
