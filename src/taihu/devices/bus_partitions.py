"""The partitions of the device-data stream: one consumer each, one ingest process at a time.

    stream PREFIX.>  ── PREFIX.0 ──► durable consumer CONSUMER-0 ──► the ingest process leasing 0
                     ── PREFIX.1 ──► durable consumer CONSUMER-1 ──► the ingest process leasing 1
                     …                (at most one batch unacknowledged: max_ack_pending = batch)

    KV bucket STREAM-leases (entries live LEASE seconds unless written again, history 1)
      member.<id>      an ingest process that is alive (its heartbeat)
      partition.<N>    the process that consumes partition N (compare-and-set on the revision)

Every ``lease_seconds / 3`` each ingest process writes its heartbeat, lists the live members,
renews the leases it holds, gives back the partitions beyond its share and takes the free ones
of its share. Shares are contiguous ranges over the members sorted by id, so every process
computes the same from the same list; a process that joins gets its range as the others give it
back. A lease is taken with a create (refused while another holds it), renewed with an update on
the revision this process last wrote (refused once lost), and given back with a delete on that
revision once its consumer has committed and acknowledged what it fetched. A process that dies
stops writing: JetStream drops its entries ``lease_seconds`` after their last write (by the
server's clock alone), and the others take its partitions at their next round.

Fencing. A holder counts its lease from when it *sent* the last renewal, so it believes it ends
before JetStream drops it, and fetches only while more than a third of it is left (longer than a
fetch waits). What it fetched before the lease moved cannot be overtaken: a partition's consumer
lets one batch at most be unacknowledged, so the next holder gets nothing newer until that batch
is acknowledged (after its commit; a holder whose commit is slow says "in progress" to JetStream
meanwhile) or, its holder dead, delivered again first.

Leases in JetStream rather than the database (``core.leases``): they live where the consumers
live (a process cut off from NATS cannot consume anyway, and then loses its leases), expire by
one clock, and add no write to the database, which on SQLite has a single writer the ingest keeps
busy.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import nats.errors
import nats.js.errors
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    DiscardPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.kv import KeyValue

from taihu.core import raise_if_cancelled
from taihu.settings import ClusterSettings

__all__ = ["PartitionLeases", "consumer_name", "partition_consumers", "share", "when_ready"]

log = logging.getLogger("taihu.devices.bus")
_MEMBER = "member."
_PARTITION = "partition."


def consumer_name(settings: ClusterSettings, partition: int) -> str:
    """The durable consumer of one partition."""
    return f"{settings.consumer}-{partition}"


def share(partitions: int, members: Sequence[str], me: str) -> set[int]:
    """The partitions ``me`` consumes: its contiguous range among the members sorted by id."""
    ordered = sorted({*members, me})
    i, n = ordered.index(me), len(ordered)
    return set(range(i * partitions // n, (i + 1) * partitions // n))


def _ranges(partitions: Sequence[int]) -> str:
    """``0-3,7`` for [0, 1, 2, 3, 7]: partitions as a log line shows them."""
    out: list[str] = []
    for p in sorted(partitions):
        if out and out[-1].split("-")[-1] == str(p - 1):
            out[-1] = f"{out[-1].split('-')[0]}-{p}"
        else:
            out.append(str(p))
    return ",".join(out) or "none"


_NOT_READY = (
    nats.errors.TimeoutError,
    nats.errors.NoRespondersError,
    nats.js.errors.NoStreamResponseError,
    nats.js.errors.ServiceUnavailableError,
    nats.js.errors.ServerError,
)
_NOT_READY_DELAY = 0.5  # seconds between two requests to a JetStream that is not ready
T = TypeVar("T")


async def when_ready(what: str, request: Callable[[], Awaitable[T]], within: float) -> T:
    """A JetStream API request, asked again while the cluster is not ready for it.

    A NATS cluster started along with us has no JetStream meta leader for a while, or knows
    fewer peers than a stream's replicas, and a replicated stream just made has no leader yet:
    JetStream then answers 503 or 500, or nothing. Past ``within`` seconds it is a
    ``ConnectionError`` (the setting named, no traceback).
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        try:
            return await request()
        except _NOT_READY as exc:
            if loop.time() + _NOT_READY_DELAY > deadline:
                raise ConnectionError(
                    f"JetStream did not answer for {what} within {within:g} s "
                    f"(TAIHU_CLUSTER_CONNECT_TIMEOUT): {exc!r}"
                ) from exc
            log.info("JetStream not ready for %s (%r): asking again", what, exc)
            await asyncio.sleep(_NOT_READY_DELAY)


