"""Background work of the monitor: bringing the power meters' recent days in.

``MeterSync`` runs in the process that serves the MQTT transport (so once per server, however
many HTTP workers) and is stopped, never cancelled mid-sync::

    start ─► sync ─► wait(stop event, TAIHU_MONITOR_METER_SYNC_MINUTES) ─► sync ─► …
    stop  ─► set the stop event ─► the wait ends at once; a sync under way finishes (commits or
             rolls back on its own) within ``grace`` seconds ─► the loop ends

Each sync runs as its own task, shielded from the loop's cancellation, because cancelling a
task inside an open transaction leaves the connection in a state the pool cannot always reset
(on SQLite it logged a traceback at every ``taihu demo`` exit).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import date, timedelta

from taihu.accounts import Principal
from taihu.core import Clock, Database
from taihu.devices import TimeSeriesStore, store_for
from taihu.monitor.power import MeterSyncReport, sync_meters
from taihu.settings import Settings

__all__ = ["MeterSync", "sync_recent_meters"]

log = logging.getLogger("taihu.monitor.jobs")
STOP_GRACE_S = 30.0  # how long a stopping server waits for a sync under way


async def sync_recent_meters(
    db: Database, settings: Settings, clock: Clock, *, first: date | None = None,
    last: date | None = None, store: TimeSeriesStore | None = None,
) -> MeterSyncReport:  # fmt: skip
    """Daily use from the meters for ``[first, last]`` (default: yesterday and today)."""
    today = clock.now().astimezone(settings.console.zone).date()
    last = last or today
    first = first or last - timedelta(days=1)
    async with db.session() as session:
        return await sync_meters(
            session, store or store_for(db), clock, Principal.system("monitor"), first, last,
            zone=settings.console.zone, profile=settings.monitor.meter_profile,
            key=settings.monitor.meter_key,
        )  # fmt: skip


class MeterSync:
    """Runs ``sync_recent_meters`` every ``TAIHU_MONITOR_METER_SYNC_MINUTES`` while started."""

    def __init__(
        self, db: Database, settings: Settings, clock: Clock, *,
        store: TimeSeriesStore | None = None, grace: float = STOP_GRACE_S,
    ) -> None:  # fmt: skip
        self.db = db
        self.settings = settings
        self.clock = clock
        self.store = store
        self.grace = grace
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._sync: asyncio.Task[MeterSyncReport] | None = None

    def start(self) -> None:
        """Start the loop in the running event loop (nothing when the interval is 0)."""
        if self.settings.monitor.meter_sync_minutes and self._task is None:
            self._stopping.clear()
            self._task = asyncio.get_running_loop().create_task(self._loop(), name="meter-sync")

    async def stop(self) -> None:
        """End the loop: no new sync starts, one under way finishes (within ``grace`` s)."""
        self._stopping.set()
        pending = [t for t in (self._task, self._sync) if t is not None and not t.done()]
        self._task = None
        if not pending:
            return
        # asyncio.wait neither raises the tasks' errors nor cancels them if this is cancelled.
        _, late = await asyncio.wait(pending, timeout=self.grace)
        if late:
            log.warning("meter sync still running %.0f s after the stop: cancelled", self.grace)
            for task in late:
                task.cancel()
            await asyncio.wait(late)
        for task in pending:
            if task.done() and not task.cancelled():
                task.exception()  # seen: the loop logged it, or it was cancelled before

    async def _loop(self) -> None:
        interval = self.settings.monitor.meter_sync_minutes * 60
        while not self._stopping.is_set():
            self._sync = asyncio.get_running_loop().create_task(
                sync_recent_meters(self.db, self.settings, self.clock, store=self.store),
                name="meter-sync-run",
            )
            try:
                report = await asyncio.shield(self._sync)
                log.info("meter sync: %d enterprise-days from %d meters, %d gaps, %d resets",
                         report.written, report.meters, len(report.gaps),
                         len(report.resets))  # fmt: skip
            except asyncio.CancelledError:
                raise  # the loop was cancelled; the sync itself goes on, stop() waits for it
            except Exception:
                # A locked or unreachable database: try again at the next interval.
                log.exception("meter sync failed; retrying at the next interval")
            self._sync = None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), interval)
