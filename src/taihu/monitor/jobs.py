"""Background work of the monitor: bringing the power meters' recent days in."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import date, timedelta

from taihu.accounts import Principal
from taihu.core import Clock, Database
from taihu.devices import store_for
from taihu.monitor.power import sync_meters
from taihu.settings import Settings

__all__ = ["MeterSync", "sync_recent_meters"]

log = logging.getLogger("taihu.monitor.jobs")


async def sync_recent_meters(
    db: Database, settings: Settings, clock: Clock, *, first: date | None = None,
    last: date | None = None,
) -> tuple[int, int]:  # fmt: skip
    """Daily use from the meters for ``[first, last]`` (default: yesterday and today)."""
    today = clock.now().astimezone(settings.console.zone).date()
    last = last or today
    first = first or last - timedelta(days=1)
    async with db.session() as session:
        return await sync_meters(
            session, store_for(db), clock, Principal.system("monitor"), first, last,
            zone=settings.console.zone, profile=settings.monitor.meter_profile,
            key=settings.monitor.meter_key,
        )  # fmt: skip


class MeterSync:
    """Runs ``sync_recent_meters`` every ``TAIHU_MONITOR_METER_SYNC_MINUTES`` while started."""

    def __init__(self, db: Database, settings: Settings, clock: Clock) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the loop in the running event loop (nothing when the interval is 0)."""
        if self.settings.monitor.meter_sync_minutes and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop(), name="meter-sync")

    async def stop(self) -> None:
        """Stop the loop; a sync under way is cancelled (its transaction rolls back)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            try:
                written, meters = await sync_recent_meters(self.db, self.settings, self.clock)
                log.info("meter sync: %d enterprise-days from %d meters", written, meters)
            except Exception:
                # A locked or unreachable database: try again at the next interval.
                log.exception("meter sync failed; retrying at the next interval")
            await asyncio.sleep(self.settings.monitor.meter_sync_minutes * 60)
