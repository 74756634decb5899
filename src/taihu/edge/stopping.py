"""Stopping the gateway's tasks so that a stop always ends, whatever a device library does."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

__all__ = ["cancel_all"]

# How long a cancelled task gets before it is cancelled again.
_GRACE = 1.0


async def cancel_all(tasks: Iterable[asyncio.Task[Any]]) -> None:
    """Cancel the tasks and wait until every one has ended, cancelling again where needed."""
    # Python 3.11's asyncio.wait_for (inside pymodbus and asyncua) returns a result, or turns
    # the cancellation into its own TimeoutError, when both arrive at once: the task runs on.
    # Asking again ends it; one request and an unbounded wait hung the gateway's stop.
    tasks = list(tasks)
    pending = {task for task in tasks if not task.done()}
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=_GRACE)
    for task in tasks:
        if not task.cancelled():
            task.exception()  # read: a failure while stopping is not "never retrieved"
