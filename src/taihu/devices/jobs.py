"""Background work of the device hub: retention of time series per device profile."""

from __future__ import annotations

import logging

import sqlalchemy as sa

from taihu.core import Clock, Database
from taihu.devices.models import Device, DeviceProfile
from taihu.devices.tsdb import TimeSeriesStore

__all__ = ["ROLLUP_RETENTION_FACTOR", "enforce_retention"]

log = logging.getLogger("taihu.devices.jobs")
# Hourly and daily rollups are small; they outlive the raw points by this factor.
ROLLUP_RETENTION_FACTOR = 10
_DAY_MS = 86_400_000


async def enforce_retention(db: Database, store: TimeSeriesStore, clock: Clock) -> int:
    """Enforce each profile's retention; returns how many points were deleted row by row."""
    now = int(clock.now().timestamp() * 1000)
    async with db.session() as session:
        profiles = list(await session.scalars(sa.select(DeviceProfile)))
        by_profile = {
            p.id: list(await session.scalars(sa.select(Device.id).where(Device.profile_id == p.id)))
            for p in profiles
        }
    deleted = 0
    if profiles:
        # Whole weeks older than the longest retention go at once (PostgreSQL partitions);
        # what is left of shorter retentions is deleted row by row below.
        longest = max(p.retention_days for p in profiles)
        dropped = await store.rotate(now, now - longest * _DAY_MS)
        if dropped:
            log.info("retention: dropped partitions %s", ", ".join(dropped))
    for profile in profiles:
        cutoff = now - profile.retention_days * _DAY_MS
        rollup_cutoff = now - profile.retention_days * ROLLUP_RETENTION_FACTOR * _DAY_MS
        deleted += await store.delete_before(by_profile[profile.id], cutoff, rollup_cutoff)
    if deleted:
        log.info("retention: deleted %d points", deleted)
    return deleted