async def partition_consumers(js: JetStreamContext, settings: ClusterSettings) -> None:
    """Create the partitions' durable consumers that are missing, taking over the shared one.

    Earlier versions had all ingest processes share one durable consumer over every partition
    (named ``settings.consumer``). Its acknowledgement floor is where the new consumers start:
    everything below it is stored; what lies above it and was acknowledged already is delivered
    once more (stored twice, a point changes nothing). Then it is deleted. In a work queue (a
    stream made by this version, ``bus_stream``) it is deleted first, as consumers there may not
    overlap, and the new ones take all the stream holds: what no consumer acknowledged. Consumers
    that exist are kept as they are, but for the ack wait and the batch, which follow the settings.
    """
    s = settings
    start: int | None = None  # the first sequence the consumers take (None: the stream's first)
    with contextlib.suppress(nats.js.errors.NotFoundError):
        old = await js.consumer_info(s.stream, s.consumer)
        stream = await js.stream_info(s.stream)
        if stream.config.retention == RetentionPolicy.WORK_QUEUE:
            await js.delete_consumer(s.stream, s.consumer)
            log.info("took over the shared consumer %s of a work queue", s.consumer)
        else:
            start = (old.ack_floor.stream_seq if old.ack_floor else 0) + 1
    for partition in range(s.partitions):
        name = consumer_name(s, partition)
        try:
            info = await js.consumer_info(s.stream, name)
        except nats.js.errors.NotFoundError:
            policy = DeliverPolicy.ALL if start is None else DeliverPolicy.BY_START_SEQUENCE
            config = ConsumerConfig(
                durable_name=name,
                filter_subject=f"{s.subject_prefix}.{partition}",
                ack_policy=AckPolicy.EXPLICIT,
                deliver_policy=policy,
                opt_start_seq=start,
                ack_wait=s.ack_wait,
                max_ack_pending=s.fetch_batch,  # one batch in flight: nothing overtakes it
            )
            with contextlib.suppress(nats.js.errors.BadRequestError):  # made meanwhile
                await js.add_consumer(s.stream, config)
            continue
        config = info.config
        if config.ack_wait != s.ack_wait or config.max_ack_pending != s.fetch_batch:
            config.ack_wait, config.max_ack_pending = s.ack_wait, s.fetch_batch
            await js.add_consumer(s.stream, config)  # an update of what may change
    if start is not None:
        with contextlib.suppress(nats.js.errors.NotFoundError):  # deleted meanwhile
            await js.delete_consumer(s.stream, s.consumer)
        log.info("took over the shared consumer %s: partitions' consumers start at sequence %d",
                 s.consumer, start)  # fmt: skip


@dataclass(slots=True)
class _Lease:
    revision: int
    until: float  # monotonic: when the lease ends as this process counts it
    leaving: bool = False  # being given back: its consumer stops
    returned: bool = False  # its consumer has stopped: delete the entry


