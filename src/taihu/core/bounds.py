"""Bounds for every integer an API takes, so no value outside the database's range gets in.

An id of 2^63 used to reach the driver and end in a 500 (SQLite holds 64 bits). Row ids are
``INTEGER`` columns, 32 bits on PostgreSQL, so ``Id`` stops at 2^31 - 1. Other integers (offsets,
counts) stop at 2^53 - 1 rather than 2^63 - 1: OpenAPI tools (and JavaScript) read a schema's
``maximum`` as a double, which holds 2^53 - 1 exactly but rounds 2^63 - 1 up to 2^63. The
annotated types work as path, query and body fields alike.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from annotated_types import Interval

__all__ = ["MAX_ID", "MAX_INT", "MAX_MILLIS", "Id", "Millis", "parse_bounded"]

MAX_ID = 2**31 - 1
MAX_INT = 2**53 - 1
# Epoch milliseconds of the last moment a datetime can hold (9999-12-31 23:59:59.999 UTC).
MAX_MILLIS = int(datetime(9999, 12, 31, 23, 59, 59, 999_000, tzinfo=UTC).timestamp() * 1000)

Id = Annotated[int, Interval(ge=1, le=MAX_ID)]
"""A row id: 1 to ``MAX_ID``."""

Millis = Annotated[int, Interval(ge=0, le=MAX_MILLIS)]
"""A moment as milliseconds since the Unix epoch, up to the end of year 9999."""


def parse_bounded(text: str, low: int, high: int) -> int | None:
    """``text`` as a decimal integer within ``low``..``high``, or None (hand-parsed queries)."""
    if not text.isascii() or not text.isdigit() or len(text) > len(str(high)):
        return None
    value = int(text)
    return value if low <= value <= high else None
