"""Device data over NATS JetStream: transports publish, ingest processes consume and store.

    transport ──publish──► stream (file storage, R replicas) ──durable pull consumer──► ingest
    (PUBACK / HTTP 200 once      subjects PREFIX.PARTITION        (shared by every ingest   │
     JetStream acked the publish)  PARTITION = device % N          process: queue semantics)  ▼
                                                       IngestQueue ─► store ─► commit ─► ack

A transport acknowledges a device only once JetStream has acknowledged the publish, so nothing
acknowledged lives only in a transport's memory. An ingest process acknowledges JetStream only
after the batch is committed; if it dies first, JetStream delivers the messages again (after
``ack_wait``) to another ingest process. Stored twice, a point changes nothing: the store is keyed
by (device, key, ts), keeps the newest ts as the latest value and rolls up only the rows an
insert added (``taihu.devices.tsdb``), so order between messages does not change what is stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import nats
import nats.errors
import nats.js.errors
import orjson
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StorageType, StreamConfig

from taihu.devices.commands import BusCommands
from taihu.devices.hub import DeviceHub
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
        config = StreamConfig(
            name=s.stream,
            subjects=[f"{s.subject_prefix}.>"],
            storage=StorageType.FILE,
            num_replicas=s.replicas,
        )
        try:
            await self.js.add_stream(config)
        except nats.js.errors.BadRequestError:
            # Made by another process with other settings: it is kept as it is (an operator's
            # change of replicas goes through `nats stream edit`, not a restart).
            info = await self.js.stream_info(s.stream)
            log.info("stream %s exists with %s replicas", s.stream, info.config.num_replicas)

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
        except Exception as exc:  # timeout, no responders, lost connection: all transient
            self.bus.stats.publish_failures += 1
            log.warning("publish to JetStream failed: %s", exc)
            if not done.done():
                done.set_result(failed(str(exc) or type(exc).__name__))
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
        except Exception as exc:  # timeout, no responders, lost connection: all transient
            self.bus.stats.publish_failures += 1
            raise ConnectionError(str(exc) or type(exc).__name__) from exc
        self.bus.stats.published += 1

    async def close(self) -> None:
        """Wait for the publishes under way (each ends within the publish timeout)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


@dataclass(slots=True)
class BusIngest:
    """An ingest process's consumer: fetch, store with the ingest queue, ack after commit."""

    bus: JetStreamBus
    queue: IngestQueue
    attributes: Callable[[int, dict[str, Any]], Awaitable[None]]
    on_ready: Callable[[], None] | None = None
    _task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Bind the durable consumer (created if missing) and start consuming."""
        js, s = self.bus.js, self.bus.settings
        assert js is not None, "open the bus first"
        config = ConsumerConfig(
            durable_name=s.consumer,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=s.ack_wait,
            max_ack_pending=max(s.fetch_batch * 8, 1000),
        )
        sub = await js.pull_subscribe(
            f"{s.subject_prefix}.>", durable=s.consumer, stream=s.stream, config=config
        )
        self._task = asyncio.get_running_loop().create_task(self._run(sub), name="taihu-bus-ingest")
        log.info("consuming %s as %s", s.stream, s.consumer)
        if self.on_ready is not None:
            self.on_ready()

    async def _run(self, sub: JetStreamContext.PullSubscription) -> None:
        while True:
            try:
                messages = await sub.fetch(self.bus.settings.fetch_batch, timeout=_FETCH_WAIT)
            except nats.errors.TimeoutError:
                continue
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a NATS node away: the client reconnects, we ask again
                log.warning("fetch from JetStream failed: %s", exc)
                await asyncio.sleep(_FETCH_WAIT)
                continue
            await self._store(messages)

    async def _store(self, messages: list[Msg]) -> None:
        waiting: list[tuple[Msg, asyncio.Future[bool]]] = []
        for msg in messages:
            if msg.metadata.num_delivered > 1:
                self.bus.stats.redelivered += 1
            try:
                if msg.headers and msg.headers.get(KIND) == ATTRIBUTES:
                    device_id, values = decode_attributes(msg.data)
                    if await self._put(device_id, values):
                        await msg.ack()
                        self.bus.stats.consumed += 1
                    else:
                        await msg.nak(delay=_RETRY_DELAY)
                    continue
                rows = decode_rows(msg.data)
            except ValueError as exc:
                # Never a transport's message: redelivering it would fail again forever.
                self.bus.stats.malformed += 1
                log.error("dropped a malformed message on %s: %s", msg.subject, exc)
                await msg.term()
                continue
            waiting.append((msg, await self.queue.submit_rows(rows, _STORED, _not_stored)))
        for msg, stored in waiting:
            if await stored:
                await msg.ack()  # after the commit: a crash before it means a redelivery
                self.bus.stats.consumed += 1
            else:
                await msg.nak(delay=_RETRY_DELAY)

    async def _put(self, device_id: int, values: dict[str, Any]) -> bool:
        try:
            await self.attributes(device_id, values)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the database away, the device deleted: told, tried again
            log.warning("client attributes of device %s not stored: %s", device_id, exc)
            return False
        return True

    async def stop(self) -> None:
        """Stop fetching; what was fetched and not acked is delivered again later."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.queue.close()


def _not_stored(_error: str) -> bool:
    return False


class BusNode:
    """The bus as one process uses it: a transport publishes through it, an ingest consumes.

    ``publish``: the hub's rows go to JetStream instead of its own ingest queue. ``consume``:
    the hub's ingest queue stores what the stream holds (its observer, the alarm engine, sees
    every committed batch as in one process). Either way, commands to devices go between
    processes over core NATS (``taihu.devices.commands``).
    """

    def __init__(
        self, settings: ClusterSettings, hub: DeviceHub, *, publish: bool, consume: bool,
        on_ready: Callable[[], None] | None = None,
    ) -> None:  # fmt: skip
        self.bus = JetStreamBus(settings)
        self.hub = hub
        self.publisher = BusPublisher(self.bus) if publish else None
        self.commands = BusCommands(self.bus, hub)
        self.ingest = None
        if consume:
            self.ingest = BusIngest(self.bus, hub.ingest, hub.put_client_attributes, on_ready)

    async def start(self) -> None:
        """Connect, create the stream if missing, then publish and consume as configured."""
        await self.bus.open()
        await self.commands.start()
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
        if self.publisher is not None:
            await self.publisher.close()
        await self.commands.stop()
        await self.bus.close()
