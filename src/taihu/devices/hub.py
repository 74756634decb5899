"""The device hub: ThingsBoard's device API on the MQTT transport, plus what HTTP ingest shares.

    topic (device → hub)                          what happens
    v1/devices/me/telemetry                        points → ingest queue → PUBACK when stored
    v1/devices/me/attributes                       client attributes stored → PUBACK
    v1/devices/me/attributes/request/{id}          answer on v1/devices/me/attributes/response/{id}
    v1/devices/me/rpc/request/{id}                 client-side RPC (getSessionLimits, …)
    v1/devices/me/rpc/response/{id}                the answer to a server-side RPC
    v1/gateway/…                                   gateways only: see taihu.devices.gateway

    topic (hub → device, after SUBSCRIBE)
    v1/devices/me/attributes                       shared attribute updates
    v1/devices/me/rpc/request/{id}                 server-side RPC

Rejections are told, never silent, and never block what follows. MQTT 5 gets a PUBACK with the
reason: 0x99 for a malformed payload, 0x90 for a topic outside the API, 0x97 (quota exceeded) over
a rate limit (at QoS 0, DISCONNECT 0x96), 0x83 when the store is unavailable. MQTT 3.1.1 has no
negative PUBACK: a permanent refusal (a resend would be refused again) is acknowledged and
dropped, a transient one (rate limit, store unavailable) is left unacknowledged and the client is
disconnected, so it sends the message again. Each is recorded on the device (see
``taihu.devices.rejects``) and counted in ``taihu_device_rejects_total``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import socket
import ssl
import time
from collections import Counter, deque
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson
from sqlalchemy.exc import InterfaceError, OperationalError

from taihu.core import (
    N_,
    Clock,
    Database,
    InvalidInput,
    Message,
    NotFound,
    PeriodicJob,
    PermissionDenied,
    SystemClock,
    TaihuError,
    drain,
    singleton_lease,
)
from taihu.devices.gateway import GatewaySession
from taihu.devices.ingest import IngestQueue
from taihu.devices.jobs import enforce_retention
from taihu.devices.limits import RateLimiter, parse_rate_limits
from taihu.devices.mqtt.codec import Connect, Publish, Subscription, topic_matches
from taihu.devices.mqtt.reasons import Reason
from taihu.devices.mqtt.transport import (
    Ack,
    Connection,
    MqttListener,
    Oversize,
    Refusal,
    TransportLimits,
)
from taihu.devices.rejects import RejectLog
from taihu.devices.remote import CommandRouter, RemoteRoute
from taihu.devices.service import DeviceAuth, DeviceService
from taihu.devices.stamps import DeviceStamps
from taihu.devices.tsdb import TimeSeriesStore, store_for
from taihu.devices.values import (
    BadPayload,
    Point,
    Row,
    parse_attributes,
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

ME = "v1/devices/me/"
TELEMETRY = ME + "telemetry"
ATTRIBUTES = ME + "attributes"
ATTR_REQUEST = ME + "attributes/request/"
ATTR_RESPONSE = ME + "attributes/response/"
RPC_REQUEST = ME + "rpc/request/"
RPC_RESPONSE = ME + "rpc/response/"
# A catalog message: the API answers it in the reader's language.
NOT_CONNECTED = N_("the device is not connected or not subscribed to RPC requests")
_RECENT_ERRORS = 20
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


@dataclass(slots=True)
class HubStats:
    """Counters of the hub since it started."""

    messages: int = 0
    rejected: int = 0
    connections: int = 0
    refused: int = 0


@dataclass(slots=True)
class DeviceState:
    """What the hub knows about one device while it runs."""

    limiter: RateLimiter  # messages
    points: RateLimiter  # telemetry data points
    malformed: int = 0
    rate_limited: int = 0
    refused_children: int = 0  # gateway items for devices the gateway does not own
    last_activity: float = 0.0
    errors: deque[tuple[float, str]] = field(default_factory=lambda: deque(maxlen=_RECENT_ERRORS))


_STORED = Ack()  # the acknowledgement of stored telemetry (shared: it is immutable)


def _not_stored(error: str) -> Message:
    return Message(N_("not stored: {error}"), error=error)


def _why(exc: BadPayload | TaihuError) -> Message:
    """The message of a refused payload or a domain error, with its values."""
    if isinstance(exc, BadPayload):
        return exc.message
    return Message(exc.template, **exc.details)


def _done(ack: Ack) -> asyncio.Future[Ack]:
    future: asyncio.Future[Ack] = asyncio.get_running_loop().create_future()
    future.set_result(ack)
    return future


class DeviceSession:
    """One MQTT connection of an authenticated device (or gateway)."""

    def __init__(self, hub: DeviceHub, auth: DeviceAuth, connection: Connection) -> None:
        self.hub = hub
        self.auth = auth
        self.connection = connection
        self.filters: set[str] = set()
        self.gateway: GatewaySession | None = None

    def subscribed(self, topic: str) -> bool:
        """Whether the client subscribed to a topic."""
        return any(topic_matches(f, topic) for f in self.filters)

    async def publish(self, packet: Publish) -> Awaitable[Ack]:  # noqa: PLR0911 - by topic
        """Route a message by topic (see the module docstring)."""
        hub, topic = self.hub, packet.topic
        hub.stats.messages += 1
        state = hub.state(self.auth)
        state.last_activity = time.time()
        if not state.limiter.take(time.monotonic()):
            return _done(hub.reject_rate(self.auth, packet.qos, topic=topic))
        try:
            if topic == TELEMETRY:
                return await hub.submit_telemetry(self.auth, packet.payload, packet.qos)
            if topic == ATTRIBUTES:
                values = parse_attributes(hub.decode(packet.payload))
                return hub.spawn(hub.store_client_attributes(self.auth, values), self.auth, topic)
            if topic.startswith(ATTR_REQUEST):
                request = hub.decode(packet.payload)
                request_id = topic[len(ATTR_REQUEST) :]
                return hub.spawn(self._attribute_request(request_id, request), self.auth, topic)
            if topic.startswith(RPC_RESPONSE):
                hub.rpc_answered(self.auth.device_id, topic[len(RPC_RESPONSE) :], packet.payload)
                return _done(Ack())
            if topic.startswith(RPC_REQUEST):
                request = hub.decode(packet.payload)
                return _done(await self._client_rpc(topic[len(RPC_REQUEST) :], request))
            if topic.startswith("v1/gateway/") and self.gateway is not None:
                return await self.gateway.publish(topic, packet.payload, packet.qos)
        except BadPayload as exc:
            return _done(hub.reject_payload(self.auth, exc.message, topic=topic))
        except Exception as exc:
            # Raised here, it would end the connection unacknowledged: the client would send
            # the message again on every reconnect, and nothing after it would get through.
            return _done(hub.failed(self.auth, topic, exc))
        return _done(
            hub.reject_topic(self.auth, topic, N_("{topic} is not a topic of the device API"))
        )

    async def too_large(self, packet: Oversize, limit: int) -> Ack:
        """A message over the maximum packet size: recorded, answered 0x97 (permanent).

        MQTT 5 would have the server DISCONNECT with 0x95, but clients that ignore the limit
        the CONNACK announced (paho) then send it again on every reconnect: a PUBACK ends it.
        """
        message = Message(N_("packet of {size} bytes exceeds the maximum of {limit}"),
                          size=packet.size, limit=limit)  # fmt: skip
        code = Reason.PACKET_TOO_LARGE if packet.qos == 0 else Reason.QUOTA_EXCEEDED
        return self.hub.refuse(self.auth, "too_large", code, message, topic=packet.topic)

    async def _attribute_request(self, request_id: str, request: Any) -> Ack:
        if not isinstance(request, dict):
            raise BadPayload(N_('an attribute request is {"clientKeys": "a,b", "sharedKeys": "c"}'))
        answer = await self.hub.read_attributes(
            self.auth.device_id, request.get("clientKeys"), request.get("sharedKeys")
        )
        await self.connection.push(ATTR_RESPONSE + request_id, orjson.dumps(answer))
        return Ack()

    async def _client_rpc(self, request_id: str, request: Any) -> Ack:
        if not isinstance(request, dict) or not isinstance(request.get("method"), str):
            raise BadPayload(N_('a client-side RPC is {"method": "…", "params": …}'))
        method = request["method"]
        result: Any
        if method == "getSessionLimits":
            result = self.hub.session_limits(self.auth)
        elif method == "getCurrentTime":
            result = {"currentTime": self.hub.now_ms()}
        else:
            result = {"error": f"unknown method {method!r}"}
        await self.connection.push(RPC_RESPONSE + request_id, orjson.dumps(result))
        return Ack()

    async def subscribe(self, subscriptions: tuple[Subscription, ...]) -> list[int]:
        """Grant the device API's topics (QoS 0 or 1), refuse others."""
        granted = []
        for s in subscriptions:
            if s.topic_filter.startswith(("v1/devices/me/", "v1/gateway/")):
                self.filters.add(s.topic_filter)
                granted.append(min(s.qos, 1))
            else:
                granted.append(Reason.NOT_AUTHORIZED)
        return granted

    async def unsubscribe(self, topic_filters: tuple[str, ...]) -> None:
        """Forget subscriptions."""
        self.filters.difference_update(topic_filters)

    async def closed(self) -> None:
        """Leave the hub's registry."""
        self.hub.unregister(self)
        if self.gateway is not None:
            await self.gateway.closed()


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
        self.sessions: dict[int, list[DeviceSession]] = {}
        self.devices: dict[int, DeviceState] = {}
        self.listener: MqttListener | None = None
        self.started_at = time.time()
        self._rpc: dict[tuple[int, str], asyncio.Future[Any]] = {}
        self._rpc_ids = itertools.count(1)
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
        self.rejects = RejectLog(db)
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

    def state(self, auth: DeviceAuth) -> DeviceState:
        """The running state of a device."""
        state = self.devices.get(auth.device_id)
        if state is None:
            state = DeviceState(
                RateLimiter(parse_rate_limits(auth.rate_limits)),
                RateLimiter(parse_rate_limits(auth.data_point_limits)),
            )
            self.devices[auth.device_id] = state
        return state

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

    # -- rejections ----------------------------------------------------------------------------

    def decode(self, payload: bytes) -> Any:
        """JSON of a payload within the size limit."""
        return parse_json(payload, limit=self.settings.max_packet_size)

    def _refused(
        self, auth: DeviceAuth | None, reason: str, code: int, message: Message, *,
        topic: str = "", transport: str = "mqtt", transient: bool = False,
        disconnect: bool = False,
    ) -> Ack:  # fmt: skip
        """Count and record a refusal on the device; the acknowledgement that tells it.

        The device is told the message in English (the reason string of ThingsBoard's API);
        the record keeps the message to show it in each reader's language.
        """
        self.stats.rejected += 1
        text = message.render()
        if auth is not None:
            state = self.state(auth)
            state.errors.append((time.time(), text))
            if reason == "malformed":
                state.malformed += 1
            elif reason in {"rate_limited", "too_many_points"}:
                state.rate_limited += 1
            self.rejects.record(
                auth.device_id, reason, code, message, transport=transport, topic=topic
            )
        return Ack(code, text, disconnect=disconnect, transient=transient)

    def failed(self, auth: DeviceAuth | None, topic: str, exc: Exception) -> Ack:
        """The answer to a message whose handling raised, told permanent from transient."""
        if isinstance(exc, BadPayload | InvalidInput):  # the message is wrong: 0x99
            if auth is None:
                return Ack(Reason.PAYLOAD_FORMAT_INVALID, str(exc))
            return self.reject_payload(auth, _why(exc), topic=topic)
        if isinstance(exc, PermissionDenied | NotFound):  # acts for what it may not: 0x87
            return self._refused(auth, "not_authorized", Reason.NOT_AUTHORIZED, _why(exc),
                                 topic=topic)  # fmt: skip
        if isinstance(exc, OSError | TimeoutError | OperationalError | InterfaceError):
            # The database is unreachable or busy: the same message may pass later.
            log.warning("device message on %s not handled: %s", topic, exc)
            return self._refused(auth, "not_stored", Reason.IMPLEMENTATION_SPECIFIC_ERROR,
                                 _not_stored(str(exc)), topic=topic, transient=True)  # fmt: skip
        # A fault of ours on this message: it would fail again, so it must not block the
        # device (a 3.1.1 client gets it acknowledged and dropped).
        log.error("device message on %s failed", topic, exc_info=exc)
        return self._refused(auth, "internal", Reason.IMPLEMENTATION_SPECIFIC_ERROR,
                             Message(N_("internal error")), topic=topic)  # fmt: skip

    def refuse(
        self, auth: DeviceAuth, reason: str, code: int, message: Message, *, topic: str = "",
        transport: str = "mqtt",
    ) -> Ack:  # fmt: skip
        """A permanent refusal of a message (reason: a key of ``rejects.REASONS``), recorded."""
        return self._refused(auth, reason, code, message, topic=topic, transport=transport)

    def reject_payload(
        self, auth: DeviceAuth, message: Message, *, topic: str = "", transport: str = "mqtt"
    ) -> Ack:
        """A malformed payload: counted, recorded, answered with 0x99 (permanent)."""
        return self._refused(auth, "malformed", Reason.PAYLOAD_FORMAT_INVALID, message,
                             topic=topic, transport=transport)  # fmt: skip

    def reject_topic(self, auth: DeviceAuth, topic: str, template: str) -> Ack:
        """A topic outside the API: counted, recorded, answered with 0x90 (permanent).

        ``template`` names the API (``N_("{topic} is not a topic of the device API")``).
        """
        message = Message(template, topic=repr(topic[:200]))
        return self._refused(auth, "topic", Reason.TOPIC_NAME_INVALID, message, topic=topic)

    def reject_rate(
        self, auth: DeviceAuth, qos: int, *, topic: str = "", transport: str = "mqtt"
    ) -> Ack:
        """A message over the device's rate limit: PUBACK 0x97, or at QoS 0 DISCONNECT 0x96.

        MQTT 5 allows "message rate too high" (0x96) only in DISCONNECT; a PUBACK says "quota
        exceeded" (0x97), with the limit in the reason string. Transient: sent again later, the
        message passes.
        """
        message = Message(N_("over the rate limit {rate_limits}"), rate_limits=auth.rate_limits)
        code = Reason.MESSAGE_RATE_TOO_HIGH if qos == 0 else Reason.QUOTA_EXCEEDED
        return self._refused(auth, "rate_limited", code, message, topic=topic,
                             transport=transport, transient=True, disconnect=qos == 0)  # fmt: skip

    def refuse_child(self, auth: DeviceAuth, message: Message, topic: str = "") -> None:
        """A gateway's item for a device it may not act for: recorded, not stored.

        The gateway API has no per-device answer, so the message's PUBACK stays a success.
        """
        self.state(auth).refused_children += 1
        self._refused(auth, "not_authorized", Reason.NOT_AUTHORIZED, message, topic=topic)

    def admit_points(
        self, auth: DeviceAuth, count: int, qos: int, *, topic: str = "", transport: str = "mqtt"
    ) -> Ack | None:
        """Take ``count`` data points from the device's budget; the rejection when over it.

        Like the message limit, it is told: PUBACK 0x97 (or, at QoS 0, DISCONNECT 0x96) with the
        limit in the reason string, and nothing of the message is stored. A message with more
        points than the smallest bucket holds can never pass: that refusal is permanent.
        """
        limiter = self.state(auth).points
        if limiter.take(time.monotonic(), count):
            return None
        message = Message(N_("over the data point limit {limits} ({count} in this message)"),
                          limits=auth.data_point_limits, count=count)  # fmt: skip
        code = Reason.MESSAGE_RATE_TOO_HIGH if qos == 0 else Reason.QUOTA_EXCEEDED
        never = count > min(limit.capacity for limit in limiter.limits)
        return self._refused(
            auth, "too_many_points" if never else "rate_limited", code, message, topic=topic,
            transport=transport, transient=not never, disconnect=qos == 0,
        )  # fmt: skip

    # -- telemetry and attributes --------------------------------------------------------------

    async def submit_telemetry(
        self, auth: DeviceAuth, payload: bytes, qos: int = 1
    ) -> Awaitable[Ack]:
        """Queue a telemetry payload; the awaitable resolves once it is stored."""
        document = self.decode(payload)
        now = await self.stamp(auth.device_id, document)
        rows = telemetry_rows(document, now, auth.device_id, self.stamps.lanes)
        refused = self.admit_points(auth, len(rows), qos, topic=TELEMETRY)
        if refused is not None:
            return _done(refused)
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
            message = _not_stored(error)
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

    async def push_shared(
        self, device_id: int, values: dict[str, Any], *, forward: bool = True
    ) -> int:
        """Push shared attribute updates to the device's subscribed sessions; how many got it.

        A device this process does not hold gets them through ``commands`` (unless not
        ``forward``: the command came from another process).
        """
        if forward and self.commands is not None and not self.reachable(device_id):
            return await self.commands.push_shared(device_id, values)
        sent = 0
        for session in list(self.sessions.get(device_id, [])):
            if session.subscribed(ATTRIBUTES):
                await session.connection.push(ATTRIBUTES, orjson.dumps(values))
                sent += 1
        if device_id in self.gateway_children:
            gateway, name = self.gateway_children[device_id]
            await gateway.push_shared(name, values)
            sent += 1
        if (route := self.remote.get(device_id)) is not None:
            await route.push_shared(device_id, values)
            sent += 1
        return sent

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

    # -- server-side RPC -----------------------------------------------------------------------

    async def rpc(
        self, device_id: int, method: str, params: Any, *, wait: float, oneway: bool,
        forward: bool = True,
    ) -> Any:  # fmt: skip
        """Call a method on a connected device; its answer (None for one-way).

        A device this process does not hold is called through ``commands`` (unless not
        ``forward``: the call came from another process).
        """
        targets = [s for s in self.sessions.get(device_id, []) if s.subscribed(RPC_REQUEST + "1")]
        via = self.gateway_children.get(device_id)  # a child device, reached through its gateway
        if not targets and via is None and (route := self.remote.get(device_id)) is not None:
            answer = await route.rpc(device_id, method, params)
            return None if oneway else answer
        if not targets and via is None:
            if forward and self.commands is not None and not self.reachable(device_id):
                return await self.commands.rpc(device_id, method, params, wait=wait, oneway=oneway)
            raise LookupError(NOT_CONNECTED)
        request_id = str(next(self._rpc_ids))
        waiter: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if not oneway:
            self._rpc[(device_id, request_id)] = waiter
        payload = orjson.dumps({"method": method, "params": params})
        try:
            if targets:
                await targets[-1].connection.push(RPC_REQUEST + request_id, payload)
            elif via is not None:
                await via[0].rpc(via[1], request_id, method, params)
            if oneway:
                return None
            async with asyncio.timeout(wait):
                return await waiter
        finally:
            self._rpc.pop((device_id, request_id), None)

    def rpc_answered(self, device_id: int, request_id: str, payload: bytes) -> None:
        """A device answered a server-side RPC."""
        waiter = self._rpc.get((device_id, request_id))
        if waiter is None or waiter.done():
            return
        try:
            waiter.set_result(orjson.loads(payload))
        except orjson.JSONDecodeError:
            waiter.set_result(payload.decode("utf-8", "replace"))

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
