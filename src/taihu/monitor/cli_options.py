"""What the `taihu monitor` commands share: days on the command line, the baseline window."""

from __future__ import annotations

from datetime import date

import typer

from taihu.accounts import Principal
from taihu.core.commands import fail

__all__ = [
    "BASELINE_FROM",
    "BASELINE_TO",
    "SYSTEM",
    "baseline_window",
    "option_day",
    "required_day",
]

SYSTEM = Principal.system()


def option_day(text: str | None, option: str) -> date | None:
    """A day given as ``option`` (YYYY-MM-DD), or None; anything else fails the command."""
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f"{option}: {text!r} is not a date (YYYY-MM-DD)")


def required_day(text: str, option: str) -> date:
    """A day the command cannot do without."""
    day = option_day(text, option)
    assert day is not None
    return day


def baseline_window(start: str | None, end: str | None) -> tuple[date, date] | None:
    """The baseline window asked with --baseline-from and --baseline-to (both or neither)."""
    first, last = option_day(start, "--baseline-from"), option_day(end, "--baseline-to")
    if first is None and last is None:
        return None
    if first is None or last is None:
        fail("give both --baseline-from and --baseline-to, or neither")
    return first, last


BASELINE_FROM = typer.Option(
    None, "--baseline-from",
    help="First day of the baseline window (default: from the data, docs/monitor.md).",
)  # fmt: skip
BASELINE_TO = typer.Option(None, "--baseline-to", help="Last day of the baseline window.")
