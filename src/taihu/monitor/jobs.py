"""Background work of the monitor: bringing the power meters' recent days in."""

from __future__ import annotations

from datetime import date, timedelta

from taihu.accounts import Principal
from taihu.core import Clock, Database
from taihu.devices import store_for
from taihu.monitor.power import sync_meters
from taihu.settings import Settings

__all__ = ["sync_recent_meters"]


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
