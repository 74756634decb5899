"""Why a draft's figures could not be read: messages kept with the run, read in any language.

A problem is stored in the run's JSON as ``{"id": …, "params": {…}}``; a value that is itself a
message (the figure's own refusal) is nested as ``{"message": {…}}``. Drafts generated before
problems were messages hold English sentences: those are shown as written.
"""

from __future__ import annotations

from typing import Any

from taihu.core import N_, Message, TaihuError
from taihu.reporting.models import ReportRun

__all__ = [
    "problem_json",
    "problem_of",
    "region_overflow",
    "run_problems",
    "unknown_figure",
    "unreadable_figure",
]


def unknown_figure(where: str, figure: str) -> Message:
    """A binding names a figure the catalogue no longer has."""
    return Message(N_("{where} {figure}: unknown figure"), where=where, figure=figure)


def unreadable_figure(where: str, figure: str, error: TaihuError) -> Message:
    """The figure refused to be read for the period (its own reason nested)."""
    reason = Message(error.template, **error.details)
    return Message(N_("{where} {figure}: {reason}"), where=where, figure=figure, reason=reason)


def region_overflow(where: str, figure: str, rows: int, room: int) -> Message:
    """A table figure has more rows than its bound region (the rest is left out)."""
    return Message(
        N_("{where} {figure}: {rows} rows, the region holds {room}"),
        where=where,
        figure=figure,
        rows=rows,
        room=room,
    )


def problem_json(message: Message) -> dict[str, Any]:
    """A problem as the run's JSON keeps it."""
    params = {
        key: {"message": problem_json(value)} if isinstance(value, Message) else _plain(value)
        for key, value in message.params.items()
    }
    return {"id": message.id, "params": params}


def problem_of(stored: object) -> Message:
    """A kept problem as a message (an older draft's English sentence as written)."""
    if not isinstance(stored, dict) or "id" not in stored:
        return Message(str(stored))
    params = {
        key: problem_of(value["message"]) if _nested(value) else value
        for key, value in dict(stored.get("params") or {}).items()
    }
    return Message(str(stored["id"]), **params)


def run_problems(run: ReportRun) -> list[Message]:
    """A run's problems as messages."""
    return [problem_of(p) for p in run.problems or []]


def _nested(value: object) -> bool:
    return isinstance(value, dict) and "message" in value


def _plain(value: object) -> object:
    # A refusal's details may hold dates or decimals; the run's JSON keeps their text.
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)
