"""Report strategies: which readings of a key are kept and sent.

- ``always``: every reading.
- ``on_change``: a reading whose value differs from the last one reported.
- ``on_period``: at most one reading per ``period`` (the first after it has passed).
- ``on_change_or_period``: a changed value, or an unchanged one once ``period`` has passed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from taihu.edge.config import Report

__all__ = ["ReportFilter"]


@dataclass(slots=True)
class ReportFilter:
    """Remembers, per (device, key), the last reported value and when it was reported."""

    _last: dict[tuple[str, str], tuple[Any, float]] = field(default_factory=dict)

    def wanted(self, device: str, key: str, value: Any, now: float, report: Report) -> bool:
        """Whether this reading is reported; ``now`` is monotonic seconds."""
        previous = self._last.get((device, key))
        if previous is None or report.strategy == "always":
            keep = True
        else:
            changed = previous[0] != value or type(previous[0]) is not type(value)
            due = now - previous[1] >= report.period
            keep = {
                "on_change": changed,
                "on_period": due,
                "on_change_or_period": changed or due,
            }[report.strategy]
        if keep:
            self._last[(device, key)] = (value, now)
        return keep
