"""Timestamps for readings that come without one: the next free millisecond of each device.

    stamp = max(hub's now, last stamp of the device + 1)     one per object without ``ts``

A device that sends faster than one message per millisecond still gets a distinct time for
every reading, so no reading the hub stamped overwrites an earlier one (stamps run ahead of the
clock during such a burst and fall back to it after). The floor of a device is seeded once per
process, when the hub first stamps for it, from the newest time in its latest values: a burst
resent after a restart lands after what the previous process stored. Times more than
``AHEAD_MS`` ahead of the clock (a device clock set wrong) are not taken as the floor.
"""

from __future__ import annotations

from taihu.devices.tsdb import TimeSeriesStore

__all__ = ["AHEAD_MS", "DeviceStamps"]

AHEAD_MS = 60_000


class DeviceStamps:
    """Per device, the last millisecond the hub stamped (in memory, seeded from the store)."""

    def __init__(self) -> None:
        self._last: dict[int, int] = {}

    async def reserve(self, store: TimeSeriesStore, device_id: int, count: int, now: int) -> int:
        """The first of ``count`` consecutive free milliseconds of a device (``now`` if none)."""
        if count <= 0:
            return now
        last = self._last.get(device_id)
        if last is None:  # first seen in this process: one query, never again
            stored = await store.last_ts(device_id, now + AHEAD_MS)
            # Another message of the device may have been stamped during the query.
            last = max(self._last.get(device_id, -1), -1 if stored is None else stored)
        first = max(now, last + 1)
        self._last[device_id] = first + count - 1
        return first
