"""Timestamps for readings that come without one: the next free millisecond of each device.

    stamp = max(hub's now, last stamp of the device + 1)     one per object without ``ts``

A device that sends faster than one message per millisecond still gets a distinct time for
every reading, so no reading the hub stamped overwrites an earlier one (stamps run ahead of the
clock during such a burst and fall back to it after). The floor of a device is seeded once per
process, when the hub first stamps for it, from the newest time in its latest values: a burst
resent after a restart lands after what the previous process stored. Times more than
``AHEAD_MS`` ahead of the clock (a device clock set wrong) are not taken as the floor.

Several processes that stamp at once (HTTP workers beside the supervisor's MQTT hub) each stamp
in a lane of their own: with ``lanes`` processes, lane ``i`` takes only the milliseconds
``m`` with ``m % lanes == i``, so two processes never hand out the same millisecond for a device.
"""

from __future__ import annotations

from taihu.devices.tsdb import TimeSeriesStore

__all__ = ["AHEAD_MS", "DeviceStamps"]

AHEAD_MS = 60_000


class DeviceStamps:
    """Per device, the last millisecond the hub stamped (in memory, seeded from the store)."""

    def __init__(self, lane: int = 0, lanes: int = 1) -> None:
        if not 0 <= lane < lanes:
            raise ValueError(f"lane {lane} is not one of {lanes} lanes")
        self.lane = lane
        self.lanes = lanes
        self._last: dict[int, int] = {}

    async def reserve(self, store: TimeSeriesStore, device_id: int, count: int, now: int) -> int:
        """The first of ``count`` free stamps of a device, ``lanes`` apart (``now`` if none)."""
        if count <= 0:
            return now
        last = self._last.get(device_id)
        if last is None:  # first seen in this process: one query, never again
            stored = await store.last_ts(device_id, now + AHEAD_MS)
            # Another message of the device may have been stamped during the query.
            last = max(self._last.get(device_id, -1), -1 if stored is None else stored)
        first = max(now, last + 1)
        first += (self.lane - first) % self.lanes  # the next millisecond of this lane
        self._last[device_id] = first + (count - 1) * self.lanes
        return first
