"""What every connector is, where its readings go, and the polling loop they share."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from taihu.edge.buffer import Buffer
from taihu.edge.config import Backoff as BackoffConfig
from taihu.edge.config import Report
from taihu.edge.pacing import Backoff
from taihu.edge.report import ReportFilter
from taihu.edge.status import DeviceHealth
from taihu.edge.stopping import cancel_all

__all__ = ["Collector", "Connector", "PolledConnector", "plain"]

log = logging.getLogger("taihu.edge.connectors")


class Collector:
    """Takes readings from connectors, keeps those their report strategy wants, buffers them."""

    def __init__(
        self, buffer: Buffer, reports: dict[tuple[str, str], Report], wake: asyncio.Event
    ) -> None:
        self.buffer = buffer
        self.reports = reports
        self.filter = ReportFilter()
        self.wake = wake
        self.dropped = 0
        self._last_ts: dict[str, int] = {}

    def emit(self, device: str, ts_ms: int, values: dict[str, Any], *, stamped: bool = True) -> int:
        """Buffer a device's readings of one moment; returns how many were kept.

        Readings the gateway stamps (``stamped``) get strictly increasing times per device:
        the hub keeps one point per (device, key, ts), so two reads within a millisecond
        would otherwise be one.
        """
        if stamped:
            ts_ms = max(ts_ms, self._last_ts.get(device, 0) + 1)
            self._last_ts[device] = ts_ms
        now = time.monotonic()
        default = Report()
        kept = [
            (device, ts_ms, key, value)
            for key, value in values.items()
            if self.filter.wanted(device, key, value, now, self.reports.get((device, key), default))
        ]
        if kept:
            self.dropped += self.buffer.append(kept)
            self.wake.set()
        return len(kept)


class Connector(Protocol):
    """One device: read it and hand readings to the collector until cancelled."""

    health: DeviceHealth

    async def run(self, sink: Collector) -> None:
        """Run for ever, reconnecting on failure with the device's own backoff."""
        ...


def plain(value: Any) -> Any:
    """A value the hub stores: numbers, booleans and text; anything else as its text."""
    if isinstance(value, bool | int | float | str):
        return value
    return str(value)


class PolledConnector(ABC):
    """A device read on intervals: one task per poll group, a timeout on every request."""

    def __init__(
        self,
        name: str,
        kind: str,
        timeout: float,
        backoff: BackoffConfig,
        intervals: Sequence[float],
    ) -> None:
        self.name = name
        self.timeout = timeout
        self.intervals = list(intervals)
        self.backoff = Backoff(backoff.initial, backoff.max, backoff.factor)
        self.health = DeviceHealth(name, kind)

    @abstractmethod
    async def open(self) -> None:
        """Connect to the device."""

    @abstractmethod
    async def read(self, group: int) -> dict[str, Any]:
        """Read one poll group: key → value."""

    @abstractmethod
    async def close(self) -> None:
        """Disconnect (never raises)."""

    async def run(self, sink: Collector) -> None:
        """Connect, poll every group on its interval; on any failure back off and start over."""
        while True:
            try:
                async with asyncio.timeout(self.timeout):
                    await self.open()
                await self._poll(sink)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.health.failed(exc)
                log.info("device %s: %s", self.name, self.health.last_error)
            finally:
                await self.close()
            await asyncio.sleep(self.backoff.next())

    async def _poll(self, sink: Collector) -> None:
        # Not a TaskGroup: its cancellations of the groups could be lost (see cancel_all).
        groups = [asyncio.create_task(self._poll_group(index, interval, sink))
                  for index, interval in enumerate(self.intervals)]  # fmt: skip
        try:
            done, _ = await asyncio.wait(groups, return_when=asyncio.FIRST_EXCEPTION)
        finally:
            await cancel_all(groups)
        for task in done:
            if not task.cancelled() and (error := task.exception()) is not None:
                raise error

    async def _poll_group(self, index: int, interval: float, sink: Collector) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time()
        while True:
            try:
                async with asyncio.timeout(self.timeout):
                    values = await self.read(index)
            except TimeoutError:
                raise TimeoutError(f"no answer within {self.timeout:g} s") from None
            sink.emit(self.name, int(time.time() * 1000), values)
            self.health.ok(len(values))
            self.backoff.reset()
            # Fixed rate; after a slow read the missed slots are skipped, not caught up.
            due += interval
            if (late := loop.time() - due) > 0:
                due += interval * math.ceil(late / interval)
            await asyncio.sleep(due - loop.time())


Factory = Callable[[Any], Connector]
