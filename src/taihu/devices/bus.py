"""Device data over NATS JetStream: transports publish, ingest processes consume and store.

    transport ──publish──► stream (a work queue, R replicas) ──► consumer per partition ──► ingest
    (PUBACK / HTTP 200 once      subjects PREFIX.PARTITION       (each leased by one ingest    │
     JetStream acked the publish)  PARTITION = device % N          process at a time)          ▼
                                                       IngestQueue ─► store ─► commit ─► ack

A transport acknowledges a device only once JetStream has acknowledged the publish, so nothing
acknowledged lives only in a transport's memory. An ingest process acknowledges JetStream only
after the batch is committed; if it dies first, JetStream delivers the messages again (after
``ack_wait``) to the process that takes the partition over; acknowledged, a message leaves the
stream (``taihu.devices.bus_stream``, which also says what a full stream does). Stored twice, a
point changes nothing: the store is keyed by (device, key, ts), keeps the newest ts as the
latest value and rolls up only the rows an insert added (``taihu.devices.tsdb``). A device's
messages all go to one partition, which one process consumes at a time, batch after batch
(``taihu.devices.bus_partitions``): they are stored in the order sent, so of two values sent for
one (device, key, ts), or for one client attribute, the last sent is the one kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import nats
import nats.errors
import nats.js.errors
import orjson
import sqlalchemy as sa
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from taihu.core import raise_if_cancelled
from taihu.devices.bus_partitions import (
    PartitionLeases,
    consumer_name,
    partition_consumers,
    when_ready,
)
from taihu.devices.bus_stream import open_stream
from taihu.devices.commands import BusCommands
from taihu.devices.fleet import Fleet
from taihu.devices.hub import DeviceHub, HubObserver
from taihu.devices.ingest import IngestQueue
from taihu.devices.values import Row
from taihu.settings import ClusterSettings

__all__ = [
    "BusIngest",
    "BusNode",
    "BusPublisher",
    "BusStats",
    "JetStreamBus",
    "decode_attributes",
    "decode_rows",
    "encode_rows",
]

log = logging.getLogger("taihu.devices.bus")
T = TypeVar("T")
_IN_FLIGHT = 10_000  # publishes awaiting JetStream's ack before a transport waits (backpressure)
_FETCH_WAIT = 1.0  # seconds a fetch waits for messages before asking again
_RETRY_DELAY = 1.0  # seconds before JetStream redelivers a batch the store refused
_ROW_WIDTH = 6
KIND = "Taihu-Kind"  # header of a message that holds no rows
ATTRIBUTES = "attributes"  # its value for client attributes: {"device": id, "values": {…}}
_STORED = True  # the ingest queue's answer for a committed batch
# What a JetStream cluster that is starting or electing answers (no responders is a 503 too).


def encode_rows(rows: Sequence[Row]) -> bytes:
    """Rows as a message body (a JSON array of arrays)."""
    return orjson.dumps(rows)


def decode_rows(data: bytes) -> list[Row]:
    """Rows from a message body; ``ValueError`` when it is not what ``encode_rows`` makes."""
    items = orjson.loads(data)
    if not isinstance(items, list):
        raise ValueError("not a list of rows")
    rows: list[Row] = []
    for item in items:
        if not isinstance(item, list) or len(item) != _ROW_WIDTH:
            raise ValueError("a row is [device, key, ts, kind, num, txt]")
        device, key, ts, kind, num, txt = item
        if not (
            isinstance(device, int) and isinstance(key, str) and isinstance(ts, int)
            and isinstance(kind, int) and (num is None or isinstance(num, int | float))
            and (txt is None or isinstance(txt, str))
        ):  # fmt: skip
            raise ValueError("a row is [device, key, ts, kind, num, txt]")
        rows.append((device, key, ts, kind, None if num is None else float(num), txt))
    return rows


def decode_attributes(data: bytes) -> tuple[int, dict[str, Any]]:
    """A device id and its client attributes from a message body; ``ValueError`` if bad."""
    body = orjson.loads(data)
    if not isinstance(body, dict):
        raise ValueError("not an attributes message")
    device_id, values = body.get("device"), body.get("values")
    if not isinstance(device_id, int) or not isinstance(values, dict):
        raise ValueError('attributes are {"device": id, "values": {…}}')
    return device_id, values


async def _nats_error(exc: Exception) -> None:
    # nats-py's default logs a traceback for every failed attempt to reach a server.
    log.warning("NATS: %r", exc)


async def _disconnected() -> None:
    log.info("NATS disconnected (reconnecting unless closing)")


async def _reconnected() -> None:
    log.info("NATS connection back")


@dataclass(slots=True)
class BusStats:
    """Counters since start."""

    published: int = 0
    publish_failures: int = 0
    consumed: int = 0
    redelivered: int = 0
    malformed: int = 0


class JetStreamBus:
    """The connection to NATS and the stream of device data (created if missing)."""

    def __init__(self, settings: ClusterSettings) -> None:
        self.settings = settings
        self.nc: NatsClient | None = None
        self.js: JetStreamContext | None = None
        self.stats = BusStats()

    def subject(self, device_id: int) -> str:
        """The subject of a device's data: its partition, so one device stays on one subject."""
        return f"{self.settings.subject_prefix}.{device_id % self.settings.partitions}"

    async def open(self) -> None:
        """Connect and make sure the stream exists; ``ConnectionError`` when no server answers.

        Once connected, a lost connection is retried for ever (publishes wait meanwhile).
        """
        s = self.settings
        try:
            # nats-py retries the first connection for ever too: the timeout bounds that.
            async with asyncio.timeout(s.connect_timeout):
                self.nc = await nats.connect(
                    servers=s.nats_urls,
                    name="taihu",
                    max_reconnect_attempts=-1,  # a NATS node going away is routine in a cluster
                    reconnect_time_wait=0.5,
                    allow_reconnect=True,
                    error_cb=_nats_error,
                    disconnected_cb=_disconnected,
                    reconnected_cb=_reconnected,
                )
        except Exception as exc:  # no server answered in time, or refused us
            urls = ", ".join(s.nats_urls)
            raise ConnectionError(f"no NATS server answers at {urls} (TAIHU_CLUSTER_NATS_URLS) "
                                  f"within {s.connect_timeout:g} s: {exc!r}") from exc  # fmt: skip
        self.js = self.nc.jetstream(timeout=s.publish_timeout)
        await open_stream(self.nc, self.js, s)

    async def close(self) -> None:
        """Disconnect (publishes and acks are awaited before: nothing is left to flush)."""
        if self.nc is not None:
            # Not drain(): it waits its whole timeout on a pull subscription's open request.
            with contextlib.suppress(Exception):  # closing a lost connection may raise
                await self.nc.close()
            self.nc = None
            self.js = None


