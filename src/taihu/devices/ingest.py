"""The ingest queue: transports hand over points and learn when they are durably stored.

    transport ──submit_rows──► bounded queue ──batch──► TimeSeriesStore.write_rows ──► futures
              (waits while the queue is full)             (one transaction)            done
                                 one lane per writer: device id mod writers

With several writers (PostgreSQL) each lane writes its batches on a connection of its own, so
one batch is prepared while another is in the database; a device always falls in the same lane,
so its points are stored in the order they were sent.

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
class _Lane:
    """The submissions of the devices one writer stores, in order."""

    items: deque[_Item] = field(default_factory=deque)
    wakeup: asyncio.Event | None = None
    task: asyncio.Task[None] | None = None
    pending: int = 0  # points queued here
    queued: int = 0  # items queued since start
    finished: int = 0  # items written (or given up) since start


@dataclass(slots=True)
class IngestQueue:
    """A bounded, batching writer in front of a time-series store."""

    store: TimeSeriesStore
    capacity: int = 200_000  # points held at most before senders wait
    batch_points: int = 20_000
    linger: float = 0.005  # seconds a writer waits for a batch to fill up
    # Batches written at once, each by a lane of its own; 1 on SQLite, whose writes are serial.
    writers: int = 1
    stats: IngestStats = field(default_factory=IngestStats)
    # Held while a batch is written by the only writer; other writers of this process (the
    # alarm engine) take it too, so that on SQLite they queue here instead of polling for the
    # database's write lock. Several writers do not take it (their database has row locks).
    write_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # Called with each batch once committed (the alarm engine); must be quick, never raise.
    on_stored: Callable[[list[Row]], None] | None = None
    _lanes: list[_Lane] = field(default_factory=list)
    _room: asyncio.Condition | None = None

    def _ensure_started(self) -> None:
        if not self._lanes:
            self._lanes = [_Lane() for _ in range(max(1, self.writers))]
        if any(lane.task is None or lane.task.done() for lane in self._lanes):
            loop = asyncio.get_running_loop()
            self._room = asyncio.Condition()
            for number, lane in enumerate(self._lanes):
                if lane.task is None or lane.task.done():
                    lane.wakeup = asyncio.Event()
                    if lane.items:
                        lane.wakeup.set()
                    lane.task = loop.create_task(
                        self._run(lane), name=f"taihu-ingest-writer-{number}"
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
        lanes = self._lanes
        lane = lanes[rows[0][0] % len(lanes)] if rows and len(lanes) > 1 else lanes[0]
        lane.items.append(_Item(rows, done, ok, failed))
        lane.queued += 1
        lane.pending += len(rows)
        stats.pending_points += len(rows)
        assert lane.wakeup is not None
        lane.wakeup.set()
        return done

    async def write(self, device_id: int, points: Sequence[Point]) -> None:
        """Queue points and wait until they are stored."""
        await (await self.submit(device_id, points))

    async def _run(self, lane: _Lane) -> None:
        assert lane.wakeup is not None
        assert self._room is not None
        items = lane.items
        while True:
            await lane.wakeup.wait()
            lane.wakeup.clear()
            if self.linger and lane.pending < self.batch_points:
                await asyncio.sleep(self.linger)
            while items:
                taken: list[_Item] = []
                count = 0
                while items and count < self.batch_points:
                    item = items.popleft()
                    taken.append(item)
                    count += len(item.rows)
                await self._write(taken, count)
                self.stats.pending_points -= count
                lane.pending -= count
                lane.finished += len(taken)
                async with self._room:
                    self._room.notify_all()

    async def _write(self, taken: list[_Item], count: int) -> None:
        batch = [row for item in taken for row in item.rows]
        error: BaseException | None = None
        lock = self.write_lock if len(self._lanes) == 1 else contextlib.nullcontext()
        for attempt in range(_RETRIES):
            try:
                async with lock:
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
        running = [lane for lane in self._lanes if lane.task is not None and not lane.task.done()]
        if self._room is None or not running:
            return
        targets = [(lane, lane.queued) for lane in running]
        async with self._room:
            await self._room.wait_for(lambda: all(lane.finished >= n for lane, n in targets))

    async def close(self) -> None:
        """Store what is queued, then stop the writers."""
        await self.flush()
        for lane in self._lanes:
            if lane.task is not None:
                lane.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await lane.task
                lane.task = None
