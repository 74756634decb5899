"""The life of a blocker case (collect → assign → supervise → report back), as pure rules.

    record ──► open ──assign──► assigned ──start──► in_progress ──close──► closed
                 ▲                 │  ▲                 │                    │
                 └─────────────────┘  └──reassign───────┘        reopen ─────┘ (to in_progress)

``assign`` needs an officer and a deadline and may be repeated (reassignment) until the case is
closed; ``close`` needs the report-back (what was done, what the enterprise says); ``comment``
is allowed in every state but closed. A case is overdue when it is not closed and its deadline
has passed.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from taihu.core import N_, Conflict, InvalidInput

__all__ = ["Action", "Category", "State", "is_overdue", "next_state"]


class Category(StrEnum):
    """What blocks the enterprise."""

    SUPPLIER = "supplier"
    LOGISTICS = "logistics"
    LABOUR = "labour"
    FUNDS = "funds"
    OTHER = "other"


class State(StrEnum):
    """Where a case stands."""

    OPEN = "open"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    CLOSED = "closed"


class Action(StrEnum):
    """What can be done to a case after it is recorded."""

    ASSIGN = "assign"
    START = "start"
    COMMENT = "comment"
    CLOSE = "close"
    REOPEN = "reopen"


_MOVES: dict[Action, tuple[frozenset[State], State | None]] = {
    Action.ASSIGN: (frozenset({State.OPEN, State.ASSIGNED, State.IN_PROGRESS}), State.ASSIGNED),
    Action.START: (frozenset({State.ASSIGNED}), State.IN_PROGRESS),
    Action.COMMENT: (frozenset({State.OPEN, State.ASSIGNED, State.IN_PROGRESS}), None),
    Action.CLOSE: (frozenset({State.ASSIGNED, State.IN_PROGRESS}), State.CLOSED),
    Action.REOPEN: (frozenset({State.CLOSED}), State.IN_PROGRESS),
}


def next_state(
    state: State,
    action: Action,
    *,
    officer: str | None = None,
    deadline: date | None = None,
    comment: str = "",
) -> State:
    """The state after ``action``, or ``Conflict``/``InvalidInput`` when it is not allowed."""
    allowed, target = _MOVES[action]
    if state not in allowed:
        raise Conflict(N_("cannot {action} a case that is {state}"), code="bad_case_state",
                       action=action.value, state=state.value)  # fmt: skip
    if action is Action.ASSIGN and (not officer or deadline is None):
        raise InvalidInput(N_("assigning needs an officer and a deadline"), code="bad_assignment")
    if action is Action.CLOSE and not comment.strip():
        raise InvalidInput(N_("closing needs the report-back"), code="report_back_required")
    if action is Action.COMMENT and not comment.strip():
        raise InvalidInput(N_("the comment is empty"), code="empty_comment")
    return target or state


def is_overdue(state: State | str, deadline: date | None, today: date) -> bool:
    """Whether a case is past its deadline and still not closed."""
    return state != State.CLOSED and deadline is not None and deadline < today
