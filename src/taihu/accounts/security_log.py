"""Security events in the audit log: refused writes and failed sign-ins (MLPS 2.0's audit).

Each event is an ``AuditEntry`` whose action starts with ``security.``: who (the principal, or
the user name tried, or ``anonymous``), what was refused (the route), from where (the client
address) and why (the error code). The auditor lists them with ``outcome=refused``.

A flood of refused requests must not become as many database writes, so events pass a limiter
kept per process: identical events (same action, actor, source, target and reason) are written
once per window; one source gets at most ``per_source`` entries per window and the process
``overall``. What is held back is counted, and the next entry written for that source says how
many (``suppressed``); a full process-wide window is logged as a warning.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from taihu.accounts.models import AuditEntry
from taihu.core import Clock, Database, current_request_id

__all__ = ["SecurityEvent", "SecurityLog"]

log = logging.getLogger("taihu.security")

LOGIN_FAILED = "security.login_failed"
WRITE_REFUSED = "security.write_refused"


@dataclass(frozen=True, slots=True)
class SecurityEvent:
    """One refusal worth an auditor's eye."""

    action: str
    actor: str
    source: str
    entity_type: str
    entity_id: str
    reason: str
    actor_user_id: int | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str, str, str, str]:
        """What makes two events the same one repeated."""
        return (self.action, self.actor, self.source, self.entity_id, self.reason)


@dataclass(slots=True)
class _Window:
    start: datetime
    written: int = 0


class SecurityLog:
    """Writes security events to the audit log, at a bounded rate (see the module docstring)."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        window_seconds: float = 60,
        per_source: int = 20,
        overall: int = 600,
        max_tracked: int = 10_000,
    ) -> None:
        self.db = db
        self.clock = clock
        self.window = timedelta(seconds=window_seconds)
        self.per_source = per_source
        self.overall = overall
        self.max_tracked = max_tracked
        self._events: dict[tuple[str, ...], datetime] = {}
        self._sources: dict[str, _Window] = {}
        self._held: dict[str, int] = {}
        self._all = _Window(clock.now())

    def admit(self, event: SecurityEvent) -> int | None:
        """Whether to write ``event`` now: None to hold it back, else the count to report."""
        now = self.clock.now()
        self._forget_before(now - self.window)
        seen = self._events.get(event.key)
        source = self._sources.get(event.source)
        if source is None or now - source.start >= self.window:
            source = self._sources[event.source] = _Window(now)
        if now - self._all.start >= self.window:
            self._all = _Window(now)
        if (
            (seen is not None and now - seen < self.window)
            or source.written >= self.per_source
            or self._all.written >= self.overall
        ):
            self._held[event.source] = self._held.get(event.source, 0) + 1
            if self._all.written == self.overall:
                self._all.written += 1  # warn once per window
                log.warning("security events past %d a window: counting, not writing", self.overall)
            return None
        self._events[event.key] = now
        source.written += 1
        self._all.written += 1
        return self._held.pop(event.source, 0)

    def _forget_before(self, cutoff: datetime) -> None:
        if len(self._events) + len(self._sources) <= self.max_tracked:
            return
        self._events = {k: at for k, at in self._events.items() if at >= cutoff}
        self._sources = {k: w for k, w in self._sources.items() if w.start >= cutoff}
        if len(self._events) + len(self._sources) > self.max_tracked:
            # Still full within one window (a flood from very many sources): start over rather
            # than grow; the overall bound still holds.
            self._events.clear()
            self._sources.clear()
        self._held = {k: n for k, n in self._held.items() if k in self._sources}

    async def record(self, event: SecurityEvent) -> bool:
        """Write ``event`` unless the limiter holds it back; whether it was written."""
        suppressed = self.admit(event)
        if suppressed is None:
            return False
        after: dict[str, Any] = {"source": event.source, "reason": event.reason, **event.details}
        if suppressed:
            after["suppressed"] = suppressed
        try:
            async with self.db.session() as session:
                session.add(
                    AuditEntry(
                        at=self.clock.now(),
                        actor_user_id=event.actor_user_id,
                        actor=event.actor[:128],
                        action=event.action,
                        entity_type=event.entity_type[:64],
                        entity_id=event.entity_id[:255],
                        after=after,
                        request_id=current_request_id(),
                    )
                )
                await session.commit()
        except SQLAlchemyError:
            # The refusal itself has been answered; a busy database must not turn it into an
            # error, but the operator should see that the record is missing.
            log.exception("could not record %s by %s", event.action, event.actor)
            return False
        return True
