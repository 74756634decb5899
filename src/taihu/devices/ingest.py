"""The ingest queue: transports hand over points and learn when they are durably stored.

    transport ──submit_rows──► bounded queue ──batch──► TimeSeriesStore.write_rows ──► futures
              (waits while the queue is full)             (one transaction)            done

A transport acknowledges a message (PUBACK, HTTP 200) only once its future is done, so nothing
acknowledged lives only in memory. When the store lags, the queue fills and ``submit`` waits:
the transports then delay acknowledgements and stop reading their sockets, and the devices slow
down; nothing is dropped. A failed write is retried with backoff; only after several failures
are the waiting senders told (MQTT 5 reason 0x80, HTTP 503) so they can send again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from taihu.devices.tsdb import TimeSeriesStore
from taihu.devices.values import Point, Row, point_rows

__all__ = ["IngestQueue", "IngestStats", "StoreUnavailable"]

log = logging.getLogger("taihu.devices.ingest")
_RETRIES = 5
T = TypeVar("T")


class StoreUnavailable(RuntimeError):
    """The store refused a batch several times; the points were not stored."""


@dataclass(slots=True)
class IngestStats:
    """Counters since start."""

    points_written: int = 0
    batches: int = 0
    write_failures: int = 0
    pending_points: int = 0
    waits: int = 0  # how often a sender had to wait for room (backpressure)


@dataclass(slots=True)
class _Item:
    rows: Sequence[Row]
    done: asyncio.Future[Any]
    ok: Any  # the future's result once stored
    failed: Callable[[str], Any] | None  # its result when not stored (None: an exception)


@dataclass(slots=True)
class IngestQueue:
    """A bounded, batching writer in front of a time-series store."""

    store: TimeSeriesStore
    capacity: int = 200_000  # points held at most before senders wait
    batch_points: int = 20_000
    linger: float = 0.005  # seconds a writer waits for a batch to fill up
    stats: IngestStats = field(default_factory=IngestStats)
    # Held while a batch is written; other writers of this process (the alarm engine) take it
    # too, so that on SQLite they queue here instead of polling for the database's write lock.
    write_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # Called with each batch once committed (the alarm engine); must be quick, never raise.
    on_stored: Callable[[list[Row]], None] | None = None
    _items: deque[_Item] = field(default_factory=deque)
    _wakeup: asyncio.Event | None = None
    _room: asyncio.Condition | None = None
    _task: asyncio.Task[None] | None = None
    _queued: int = 0  # items queued since start
    _finished: int = 0  # items written (or given up) since start

    def _ensure_started(self) -> None:
        if self._task is None or self._task.done():
            self._wakeup = asyncio.Event()
            self._room = asyncio.Condition()
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name="taihu-ingest-writer"
            )

    async def submit(self, device_id: int, points: Sequence[Point]) -> asyncio.Future[None]:
        """Queue points (waiting while the queue is full); the future is done once stored."""
        return await self.submit_rows(point_rows(device_id, points), None)

    async def submit_rows(
        self, rows: Sequence[Row], ok: T, failed: Callable[[str], T] | None = None
    ) -> asyncio.Future[T]:
        """Queue rows (waiting while the queue is full); the future becomes ``ok`` once stored.

        When the store keeps failing it becomes ``failed(reason)``, or raises
        ``StoreUnavailable`` without ``failed``.
        """
        self._ensure_started()
        assert self._room is not None
        assert self._wakeup is not None
        stats = self.stats
        if stats.pending_points + len(rows) > self.capacity and stats.pending_points:
            stats.waits += 1
            async with self._room:
                await self._room.wait_for(
                    lambda: (
                        stats.pending_points + len(rows) <= self.capacity
                        or not stats.pending_points
                    )
                )
        done: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._items.append(_Item(rows, done, ok, failed))
        self._queued += 1
        stats.pending_points += len(rows)
        self._wakeup.set()
        return done

    async def write(self, device_id: int, points: Sequence[Point]) -> None:
        """Queue points and wait until they are stored."""
        await (await self.submit(device_id, points))

    async def _run(self) -> None:
        assert self._wakeup is not None
        assert self._room is not None
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            if self.linger and self.stats.pending_points < self.batch_points:
                await asyncio.sleep(self.linger)
            while self._items:
                taken: list[_Item] = []
                count = 0
                while self._items and count < self.batch_points:
                    item = self._items.popleft()
                    taken.append(item)
                    count += len(item.rows)
                await self._write(taken, count)
                self.stats.pending_points -= count
                self._finished += len(taken)
                async with self._room:
                    self._room.notify_all()

    async def _write(self, taken: list[_Item], count: int) -> None:
        batch = [row for item in taken for row in item.rows]
        error: BaseException | None = None
        for attempt in range(_RETRIES):
            try:
                async with self.write_lock:
                    await self.store.write_rows(batch)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # any store failure is retried, then reported
                error = exc
                self.stats.write_failures += 1
                log.warning("time-series write failed (attempt %d): %s", attempt + 1, exc)
                await asyncio.sleep(min(2.0, 0.05 * 2**attempt))
            else:
                error = None
                break
        for item in taken:
            if item.done.done():  # the sender went away
                continue
            if error is None:
                item.done.set_result(item.ok)
            elif item.failed is not None:
                item.done.set_result(item.failed(str(error)))
            else:
                item.done.set_exception(StoreUnavailable(str(error)))
        if error is None:
            self.stats.points_written += count
            self.stats.batches += 1
            if self.on_stored is not None:
                try:
                    self.on_stored(batch)
                except Exception:  # an observer's fault must not stop the ingest
                    log.exception("the stored-batch observer failed")

    async def flush(self) -> None:
        """Wait until everything queued so far is stored (or given up on)."""
        if self._room is None or self._task is None or self._task.done():
            return
        target = self._queued
        async with self._room:
            await self._room.wait_for(lambda: self._finished >= target)

    async def close(self) -> None:
        """Store what is queued, then stop the writer."""
        await self.flush()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
