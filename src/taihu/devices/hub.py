"""The device hub: ThingsBoard's device API on the MQTT transport, plus what HTTP ingest shares.

The hub is the façade the transports and the assembly hold; it keeps the sessions and routes of
the devices of this process, ingest and the attributes, and wires its parts:

    taihu.devices.session     one device's MQTT session: the device API, routed by topic
    taihu.devices.refusals    rate limits, and the answer to every refused message
    taihu.devices.downlink    commands to devices: server-side RPC, shared attribute pushes
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
import time
from collections import Counter
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from typing import Any, Protocol

from taihu.core import N_, Clock, Database, PeriodicJob, SystemClock, drain, singleton_lease
from taihu.devices.downlink import Downlink
from taihu.devices.gateway import GatewaySession
from taihu.devices.ingest import IngestQueue
from taihu.devices.jobs import enforce_retention
from taihu.devices.mqtt.codec import Connect
from taihu.devices.mqtt.reasons import Reason
from taihu.devices.mqtt.transport import Ack, Connection, MqttListener, Refusal, TransportLimits
from taihu.devices.refusals import Refusals, not_stored_message
from taihu.devices.rejects import RejectLog
from taihu.devices.remote import CommandRouter, RemoteRoute
from taihu.devices.service import DeviceAuth, DeviceService
from taihu.devices.session import TELEMETRY, DeviceSession, DeviceState, HubStats, settled
from taihu.devices.stamps import DeviceStamps
from taihu.devices.tsdb import TimeSeriesStore, store_for
from taihu.devices.values import (
    BadPayload,
    Point,
    Row,
    parse_json,
    parse_telemetry,
    point_rows,
    telemetry_rows,
    typed_value,
    untimed_entries,
)
from taihu.settings import MqttSettings

__all__ = ["DeviceHub", "DeviceSession", "HubObserver", "HubStats", "RowSink"]

log = logging.getLogger("taihu.devices")

_RETENTION_EVERY = 3600.0  # seconds
_STOP_WITHIN = 10.0  # seconds the work under way gets to finish at shutdown


class RowSink(Protocol):
    """Where the hub hands rows: the in-process ingest queue, or the message bus."""

    async def submit_rows(
        self, rows: Sequence[Row], ok: Ack, failed: Callable[[str], Ack]
    ) -> asyncio.Future[Ack]:
        """Take one device's rows; the future becomes ``ok`` once they are safe, else ``failed``."""


class HubObserver(Protocol):
    """What a context above the hub (alarms, presence) learns of devices.

    The hooks of connections and stored data are cheap and never block; the bus's hooks of
    partitions (device id mod partitions, whose data this process stores) may wait on the
    database, and the bus waits for them before it consumes or gives the partition back.
    """

    def connected(self, device_id: int) -> None:
        """A device opened its first session."""

    def disconnected(self, device_id: int) -> None:
        """A device closed its last session."""

    def stored(self, rows: list[Row]) -> None:
        """A batch of rows (of many devices) was committed to the store."""

    async def took(self, partition: int, partitions: int) -> None:
        """This process stores the partition's devices from now on (before any of it is)."""

    async def gave_back(self, partition: int, partitions: int) -> None:
        """This process stored the last of the partition's data it fetched: another stores it."""


_STORED = Ack()  # the acknowledgement of stored telemetry (shared: it is immutable)


