"""Background work that stops without being cut off in the middle of a transaction.

Cancelling a coroutine while it holds a database session hands the connection back to the pool
under a ``CancelledError``; SQLAlchemy then logs "Exception during reset or similar" with a
traceback, and a SQLite connection may be left unusable. So shutting down here is a request, not
a cancellation::

    stop() ──► stop event set ──► the round under way finishes ──► the loop ends
                                   └─ still running after ``stop_within`` s ──► cancelled

``drain`` does the same for a set of request tasks: wait for them (bounded), cancel the rest.

A loop that a stop does cancel calls ``raise_if_cancelled`` at its head: on Python 3.11 a library
call may return normally from a cancellation (``asyncio.wait_for`` when its future completes in
the same turn of the loop, CPython gh-86296, fixed in 3.12; nats-py's flush queue, which passes
over a ``CancelledError``), and the loop would then wait for its next item forever.

A job given a :class:`~taihu.core.leases.JobLease` runs its rounds in one process of all those
sharing the database: each round first asks the lease whose turn it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Collection
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from taihu.core.leases import JobLease

__all__ = ["PeriodicJob", "drain", "raise_if_cancelled"]

log = logging.getLogger("taihu.jobs")


def raise_if_cancelled() -> None:
    """Raise ``CancelledError`` when this task was cancelled and the cancel got lost on the way."""
    task = asyncio.current_task()
    # cancelling() counts the requests no one took back with uncancel(): a library that returned
    # through one still leaves it counted.
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def drain(tasks: Collection[asyncio.Task[Any]], within: float) -> int:
    """Let the tasks finish for up to ``within`` seconds, then cancel the rest; how many were."""
    pending = [task for task in tasks if not task.done()]
    if not pending:
        return 0
    _, late = await asyncio.wait(pending, timeout=within)
    for task in late:
        task.cancel()
    if late:
        await asyncio.gather(*late, return_exceptions=True)
        log.warning("%d background tasks did not finish within %s s and were cancelled",
                    len(late), within)  # fmt: skip
    return len(late)


class PeriodicJob:
    """Runs ``work`` now and then every ``interval`` seconds until stopped."""

    def __init__(
        self,
        name: str,
        work: Callable[[], Awaitable[object]],
        interval: float,
        *,
        stop_within: float = 10.0,
        first_after: float = 0.0,
        lease: JobLease | None = None,
    ) -> None:
        self.name, self.interval, self.stop_within = name, interval, stop_within
        self.first_after, self.lease = first_after, lease
        self._work = work
        self._stopping = asyncio.Event()  # made anew by start(), inside the loop it serves
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        """Whether the loop is alive."""
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start the loop in the running event loop."""
        self._stopping = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._loop(), name=self.name)

    async def stop(self) -> None:
        """Let the round under way finish (bounded), then end the loop."""
        if self._task is None:
            return
        self._stopping.set()
        await drain([self._task], self.stop_within)
        self._task = None
        if self.lease is not None:
            try:
                await self.lease.release()
            except Exception:  # the holder's time runs out instead; another takes over then
                log.warning("%s: could not give back its lease", self.name, exc_info=True)

    async def _pause(self, seconds: float) -> None:
        """Wait ``seconds``, or less when asked to stop."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._stopping.wait()

    async def _round(self) -> None:
        if self.lease is None:
            await self._work()
        elif await self.lease.turn(self.interval):
            keeper = asyncio.get_running_loop().create_task(self._keep(self.lease))
            try:
                await self._work()
            finally:
                keeper.cancel()
                await asyncio.gather(keeper, return_exceptions=True)
            await self.lease.ran()

    @staticmethod
    async def _keep(lease: JobLease) -> None:
        """Renew the lease while a round runs, so a long round is not taken over half-way."""
        while True:
            await asyncio.sleep(lease.ttl / 3)
            try:
                await lease.renew()
            except Exception:  # a database hiccup: the next renewal may succeed
                log.warning("could not renew the lease of %s", lease.name, exc_info=True)

    async def _loop(self) -> None:
        if self.first_after:
            await self._pause(self.first_after)
        while not self._stopping.is_set():
            try:
                await self._round()
            except Exception:  # the database may be busy or gone for a moment: try again later
                log.exception("%s failed; trying again in %s s", self.name, self.interval)
            await self._pause(self.interval)