class PartitionLeases:
    """This process's leases on partitions, kept, taken and given back round by round."""

    def __init__(
        self,
        nc: NatsClient,
        settings: ClusterSettings,
        *,
        take: Callable[[int], None],
        give_back: Callable[[int], Awaitable[None]],
        member: str | None = None,
    ) -> None:
        self.settings = settings
        self.ttl = settings.lease_seconds
        # Lease operations wait at most a quarter of the lease, whatever publishes wait.
        self.js = nc.jetstream(timeout=max(0.25, self.ttl / 4))
        self.member = member or f"{os.getpid()}-{secrets.token_hex(4)}"
        self.bucket = f"{settings.stream}-leases"
        self.held: dict[int, _Lease] = {}
        self._take = take  # start consuming a partition whose lease was just taken
        self._give_back = give_back  # stop consuming it, once its batch is acknowledged
        self._kv: KeyValue | None = None
        self._task: asyncio.Task[None] | None = None
        self._poke = asyncio.Event()
        self._closing = False
        self._returning: set[asyncio.Task[None]] = set()
        self._failing = False  # the last round failed (told once, not every round)

    def holds(self, partition: int) -> bool:
        """Whether this process consumes the partition (held, and not being given back)."""
        lease = self.held.get(partition)
        return lease is not None and not lease.leaving

    def valid(self, partition: int) -> bool:
        """Whether a fetch may start: the lease held, with more than a third of it left."""
        lease = self.held.get(partition)
        return (
            lease is not None
            and not lease.leaving
            and lease.until - time.monotonic() > self.ttl / 3
        )

    async def start(self) -> None:
        """Open the bucket (made if missing), run a first round, then one every third of a lease."""
        stream = f"KV_{self.bucket}"
        config = StreamConfig(
            name=stream,
            subjects=[f"$KV.{self.bucket}.>"],
            storage=StorageType.FILE,
            num_replicas=self.settings.replicas,
            max_age=self.ttl,
            max_msgs_per_subject=1,
            discard=DiscardPolicy.NEW,
            allow_rollup_hdrs=True,
            deny_delete=True,
            duplicate_window=min(self.ttl, 120.0),
        )
        timeout = self.settings.connect_timeout
        try:
            await when_ready("the lease bucket", lambda: self.js.add_stream(config), timeout)
        except nats.js.errors.BadRequestError:  # made with another lease time: follow the settings
            try:
                await self.js.update_stream(config)
            except nats.js.errors.APIError as exc:
                log.warning("lease bucket %s kept as it is: %s", self.bucket, exc)
        self._kv = await when_ready(
            "the lease bucket", lambda: self.js.key_value(self.bucket), timeout
        )
        await when_ready("the lease bucket", self.round, timeout)  # a new bucket elects its leader
        self._task = asyncio.get_running_loop().create_task(self._run(), name="taihu-bus-leases")

    async def _run(self) -> None:
        while True:
            # A round's requests may return from stop()'s cancel (see raise_if_cancelled): the
            # loop would go on renewing, and stop() wait for it, forever.
            raise_if_cancelled()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.ttl / 3):
                    await self._poke.wait()
            self._poke.clear()
            try:
                await self.round()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # NATS away: the leases run out, the consumers pause
                if not self._failing:
                    log.warning("partition leases not renewed: %r", exc)
                self._failing = True
            else:
                if self._failing:
                    log.info("partition leases renewed again")
                self._failing = False

    async def round(self) -> None:
        """Write the heartbeat, renew or return what is held, take the free part of the share."""
        kv = self._kv
        assert kv is not None, "start first"
        await kv.put(_MEMBER + self.member, socket.gethostname()[:80].encode())
        members = await self._members()
        await asyncio.gather(*(self._keep(p, lease) for p, lease in list(self.held.items())))
        if self._closing:
            return
        mine = share(self.settings.partitions, members, self.member)
        surplus = [p for p, lease in self.held.items() if p not in mine and not lease.leaving]
        for partition in surplus:
            self.held[partition].leaving = True
            task = asyncio.get_running_loop().create_task(self._return(partition))
            self._returning.add(task)
            task.add_done_callback(self._returning.discard)
        taken = [p for p in await asyncio.gather(*(self._claim(p) for p in mine - set(self.held)))
                 if p is not None]  # fmt: skip
        if surplus or taken:
            keeping = [p for p, lease in self.held.items() if not lease.leaving]
            log.info("partitions: took %s, giving back %s, keeping %s (%d ingest processes)",
                     _ranges(taken), _ranges(surplus), _ranges(keeping), len(members))  # fmt: skip

    async def _members(self) -> list[str]:
        info = await self.js.stream_info(
            f"KV_{self.bucket}", subjects_filter=f"$KV.{self.bucket}.{_MEMBER}>"
        )
        prefix = f"$KV.{self.bucket}.{_MEMBER}"
        return [subject.removeprefix(prefix) for subject in info.state.subjects or {}]

    async def _keep(self, partition: int, lease: _Lease) -> None:
        assert self._kv is not None
        key = f"{_PARTITION}{partition}"
        sent = time.monotonic()
        if lease.returned:
            self.held.pop(partition, None)
            with contextlib.suppress(Exception):  # taken meanwhile, or NATS away: it runs out
                await self._kv.delete(key, last=lease.revision)
            return
        if sent >= lease.until:  # JetStream may have dropped it: it is not ours any more
            self._lost(partition, "ran out")
            return
        try:
            lease.revision = await self._kv.update(key, self.member.encode(), last=lease.revision)
        except nats.js.errors.KeyWrongLastSequenceError:
            self._lost(partition, "taken by another process")
        except Exception as exc:  # NATS slow or away: tried again next round, the lease runs out
            log.debug("partition %d: lease not renewed: %r", partition, exc)
        else:
            lease.until = sent + self.ttl

    def _lost(self, partition: int, why: str) -> None:
        # Its consumer stops fetching and ends after acknowledging the batch it has.
        self.held.pop(partition, None)
        log.warning("partition %d: lease lost (%s)", partition, why)

    async def _claim(self, partition: int) -> int | None:
        assert self._kv is not None
        sent = time.monotonic()
        try:
            revision = await self._kv.create(f"{_PARTITION}{partition}", self.member.encode())
        except nats.js.errors.KeyWrongLastSequenceError:
            return None  # held by another process (until it gives it back or dies)
        except Exception as exc:  # NATS slow or away: tried again next round
            log.debug("partition %d: lease not taken: %r", partition, exc)
            return None
        self.held[partition] = _Lease(revision, sent + self.ttl)
        self._take(partition)
        return partition

    async def _return(self, partition: int) -> None:
        await self._give_back(partition)
        lease = self.held.get(partition)
        if lease is not None:
            lease.returned = True
            self._poke.set()  # deleted at once, so the next holder takes it at its next round

    async def stop(self, within: float) -> None:
        """Give every partition back (waiting ``within`` seconds at most), leave the members."""
        self._closing = True
        for partition, lease in self.held.items():
            if not lease.leaving:
                lease.leaving = True
                task = asyncio.get_running_loop().create_task(self._return(partition))
                self._returning.add(task)
                task.add_done_callback(self._returning.discard)
        if self._returning:
            await asyncio.wait(set(self._returning), timeout=within)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        with contextlib.suppress(Exception):  # NATS away: the entries run out by themselves
            await self.round()  # deletes the entries of what was given back
            await self.js.purge_stream(
                f"KV_{self.bucket}", subject=f"$KV.{self.bucket}.{_MEMBER}{self.member}"
            )
        for task in list(self._returning):
            task.cancel()
        self.held.clear()
