"""Reading a number a person typed in a power file, refusing what could be read two ways.

Accepted: ASCII digits with an optional dot decimal (``1234``, ``1234.5``), a comma as the
thousands separator only in groups of three with a dot decimal (``1,234`` and ``1,234.5``), and
an exponent as spreadsheets write small or large values (``1.5e-05``). Refused, each with its own
message: a comma that could be a decimal comma (``12,5``, ``1.234,5``), anything else that is not
such a number (``1_000``, ``1 234``, full-width digits), ``nan``/``inf``, and negative values.
Kept apart from the importer so a shared tabular reader can take it as it is.
"""

from __future__ import annotations

import math
import re

from taihu.core import N_, InvalidInput

__all__ = ["parse_kwh"]

_PLAIN = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_GROUPED = re.compile(r"[+-]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?")
_NOT_FINITE = re.compile(r"[+-]?(?:nan|inf|infinity)", re.IGNORECASE)


def parse_kwh(text: str, limit: float) -> float:
    """A day's use in kWh from a cell's text: finite, not negative, at most ``limit``."""
    raw = text.strip()
    if _PLAIN.fullmatch(raw):
        value = float(raw)
    elif _GROUPED.fullmatch(raw):
        value = float(raw.replace(",", ""))
    elif _NOT_FINITE.fullmatch(raw):
        raise InvalidInput(N_("{value} is not a finite number"), code="bad_number", value=raw)
    elif "," in raw and re.fullmatch(r"[+-]?[0-9.,]+", raw):
        raise InvalidInput(
            N_("{value} is ambiguous: a comma is read only as a thousands separator, in groups "
               "of three before a dot decimal (1,234.5); write decimals with a dot"),
            code="bad_number", value=raw,
        )  # fmt: skip
    else:
        raise InvalidInput(N_("{value} is not a number"), code="bad_number", value=raw)
    if not math.isfinite(value):  # e.g. 1e999
        raise InvalidInput(N_("{value} is not a finite number"), code="bad_number", value=raw)
    if value < 0:
        raise InvalidInput(N_("daily use cannot be negative ({value})"), code="bad_number",
                           value=raw)  # fmt: skip
    if value > limit:
        raise InvalidInput(
            N_("{kwh} kWh in a day is above the limit of {limit}"), code="bad_number",
            kwh=round(value), limit=round(limit),
        )  # fmt: skip
    return value
