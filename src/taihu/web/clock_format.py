"""One way to write a date and a time per language, always in the district's time zone.

    zh_CN   2026-12-06 14:05      2026-12-06
    en      6 Dec 2026, 14:05     6 Dec 2026

``static/taihu.js`` writes live values the same way (``taihuTime``), from the zone and language
the page declares (``<body data-zone>``, ``<html lang>``).
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo

__all__ = ["when"]

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


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