class DeviceHub:
    """Sessions, ingest and the device API, for one process."""

    def __init__(
        self,
        db: Database,
        settings: MqttSettings | None = None,
        *,
        clock: Clock | None = None,
        store: TimeSeriesStore | None = None,
        stamp_lane: tuple[int, int] = (0, 1),
    ) -> None:
        self.db = db
        self.settings = settings or MqttSettings()
        self.clock = clock or SystemClock()
        self.store = store or store_for(db)
        self.ingest = IngestQueue(
            self.store, writers=self.settings.ingest_writers or self.store.writers
        )
        self.stamps = DeviceStamps(*stamp_lane)
        self.stats = HubStats()
        self.rejects = RejectLog(db)
        self.refusals = Refusals(self.stats, self.rejects)
        self.downlink = Downlink(self)
        self.sessions: dict[int, list[DeviceSession]] = {}
        self.listener: MqttListener | None = None
        self.started_at = time.time()
        self._watchers: set[asyncio.Queue[tuple[int, dict[str, Any]]]] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self.gateway_factory: Callable[[DeviceSession], GatewaySession] = GatewaySession
        # child device id -> the gateway session speaking for it, and the child's name there
        self.gateway_children: dict[int, tuple[GatewaySession, str]] = {}
        self._retention = PeriodicJob(
            "taihu-retention",
            self._enforce_retention,
            _RETENTION_EVERY,
            stop_within=_STOP_WITHIN,
            lease=singleton_lease(db, "taihu-retention", _RETENTION_EVERY),
        )
        # Told of connections and stored data (taihu.alarms); set by the assembly (observe).
        self.observer: HubObserver | None = None
        self.remote: dict[int, RemoteRoute] = {}  # devices another transport speaks for
        # With a message bus (taihu.devices.bus) rows go there and an ingest process stores
        # them; without (None), to this process's ingest queue, whichever it is at the time.
        self.bus_sink: RowSink | None = None
        # Likewise client attributes: publishes them (raising OSError when it cannot).
        self.attribute_sink: Callable[[int, dict[str, Any]], Awaitable[None]] | None = None
        # Likewise commands to devices this process does not hold (taihu.devices.commands).
        self.commands: CommandRouter | None = None
        # The parts' API, on the hub where sessions, gateways and transports look for it.
        self.state = self.refusals.state
        self.refuse = self.refusals.refuse
        self.reject_payload = self.refusals.reject_payload
        self.reject_topic = self.refusals.reject_topic
        self.reject_rate = self.refusals.reject_rate
        self.refuse_child = self.refusals.refuse_child
        self.admit_points = self.refusals.admit_points
        self.failed = self.refusals.failed
        self.rpc = self.downlink.rpc
        self.rpc_answered = self.downlink.rpc_answered
        self.push_shared = self.downlink.push_shared

    @property
    def devices(self) -> dict[int, DeviceState]:
        """What the hub knows of each device that spoke to it (see ``refusals``)."""
        return self.refusals.devices

    def observe(self, observer: HubObserver) -> None:
        """Tell ``observer`` of connections and of every batch the ingest queue commits."""
        self.observer = observer
        self.ingest.on_stored = observer.stored

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def limits(self) -> TransportLimits:
        """The transport's limits from the settings."""
        s = self.settings
        return TransportLimits(
            connect_timeout=s.connect_timeout,
            max_packet_size=s.max_packet_size,
            receive_maximum=s.receive_maximum,
        )

    async def start(self, sock: socket.socket) -> None:
        """Serve MQTT on a bound socket."""
        context = None
        if self.settings.tls_cert and self.settings.tls_key:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(self.settings.tls_cert, self.settings.tls_key)
        self.listener = MqttListener(self, self.limits, ssl_context=context)
        await self.listener.start(sock)
        self._retention.start()

    async def _enforce_retention(self) -> None:
        await enforce_retention(self.db, self.store, self.clock)

    async def stop(self) -> None:
        """Stop the listener, let the handlers under way finish, and store what is queued."""
        await self._retention.stop()
        if self.listener is not None:
            await self.listener.stop()
        # Cancelling a handler mid-transaction would hand its connection back to the pool
        # under a CancelledError: they get a bounded while to finish instead.
        await drain(self._tasks, _STOP_WITHIN)
        await self.ingest.close()
        await self.rejects.stop()

    def now_ms(self) -> int:
        """The hub's time in milliseconds since the epoch."""
        return int(self.clock.now().timestamp() * 1000)

    async def stamp(self, device_id: int, document: Any) -> int:
        """The time of the first object without ``ts`` in a document (see ``stamps``).

        The next ones are ``stamps.lanes`` apart: pass that as ``step`` to ``parse_telemetry``.
        """
        count = untimed_entries(document)
        return await self.stamps.reserve(self.store, device_id, count, self.now_ms())

    async def telemetry_points(self, device_id: int, document: Any) -> list[Point]:
        """The points of a decoded telemetry document, objects without ``ts`` stamped."""
        first = await self.stamp(device_id, document)
        return parse_telemetry(document, first, self.stamps.lanes)

    def spawn(
        self, work: Awaitable[Ack], auth: DeviceAuth | None = None, topic: str = ""
    ) -> asyncio.Future[Ack]:
        """Run a handler in the background; its failure becomes an error acknowledgement."""

        async def _guarded() -> Ack:
            try:
                return await work
            except Exception as exc:
                return self.failed(auth, topic, exc)

        task = asyncio.get_running_loop().create_task(_guarded())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # -- sessions ------------------------------------------------------------------------------

    async def authenticate(self, token: str) -> DeviceAuth | None:
        """The device of an access token."""
        async with self.db.session() as session:
            return await DeviceService(session, self.clock).authenticate(token)

    async def connect(self, packet: Connect, connection: Connection) -> DeviceSession | Refusal:
        """Authenticate a CONNECT: the user name is the device's access token."""
        if not packet.username:
            self.stats.refused += 1
            return Refusal(Reason.NOT_AUTHORIZED, 0x04, "no access token in the user name")
        auth = await self.authenticate(packet.username)
        if auth is None:
            self.stats.refused += 1
            return Refusal(Reason.BAD_USERNAME_OR_PASSWORD, 0x05, "unknown or revoked token")
        current = self.sessions.get(auth.device_id, [])
        for old in current:
            if old.connection.client_id == connection.client_id:
                old.connection.disconnect(Reason.SESSION_TAKEN_OVER, "another connection took over")
                current.remove(old)
                break
        same_token = [s for s in current if s.auth.token_hash == auth.token_hash]
        if len(same_token) >= self.settings.max_connections_per_token:
            self.stats.refused += 1
            return Refusal(
                Reason.QUOTA_EXCEEDED, 0x03,
                f"{len(same_token)} connections use this token already (the limit)",
            )  # fmt: skip
        session = DeviceSession(self, auth, connection)
        if auth.is_gateway:
            session.gateway = self.gateway_factory(session)
        self.sessions.setdefault(auth.device_id, []).append(session)
        if len(self.sessions[auth.device_id]) == 1:
            if self.observer is not None:
                self.observer.connected(auth.device_id)
            self._moved(auth.device_id)
        self.stats.connections += 1
        self.state(auth).last_activity = time.time()
        log.debug("device %s (%d) connected as %s", auth.name, auth.device_id, connection)
        return session

    def unregister(self, session: DeviceSession) -> None:
        """Forget a closed session."""
        current = self.sessions.get(session.auth.device_id, [])
        if session in current:
            current.remove(session)
        gone = not current and self.sessions.pop(session.auth.device_id, None) is not None
        if gone and self.observer is not None:
            self.observer.disconnected(session.auth.device_id)
        if gone:
            self._moved(session.auth.device_id)

    def attach_remote(self, device_id: int, route: RemoteRoute) -> None:
        """Another transport speaks for a device now (see ``taihu.devices.remote``)."""
        fresh = self.remote.get(device_id) is None
        self.remote[device_id] = route
        if fresh and self.observer is not None:
            self.observer.connected(device_id)
        if fresh:
            self._moved(device_id)

    def detach_remote(self, device_id: int) -> None:
        """The other transport lost the device."""
        if self.remote.pop(device_id, None) is not None:
            if self.observer is not None:
                self.observer.disconnected(device_id)
            self._moved(device_id)

    def route_child(self, device_id: int, gateway: GatewaySession, name: str) -> None:
        """A gateway speaks for a child device under ``name`` (commands go through it)."""
        fresh = device_id not in self.gateway_children
        self.gateway_children[device_id] = (gateway, name)
        if fresh:
            self._moved(device_id)

    def unroute_child(self, device_id: int, gateway: GatewaySession | None = None) -> None:
        """A gateway (``gateway``, or whichever) no longer speaks for a child device."""
        current = self.gateway_children.get(device_id)
        if current is not None and (gateway is None or current[0] is gateway):
            del self.gateway_children[device_id]
            self._moved(device_id)

    def reachable(self, device_id: int) -> bool:
        """Whether this process holds a way to the device (a session, a gateway, a route)."""
        return (
            device_id in self.sessions
            or device_id in self.gateway_children
            or device_id in self.remote
        )

    def _moved(self, device_id: int) -> None:
        if self.commands is not None:  # other processes' commands follow the device here
            self.commands.moved(device_id)

    async def online(self, device_ids: Sequence[int]) -> set[int]:
        """Those of the devices held here or, with a message bus, by another process."""
        here = {d for d in device_ids if self.reachable(d)}
        if self.commands is None:
            return here
        return here | await self.commands.online([d for d in device_ids if d not in here])

    def connected(self, device_id: int) -> int:
        """How many sessions a device has open."""
        return len(self.sessions.get(device_id, []))

    def forget_child(self, device_id: int) -> None:
        """A device changed gateway: gateways look its name up afresh, commands wait for that."""
        self.unroute_child(device_id)
        for sessions in self.sessions.values():
            for session in sessions:
                if session.gateway is not None:
                    session.gateway.forget(device_id)

    def drop(self, device_id: int, reason: Reason = Reason.NOT_AUTHORIZED) -> None:
        """Disconnect every session of a device (its token was rotated or revoked)."""
        for session in self.sessions.get(device_id, []):
            session.connection.disconnect(reason, "the access token was revoked")

    # -- telemetry and attributes --------------------------------------------------------------

    def decode(self, payload: bytes) -> Any:
        """JSON of a payload within the size limit."""
        return parse_json(payload, limit=self.settings.max_packet_size)

    async def submit_telemetry(
        self, auth: DeviceAuth, payload: bytes, qos: int = 1
    ) -> Awaitable[Ack]:
        """Queue a telemetry payload; the awaitable resolves once it is stored."""
        document = self.decode(payload)
        now = await self.stamp(auth.device_id, document)
        rows = telemetry_rows(document, now, auth.device_id, self.stamps.lanes)
        refused = self.admit_points(auth, len(rows), qos, topic=TELEMETRY)
        if refused is not None:
            return settled(refused)
        return await self.submit_rows(auth.device_id, rows)

    async def submit_points(
        self, device_id: int, points: list[Point], transport: str = "mqtt"
    ) -> Awaitable[Ack]:
        """Queue points of one device (waits while the queue is full)."""
        return await self.submit_rows(device_id, point_rows(device_id, points), transport)

    async def submit_rows(
        self, device_id: int, rows: list[Row], transport: str = "mqtt"
    ) -> asyncio.Future[Ack]:
        """Queue rows of one device; the future becomes its acknowledgement once stored."""

        def not_stored(error: str) -> Ack:  # transient: the store may be back for a resend
            self.stats.rejected += 1
            message = not_stored_message(error)
            ack = Ack(Reason.IMPLEMENTATION_SPECIFIC_ERROR, message.render(), transient=True,
                      why=message)  # fmt: skip
            self.rejects.record(device_id, "not_stored", ack.reason, message,
                                transport=transport)  # fmt: skip
            return ack

        sink: RowSink = self.bus_sink or self.ingest
        stored = await sink.submit_rows(rows, _STORED, not_stored)
        if self._watchers:
            stored.add_done_callback(lambda f: self._notify(device_id, rows, f))
        return stored

    def _notify(self, device_id: int, rows: list[Row], stored: asyncio.Future[Ack]) -> None:
        if stored.cancelled() or stored.result() is not _STORED:
            return
        latest = {key: {"ts": ts, "value": typed_value(kind, num, txt)}
                  for _, key, ts, kind, num, txt in rows}  # fmt: skip
        for queue in self._watchers:
            with contextlib.suppress(asyncio.QueueFull):  # a slow console misses updates
                queue.put_nowait((device_id, latest))

    async def watch(self) -> AsyncGenerator[tuple[int, dict[str, Any]], None]:
        """Stored telemetry as it arrives: ``(device id, {key: {ts, value}})``."""
        queue: asyncio.Queue[tuple[int, dict[str, Any]]] = asyncio.Queue(maxsize=1000)
        self._watchers.add(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self._watchers.discard(queue)

    async def store_client_attributes(self, auth: DeviceAuth, values: dict[str, Any]) -> Ack:
        """Store attributes a device reports (with a bus: once the bus has taken them)."""
        if self.attribute_sink is not None:
            await self.attribute_sink(auth.device_id, values)
        else:
            await self.put_client_attributes(auth.device_id, values)
        return Ack()

    async def put_client_attributes(self, device_id: int, values: dict[str, Any]) -> None:
        """Write a device's client attributes to the database."""
        async with self.db.session() as session:
            await DeviceService(session, self.clock).put_attributes(device_id, "client", values)

    async def read_attributes(
        self, device_id: int, client_keys: object, shared_keys: object
    ) -> dict[str, dict[str, Any]]:
        """``{"client": {…}, "shared": {…}}`` for comma-separated key lists (None = all)."""
        answer: dict[str, dict[str, Any]] = {}
        async with self.db.session() as session:
            registry = DeviceService(session, self.clock)
            for scope, keys in (("client", client_keys), ("shared", shared_keys)):
                if keys is None and (client_keys is not None or shared_keys is not None):
                    continue
                wanted = None
                if keys is not None:
                    if not isinstance(keys, str | list):
                        raise BadPayload(N_("{scope}Keys must be a comma-separated string"),
                                         scope=scope)  # fmt: skip
                    wanted = keys.split(",") if isinstance(keys, str) else [str(k) for k in keys]
                    wanted = [k.strip() for k in wanted if k.strip()]
                rows = await registry.attributes(device_id, scope, wanted)
                if rows:
                    answer[scope] = {a.key: a.value for a in rows}
        return answer

    def session_limits(self, auth: DeviceAuth) -> dict[str, Any]:
        """The answer to ``getSessionLimits``, in ThingsBoard's shape."""
        # ThingsBoard's names; empty means no limit. Our message limit counts every message,
        # telemetry or not, so it is both "messages" and "telemetryMessages".
        limits = {"messages": auth.rate_limits, "telemetryMessages": auth.rate_limits,
                  "telemetryDataPoints": auth.data_point_limits}  # fmt: skip
        answer: dict[str, Any] = {
            "maxPayloadSize": self.settings.max_packet_size,
            "maxInflightMessages": self.settings.receive_maximum,
            "rateLimits": limits,
        }
        if auth.is_gateway:
            # Child devices share the gateway's connection and so its limits.
            answer["gatewayRateLimits"] = limits
        return answer

    def overview(self) -> dict[str, Any]:
        """Figures for the hub overview."""
        elapsed = max(1.0, time.time() - self.started_at)
        return {
            "connected_devices": len(self.sessions),
            "sessions": sum(len(v) for v in self.sessions.values()),
            "messages": self.stats.messages,
            "messages_per_second": round(self.stats.messages / elapsed, 2),
            "rejected": self.stats.rejected,
            "refused_connections": self.stats.refused,
            "points_written": self.ingest.stats.points_written,
            "pending_points": self.ingest.stats.pending_points,
            "malformed_by_device": dict(
                Counter({d: s.malformed for d, s in self.devices.items() if s.malformed})
            ),
            "mqtt_port": self.listener.port if self.listener else None,
        }
