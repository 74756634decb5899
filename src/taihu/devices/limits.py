"""Rate limits in ThingsBoard's ``capacity:seconds,…`` form, as token buckets.

``"100:1,3000:60"`` allows bursts of 100 per second and 3,000 per minute: every bucket must have
room for a message to pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["RateLimit", "RateLimiter", "parse_rate_limits"]


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most ``capacity`` events in ``seconds``."""

    capacity: int
    seconds: int

    def __str__(self) -> str:
        return f"{self.capacity}:{self.seconds}"


def parse_rate_limits(text: str) -> tuple[RateLimit, ...]:
    """Parse ``capacity:seconds,…``; empty text means no limit."""
    limits = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        capacity, sep, seconds = part.partition(":")
        if not sep or not capacity.isdigit() or not seconds.isdigit():
            raise ValueError(f"rate limit {part!r} is not capacity:seconds (e.g. 100:1,3000:60)")
        if int(capacity) < 1 or int(seconds) < 1:
            raise ValueError(f"rate limit {part!r} needs a capacity and a period of at least 1")
        limits.append(RateLimit(int(capacity), int(seconds)))
    return tuple(limits)


@dataclass(slots=True)
class RateLimiter:
    """Token buckets for one device; ``take`` says whether ``n`` events fit now."""

    limits: tuple[RateLimit, ...]
    _tokens: list[float] = field(default_factory=list)
    _at: float = 0.0

    def __post_init__(self) -> None:
        self._tokens = [float(limit.capacity) for limit in self.limits]

    def take(self, now: float, n: int = 1) -> bool:
        """Spend ``n`` tokens from every bucket, or none when one of them lacks room."""
        if not self.limits:
            return True
        elapsed = max(0.0, now - self._at) if self._at else 0.0
        self._at = now
        for i, limit in enumerate(self.limits):
            rate = limit.capacity / limit.seconds
            self._tokens[i] = min(float(limit.capacity), self._tokens[i] + elapsed * rate)
        if any(tokens < n for tokens in self._tokens):
            return False
        for i in range(len(self._tokens)):
            self._tokens[i] -= n
        return True
