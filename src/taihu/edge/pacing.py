"""Pacing to advertised rate limits, and jittered exponential backoff.

Limits come in ThingsBoard's ``capacity:seconds,…`` form. The gateway keeps below them by
waiting before a message, so a replay after an outage never bursts into the hub's
"quota exceeded" (MQTT 5 PUBACK 0x97).
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field

__all__ = ["Backoff", "Pace", "parse_limits"]


def parse_limits(text: str) -> list[tuple[int, float]]:
    """``"100:1,3000:60"`` → [(100, 1.0), (3000, 60.0)]; empty or malformed parts are ignored."""
    limits = []
    for part in (text or "").split(","):
        capacity, _, seconds = part.strip().partition(":")
        if capacity.isdigit() and seconds.isdigit() and int(capacity) > 0 and int(seconds) > 0:
            limits.append((int(capacity), float(seconds)))
    return limits


@dataclass(slots=True)
class Pace:
    """Token buckets, one per limit; ``wait(n)`` returns when ``n`` tokens fit in every one.

    The buckets start a little below full: the hub's buckets may not be full either (this
    connection replaces one that was just sending).
    """

    limits: list[tuple[int, float]]
    margin: float = 0.9
    _tokens: list[float] = field(default_factory=list)
    _at: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self._tokens = [0.5 * c * self.margin for c, _ in self.limits]

    def _refill(self) -> None:
        now = time.monotonic()
        elapsed, self._at = now - self._at, now
        for i, (capacity, seconds) in enumerate(self.limits):
            cap = capacity * self.margin
            self._tokens[i] = min(cap, self._tokens[i] + elapsed * cap / seconds)

    def delay(self, n: int = 1) -> float:
        """Seconds until ``n`` tokens fit (0 when they do now)."""
        self._refill()
        delay = 0.0
        for i, (capacity, seconds) in enumerate(self.limits):
            cap = capacity * self.margin
            need = min(float(n), cap) - self._tokens[i]
            if need > 0:
                delay = max(delay, need * seconds / cap)
        return delay

    async def wait(self, n: int = 1) -> None:
        """Wait for room, then spend ``n`` tokens (a batch larger than a bucket empties it)."""
        while (delay := self.delay(n)) > 0:  # noqa: ASYNC110 - a computed wait, not a signal
            await asyncio.sleep(delay)
        for i in range(len(self._tokens)):
            self._tokens[i] -= min(float(n), self.limits[i][0] * self.margin)

    def largest(self) -> int | None:
        """The most events any one wait can spend at once (the smallest bucket)."""
        return int(min(c * self.margin for c, _ in self.limits)) or 1 if self.limits else None


@dataclass(slots=True)
class Backoff:
    """Delays of ``initial * factor^attempt`` up to ``max``, each jittered to 50-100 %."""

    initial: float
    maximum: float
    factor: float = 2.0
    attempt: int = 0

    def next(self) -> float:
        """The delay before the next attempt."""
        base = min(self.maximum, self.initial * self.factor ** min(self.attempt, 64))
        self.attempt += 1
        return base * random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not secrecy

    def reset(self) -> None:
        """A success: the next failure starts from ``initial`` again."""
        self.attempt = 0
