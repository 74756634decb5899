"""One way to write a date and a time per language, always in the district's time zone.

    zh_CN   2026-12-06 14:05      2026-12-06
    en      6 Dec 2026, 14:05     6 Dec 2026

``static/taihu.js`` writes live values the same way (``taihuTime``), from the zone and language
the page declares (``<body data-zone>``, ``<html lang>``).

Date inputs are text fields in the same form (``<input type="date">`` would follow the browser's
locale, not the page's); ``read_day`` reads what a person types in either language's form.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, tzinfo

from taihu.core import N_, Message
from taihu.web.i18n import current_language

__all__ = ["SAMPLE_DAY", "not_a_day", "read_day", "when"]

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
SAMPLE_DAY = date(2026, 4, 29)  # the example a date field shows (in the page language's form)

# 2026-12-06, 2026-12-6, 2026/12/06, 2026.12.06, 2026年12月6日
_YMD = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
# 6 Dec 2026, 06 December 2026, 6 Dec. 2026
_DMY = re.compile(r"(\d{1,2})\s+([A-Za-z]{3,9})\.?,?\s+(\d{4})")
# Dec 6, 2026 (the American order, spelled out so it cannot be mistaken)
_MDY = re.compile(r"([A-Za-z]{3,9})\.?\s+(\d{1,2}),?\s+(\d{4})")
_FULL = ("january", "february", "march", "april", "may", "june", "july", "august",
         "september", "october", "november", "december")  # fmt: skip


def _month(name: str) -> int | None:
    name = name.lower()
    for number, full in enumerate(_FULL, 1):
        if name == full or name == full[:3] or (name == "sept" and number == 9):
            return number
    return None


def read_day(text: str | None) -> date | None:
    """The day typed in a date field, in either language's form; None when it is not one.

    Numbers go year first (2026-12-06, 2026年12月6日); a day before its month needs the month's
    name (6 Dec 2026), so 06/12/2026 is never read (it means different days to different readers).
    """
    text = (text or "").strip()
    if not text or len(text) > 32:
        return None
    numbers: tuple[int, int | None, int] | None = None
    if found := _YMD.fullmatch(text):
        numbers = int(found[1]), int(found[2]), int(found[3])
    elif found := _DMY.fullmatch(text):
        numbers = int(found[3]), _month(found[2]), int(found[1])
    elif found := _MDY.fullmatch(text):
        numbers = int(found[3]), _month(found[1]), int(found[2])
    if numbers is None or numbers[1] is None:
        return None
    try:
        return date(numbers[0], numbers[1], numbers[2])
    except ValueError:  # 2026-02-30
        return None


def not_a_day(field: str) -> Message:
    """What a date field holding no date says: which field, and a day as the page writes it."""
    example = when(SAMPLE_DAY, UTC, current_language.get())
    return Message(N_("{field} is not a date: write it as {example}"), field=Message(field),
                   example=example)  # fmt: skip


def when(value: datetime | date | str | None, zone: tzinfo, language: str) -> str:
    """A date or aware date-time (or its ISO text) as the page language writes it, in ``zone``."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str):  # a timeline step kept as JSON holds ISO text
        text = value
        try:
            value = datetime.fromisoformat(text) if "T" in text else date.fromisoformat(text)
        except ValueError:
            return text
    if isinstance(value, datetime):
        local = value.astimezone(zone)
        clock = f"{local.hour:02d}:{local.minute:02d}"
        day: date = local.date()
    else:
        clock, day = "", value
    if language == "en":
        text = f"{day.day} {_MONTHS[day.month - 1]} {day.year}"
        return f"{text}, {clock}" if clock else text
    text = day.isoformat()
    return f"{text} {clock}" if clock else text
