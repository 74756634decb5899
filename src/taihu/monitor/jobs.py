"""Background work of the monitor: bringing the power meters' recent days in.

``MeterSync`` runs in the process that serves the MQTT transport (so once per server, however
many HTTP workers), every ``TAIHU_MONITOR_METER_SYNC_MINUTES``, as a ``core.PeriodicJob``: a stop
lets a sync under way finish (its transaction commits or rolls back on its own) rather than
cancelling it inside the transaction.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta

from taihu.accounts import Principal
from taihu.core import Clock, Database, PeriodicJob, singleton_lease
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
        self.db, self.settings, self.clock, self.store = db, settings, clock, store
        minutes = settings.monitor.meter_sync_minutes
        self._job = (
            PeriodicJob(
                "meter-sync",
                self._sync,
                minutes * 60,
                stop_within=grace,
                lease=singleton_lease(db, "meter-sync", minutes * 60),
            )
            if minutes
            else None
        )

    def start(self) -> None:
        """Start the loop in the running event loop (nothing when the interval is 0)."""
        if self._job is not None and not self._job.running:
            self._job.start()

    async def stop(self) -> None:
        """End the loop: no new sync starts, one under way finishes (within ``grace`` s)."""
        if self._job is not None:
            await self._job.stop()

    async def _sync(self) -> None:
        report = await sync_recent_meters(self.db, self.settings, self.clock, store=self.store)
        log.info("meter sync: %d enterprise-days from %d meters, %d gaps, %d resets",
                 report.written, report.meters, len(report.gaps), len(report.resets))  # fmt: skip
