"""What the bureau's reporting routes share: the refusals they document, the day they count from."""

from __future__ import annotations

from datetime import date
from typing import Any

from taihu.accounts import ERROR_RESPONSES
from taihu.core import Runtime

__all__ = ["NOT_FOUND", "bureau_today", "refused_in_state"]

NOT_FOUND: dict[int | str, dict[str, Any]] = {**ERROR_RESPONSES, 404: {"description": "Not found"}}


def refused_in_state(description: str) -> dict[int | str, dict[str, Any]]:
    """The not-found refusals and a 409 for a step the thing's state does not allow."""
    return {**NOT_FOUND, 409: {"description": description}}


def bureau_today(runtime: Runtime) -> date:
    """Today in the console's zone: the day report and data periods fall due by."""
    return runtime.clock.now().astimezone(runtime.settings.console.zone).date()