@dataclass(slots=True)
class BusPublisher:
    """The hub's way to the store when a bus is configured: publish, then acknowledge."""

    bus: JetStreamBus
    in_flight: int = _IN_FLIGHT
    _room: asyncio.Semaphore | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def submit_rows(
        self, rows: Sequence[Row], ok: T, failed: Callable[[str], T]
    ) -> asyncio.Future[T]:
        """Publish one device's rows; the future becomes ``ok`` once JetStream acked them.

        It becomes ``failed(reason)`` when JetStream does not ack in time: the device is then
        told the message was not taken (and sends it again).
        """
        done: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        if not rows:  # a document without values: nothing to carry, nothing to lose
            done.set_result(ok)
            return done
        if self._room is None:
            self._room = asyncio.Semaphore(self.in_flight)
        await self._room.acquire()  # waits while too many publishes are unacknowledged
        task = asyncio.get_running_loop().create_task(
            self._publish(rows, ok, failed, done), name="taihu-bus-publish"
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return done

    async def _publish(
        self, rows: Sequence[Row], ok: T, failed: Callable[[str], T], done: asyncio.Future[T]
    ) -> None:
        assert self._room is not None
        try:
            js = self.bus.js
            if js is None:
                raise ConnectionError("the message bus is not connected")
            await js.publish(self.bus.subject(rows[0][0]), encode_rows(rows),
                             stream=self.bus.settings.stream)  # fmt: skip
        except asyncio.CancelledError:
            if not done.done():
                done.set_result(failed("shutting down"))
            raise
        except Exception as exc:  # timeout, no responders, lost connection, a full stream
            self.bus.stats.publish_failures += 1
            log.warning("publish to JetStream failed: %s", exc)
            if not done.done():
                done.set_result(failed(self._why(exc)))
        else:
            self.bus.stats.published += 1
            if not done.done():
                done.set_result(ok)
        finally:
            self._room.release()

    async def publish_attributes(self, device_id: int, values: dict[str, Any]) -> None:
        """Publish a device's client attributes; returns once JetStream acked them.

        Raises ``ConnectionError`` when it did not (the device is told to send them again).
        """
        body = orjson.dumps({"device": device_id, "values": values})
        try:
            js = self.bus.js
            if js is None:
                raise ConnectionError("the message bus is not connected")
            await js.publish(self.bus.subject(device_id), body, stream=self.bus.settings.stream,
                             headers={KIND: ATTRIBUTES})  # fmt: skip
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # timeout, no responders, lost connection, a full stream
            self.bus.stats.publish_failures += 1
            raise ConnectionError(self._why(exc)) from exc
        self.bus.stats.published += 1

    def _why(self, exc: Exception) -> str:
        """What the device is told: the stream's own words when it refused the message."""
        if isinstance(exc, nats.js.errors.APIError) and exc.description:
            # e.g. "maximum bytes exceeded": full (TAIHU_CLUSTER_STREAM_MAX_BYTES)
            return f"stream {self.bus.settings.stream} refused it: {exc.description}"
        return str(exc) or type(exc).__name__

    async def close(self) -> None:
        """Wait for the publishes under way (each ends within the publish timeout)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


@dataclass(slots=True)
class BusIngest:
    """An ingest process's consumers: one per leased partition, each storing in stream order.

    Every partition this process leases (``bus_partitions``) has a task of its own: fetch a
    batch, hand its rows to the ingest queue (shared by all partitions, so one commit carries
    many), wait until all of it is committed, acknowledge it, fetch the next. A partition is
    consumed by one process at a time and batch after batch, so a device's messages are stored
    in the order they were sent, whatever the number of ingest processes.
    """

    bus: JetStreamBus
    queue: IngestQueue
    attributes: Callable[[int, dict[str, Any]], Awaitable[None]]
    on_ready: Callable[[], None] | None = None
    # Told when this process starts and stops storing a partition (the hub's observer).
    observer: Callable[[], HubObserver | None] = lambda: None
    leases: PartitionLeases | None = None
    _consumers: dict[int, asyncio.Task[None]] = field(default_factory=dict)

    async def start(self) -> None:
        """Create the partitions' consumers if missing, join the ingest processes, consume."""
        nc, js, s = self.bus.nc, self.bus.js, self.bus.settings
        assert nc is not None, "open the bus first"
        assert js is not None
        await when_ready("the partitions' consumers", lambda: partition_consumers(js, s),
                         s.connect_timeout)  # fmt: skip
        self.leases = PartitionLeases(nc, s, take=self._take, give_back=self._give_back)
        await self.leases.start()
        log.info("consuming %s as ingest process %s", s.stream, self.leases.member)
        if self.on_ready is not None:
            self.on_ready()

    def _take(self, partition: int) -> None:
        # A consumer of this partition from an earlier lease may still finish its batch.
        previous = self._consumers.get(partition)
        task = asyncio.get_running_loop().create_task(
            self._consume(partition, previous), name=f"taihu-bus-ingest-{partition}"
        )
        self._consumers[partition] = task
        task.add_done_callback(lambda done: self._forget(partition, done))

    def _forget(self, partition: int, task: asyncio.Task[None]) -> None:
        if self._consumers.get(partition) is task:
            del self._consumers[partition]
        if not task.cancelled() and task.exception() is not None:
            log.error("partition %d: consumer failed", partition, exc_info=task.exception())

    async def _give_back(self, partition: int) -> None:
        task = self._consumers.get(partition)
        if task is not None:
            await asyncio.wait({task})  # it ends after acknowledging what it fetched

    async def _consume(self, partition: int, previous: asyncio.Task[None] | None) -> None:
        if previous is not None:
            await asyncio.wait({previous})
        js, s, leases = self.bus.js, self.bus.settings, self.leases
        assert js is not None
        assert leases is not None
        # Before its first batch: the observer judges its devices' silence from now on.
        await self._tell(partition, "took")
        wait = min(_FETCH_WAIT, s.lease_seconds / 4)  # a fetch ends while the lease is valid
        failing = False
        sub = await js.pull_subscribe_bind(durable=consumer_name(s, partition), stream=s.stream)
        try:
            while leases.holds(partition):
                raise_if_cancelled()  # a fetch may return from stop()'s cancel
                if not leases.valid(partition):  # not renewed lately: fetch nothing new
                    await asyncio.sleep(wait)
                    continue
                try:
                    messages = await sub.fetch(s.fetch_batch, timeout=wait)
                except nats.errors.TimeoutError:
                    continue
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # a NATS node away: the client reconnects, we ask again
                    if not failing:
                        log.warning("fetch from partition %d failed: %s", partition, exc)
                    failing = True
                    await asyncio.sleep(wait)
                    continue
                failing = False
                try:
                    await self._store(messages)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("partition %d: a batch not handled", partition)
                    await asyncio.sleep(_RETRY_DELAY)
                    for msg in messages:  # what was not acknowledged comes again, in order
                        with contextlib.suppress(Exception):  # acknowledged already
                            await msg.nak()
        finally:
            with contextlib.suppress(Exception):  # the connection may be gone
                await sub.unsubscribe()
        # What it fetched is stored: unless taken again meanwhile (a consumer waits for this
        # one), the observer forgets its devices before the lease is given back.
        if self._consumers.get(partition) is asyncio.current_task():
            await self._tell(partition, "gave_back")

    async def _tell(self, partition: int, hook: Literal["took", "gave_back"]) -> None:
        observer = self.observer()
        if observer is None:
            return
        told = observer.took if hook == "took" else observer.gave_back
        try:
            await told(partition, self.bus.settings.partitions)
        except asyncio.CancelledError:
            raise
        except Exception:  # the observer's fault must not stop the ingest
            log.exception("partition %d: the observer failed on %s", partition, hook)

    async def _store(self, messages: list[Msg]) -> None:
        """Store a batch in order; acknowledge it once all is committed.

        After a message that could not be stored, the later ones are given back too (NAK, in
        order, even if stored): JetStream delivers them again first, and they are stored again
        after it, so the last sent is still the last stored.
        """
        outcomes: list[asyncio.Future[bool] | bool | None] = []  # None: dropped, malformed
        refused = False
        for msg in messages:
            if msg.metadata.num_delivered > 1:
                self.bus.stats.redelivered += 1
            try:
                if msg.headers and msg.headers.get(KIND) == ATTRIBUTES:
                    device_id, values = decode_attributes(msg.data)
                    ok = not refused and await self._put(device_id, values)
                    if ok is None:
                        await msg.term()
                    outcomes.append(ok)
                    refused = refused or ok is False
                    continue
                rows = decode_rows(msg.data)
            except ValueError as exc:
                # Never a transport's message: redelivering it would fail again forever.
                self.bus.stats.malformed += 1
                log.error("dropped a malformed message on %s: %s", msg.subject, exc)
                await msg.term()
                outcomes.append(None)
                continue
            if refused:
                outcomes.append(False)
            else:
                outcomes.append(await self.queue.submit_rows(rows, _STORED, _not_stored))
        await self._committed(messages, [o for o in outcomes if isinstance(o, asyncio.Future)])
        given_back = False
        for msg, outcome in zip(messages, outcomes, strict=True):
            if outcome is None:
                continue
            stored = outcome.result() if isinstance(outcome, asyncio.Future) else outcome
            if stored and not given_back:
                await msg.ack()  # after the commit: a crash before it means a redelivery
                self.bus.stats.consumed += 1
                continue
            if not given_back:
                given_back = True
                await asyncio.sleep(_RETRY_DELAY)  # the store refused: not at once again
            await msg.nak()  # at once and in order: delivered again before anything newer

    async def _committed(self, messages: list[Msg], stored: list[asyncio.Future[bool]]) -> None:
        """Wait for the commits; while they take long, tell JetStream the batch is in hand.

        Otherwise a slow commit would let JetStream deliver the batch again, and what follows
        it, to another process, while this one's commit may still land after theirs.
        """
        ack_wait = self.bus.settings.ack_wait
        pending = set(stored)
        while pending:
            _, pending = await asyncio.wait(pending, timeout=ack_wait / 3)
            if pending:
                for msg in messages:
                    with contextlib.suppress(Exception):  # connection lost: redelivered anyway
                        await msg.in_progress()

    async def _put(self, device_id: int, values: dict[str, Any]) -> bool | None:
        """Store client attributes: True, False to try again, None when it never can."""
        try:
            await self.attributes(device_id, values)
        except asyncio.CancelledError:
            raise
        except sa.exc.IntegrityError as exc:  # the device was deleted: nowhere to keep them
            log.error("client attributes of device %s dropped: %s", device_id, exc.orig)
            return None
        except Exception as exc:  # the database away: told, tried again
            log.warning("client attributes of device %s not stored: %s", device_id, exc)
            return False
        return True

    async def stop(self) -> None:
        """Finish and acknowledge the batches under way, give the partitions back, stop.

        What is not acknowledged within the ack wait is delivered again later.
        """
        if self.leases is not None:
            await self.leases.stop(within=self.bus.settings.ack_wait)
        for task in list(self._consumers.values()):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.queue.close()


def _not_stored(_error: str) -> bool:
    return False


class BusNode:
    """The bus as one process uses it: a transport publishes through it, an ingest consumes.

    ``publish``: the hub's rows go to JetStream instead of its own ingest queue. ``consume``:
    the hub's ingest queue stores what the stream holds (its observer, the alarm engine, sees
    every committed batch as in one process). Either way, commands to devices go between
    processes over core NATS (``taihu.devices.commands``), and the hub's figures are published
    for the overview across processes (``taihu.devices.fleet``), which a process serving it
    (``overview``) reads.
    """

    def __init__(
        self, settings: ClusterSettings, hub: DeviceHub, *, publish: bool, consume: bool,
        on_ready: Callable[[], None] | None = None, overview: bool = False,
    ) -> None:  # fmt: skip
        self.bus = JetStreamBus(settings)
        self.hub = hub
        self.publisher = BusPublisher(self.bus) if publish else None
        self.commands = BusCommands(self.bus, hub)
        self.fleet = Fleet(self.bus, hub, settings.plays, reads=overview)
        self.ingest = None
        if consume:
            self.ingest = BusIngest(self.bus, hub.ingest, hub.put_client_attributes, on_ready,
                                    observer=lambda: hub.observer)  # fmt: skip

    async def start(self) -> None:
        """Connect, create the stream if missing, then publish and consume as configured."""
        await self.bus.open()
        await self.commands.start()
        await self.fleet.start()
        if self.publisher is not None:
            self.hub.bus_sink = self.publisher
            self.hub.attribute_sink = self.publisher.publish_attributes
        if self.ingest is not None:
            await self.ingest.start()

    async def stop(self) -> None:
        """Stop consuming (storing what was fetched), finish the publishes, disconnect.

        Called after the hub stopped: no new rows come from its connections.
        """
        if self.ingest is not None:
            await self.ingest.stop()
        await self.fleet.stop()
        if self.publisher is not None:
            await self.publisher.close()
        await self.commands.stop()
        await self.bus.close()
