"""Taihu's MQTT listener: asyncio connections driving the codec, sessions handed to a ``Broker``.

    accept ─► CONNECT within connect_timeout ─► broker.connect() ─► CONNACK ─► packet loop
                                                  │ Refusal ─► CONNACK with its code, close
    packet loop: PUBLISH ─► session.publish() ─► ack future ─► PUBACK (in order, when done)
                 refused: MQTT 5 PUBACK with the reason; 3.1.1 PUBACK (permanent: dropped)
                          or close unacknowledged (transient: the client sends it again)
                 SUBSCRIBE/UNSUBSCRIBE ─► session ─► SUBACK/UNSUBACK;  PINGREQ ─► PINGRESP
                 silence past 1.5 x keep alive ─► DISCONNECT 0x8D
                 oversize PUBLISH (up to 16 x the limit) ─► read past ─► session.too_large()
                 any other oversize packet ─► DISCONNECT 0x95

QoS 1 messages are pipelined: the loop keeps reading while earlier messages are being stored,
up to the receive maximum; PUBACKs leave in the order the messages came, each when its data is
stored. When the application makes ``publish`` wait (a full ingest queue) the loop stops
reading, and TCP slows the client down. The transport knows MQTT, not devices.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import socket
import ssl
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Protocol

from taihu.core import Message, drain
from taihu.devices.mqtt.codec import (
    ConnAck,
    Connect,
    Disconnect,
    MalformedPacket,
    Packet,
    PingReq,
    PingResp,
    PubAck,
    Publish,
    SubAck,
    Subscribe,
    Subscription,
    UnsubAck,
    Unsubscribe,
    check_topic_filter,
    decode_packet,
    encode_packet,
    read_varint,
)
from taihu.devices.mqtt.properties import Properties
from taihu.devices.mqtt.reasons import Reason

__all__ = [
    "Ack",
    "Broker",
    "Connection",
    "MqttListener",
    "Oversize",
    "Refusal",
    "Session",
    "TransportLimits",
]

log = logging.getLogger("taihu.mqtt")
_READ_SIZE = 65_536
_WAKE = "taihu: disconnect requested"  # the cancel message by which disconnect() wakes a read
_STOP_WITHIN = 10.0  # seconds a connection gets at shutdown to finish storing and say goodbye
_WRITE_HIGH = 65_536  # bytes queued for a client before a sender waits for it to read
# A PUBLISH over the maximum packet size, up to this many times it, is read past and answered
# (resent on every reconnect, it would block the client for ever); a larger one disconnects.
_SKIP_AT_MOST = 16


@dataclass(frozen=True, slots=True)
class TransportLimits:
    """Protocol limits of the listener."""

    connect_timeout: float = 5.0
    max_packet_size: int = 65_536 + 1024
    receive_maximum: int = 100  # QoS 1 messages a client may have unacknowledged
    topic_alias_maximum: int = 16
    max_keep_alive: int = 600


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a CONNECT is refused: the MQTT 5 reason and the 3.1.1 return code."""

    reason: Reason
    v3_code: int
    message: str


@dataclass(frozen=True, slots=True)
class Ack:
    """The outcome of a PUBLISH: a reason code, and for MQTT 5 a reason string."""

    reason: int = Reason.SUCCESS
    message: str | None = None
    disconnect: bool = False  # the client must be disconnected with this reason
    # A refusal a later resend may cure (the store is unavailable, a rate limit): a 3.1.1
    # client, which has no negative PUBACK, is disconnected unacknowledged so it sends again.
    # Any other refusal is permanent: a 3.1.1 client gets a PUBACK and the message is dropped.
    transient: bool = False
    # The refusal as a message id and values (``message`` is its English text, for the wire),
    # so that the HTTP device API can answer in its caller's language.
    why: Message | None = None


@dataclass(frozen=True, slots=True)
class Oversize:
    """A PUBLISH over the maximum packet size, read past: its topic and packet id only."""

    topic: str
    qos: int
    packet_id: int | None
    size: int


class Session(Protocol):
    """The application's side of one connected client."""

    async def publish(self, packet: Publish) -> Awaitable[Ack]:
        """Accept a message; may wait (backpressure); the awaitable resolves when it is done."""

    async def too_large(self, packet: Oversize, limit: int) -> Ack:
        """A PUBLISH over the maximum packet size was dropped unread: the answer to it."""

    async def subscribe(self, subscriptions: tuple[Subscription, ...]) -> list[int]:
        """Grant subscriptions: one reason code (granted QoS or failure) each."""

    async def unsubscribe(self, topic_filters: tuple[str, ...]) -> None:
        """Drop subscriptions."""

    async def closed(self) -> None:
        """The connection is gone (for whatever reason)."""


class Broker(Protocol):
    """The application behind the listener."""

    async def connect(self, packet: Connect, connection: Connection) -> Session | Refusal:
        """Authenticate a CONNECT; a session or a refusal."""


class _Closed(Exception):
    """The connection must end (after an optional DISCONNECT)."""

    def __init__(self, reason: Reason | None = None, message: str = "") -> None:
        super().__init__(message)
        self.reason = reason


class Connection:
    """One client connection; the application pushes messages and disconnects through it."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        limits: TransportLimits,
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.limits = limits
        self.version = 4
        self.client_id = ""
        self.peer = str(writer.get_extra_info("peername"))
        self.client_max_packet = 268_435_460
        self._write_lock = asyncio.Lock()
        self._aliases: dict[int, str] = {}
        self.close_reason: tuple[Reason, str] | None = None
        self.inflight = 0  # QoS 1 messages received and not yet acknowledged
        self._buffer = bytearray()  # bytes read and not yet taken as packets, from _pos
        self._pos = 0
        self._skip = 0  # bytes still to come of an oversize PUBLISH, dropped as they arrive
        self.task: asyncio.Task[None] | None = None  # the task serving it, woken by disconnect()
        self._reading = False  # waiting for bytes, so disconnect() may wake it

    # -- sending -------------------------------------------------------------------------------

    async def send(self, packet: Packet) -> None:
        """Send one packet (writes are serialised; waits while the client reads slowly)."""
        data = encode_packet(packet, self.version)
        if len(data) > self.client_max_packet:
            log.info("not sending %d bytes to %s: over its maximum packet size", len(data), self)
            return
        async with self._write_lock:
            if self.writer.is_closing():
                return
            self.writer.write(data)
            await self.writer.drain()

    async def push(self, topic: str, payload: bytes) -> None:
        """Deliver an application message to the client (QoS 0)."""
        with contextlib.suppress(ConnectionError):
            await self.send(Publish(topic, payload))

    async def send_bytes(self, data: bytes | bytearray) -> None:
        """Send encoded packets; waits only when the client is not reading them."""
        if self.writer.is_closing():
            return
        self.writer.write(data)
        if self.writer.transport.get_write_buffer_size() > _WRITE_HIGH:
            await self.writer.drain()

    def disconnect(self, reason: Reason, message: str = "") -> None:
        """Ask the connection to end, telling an MQTT 5 client why."""
        if self.close_reason is None:
            self.close_reason = (reason, message)
        # A read loop waiting for bytes is woken; one busy with a packet sees close_reason
        # before its next read. (Not feed_eof: bytes arriving after it fail an assertion in
        # asyncio's StreamReader, logged as a fatal protocol error.)
        if self._reading and self.task is not None:
            self.task.cancel(_WAKE)

    def __str__(self) -> str:
        return f"{self.client_id or '?'}@{self.peer}"

    # -- receiving -----------------------------------------------------------------------------

    async def read_packet(self, idle: float | None = None) -> Packet | Oversize:
        """The next packet; bounded by the maximum packet size before anything is buffered.

        Bytes are read in chunks and split here, so a client that pipelines messages costs one
        read (and one timer) per chunk rather than three per packet. ``idle`` bounds each wait
        for bytes, in seconds (keep-alive).
        """
        while True:
            packet = self._buffered()
            if packet is not None:
                return packet
            if self._pos:
                del self._buffer[: self._pos]
                self._pos = 0
            if self.close_reason is not None:  # disconnect() was called
                raise asyncio.IncompleteReadError(bytes(self._buffer), None)
            self._reading = True
            try:
                async with asyncio.timeout(idle):
                    chunk = await self.reader.read(_READ_SIZE)
            except asyncio.CancelledError as exc:
                if exc.args != (_WAKE,):
                    raise
                asyncio.current_task().uncancel()  # type: ignore[union-attr]
                raise asyncio.IncompleteReadError(bytes(self._buffer), None) from None
            finally:
                self._reading = False
            if not chunk:
                raise asyncio.IncompleteReadError(bytes(self._buffer), None)
            if self._skip:
                dropped = min(self._skip, len(chunk))
                self._skip -= dropped
                chunk = chunk[dropped:]
            self._buffer += chunk

    def _buffered(self) -> Packet | Oversize | None:
        """The next whole packet already read, if any."""
        buffer, pos = self._buffer, self._pos
        if len(buffer) - pos < 2:
            return None
        header = read_varint(buffer, pos + 1)  # raises on a remaining length over 4 bytes
        if header is None:
            return None
        length, start = header
        limit = self.limits.max_packet_size
        if length + 5 > limit:
            if buffer[pos] >> 4 != 3 or length > limit * _SKIP_AT_MOST:  # not a PUBLISH, or huge
                raise MalformedPacket(
                    f"packet of {length} bytes exceeds the maximum of {limit}",
                    Reason.PACKET_TOO_LARGE,
                )
            return self._oversize(buffer[pos], start, length)
        end = start + length
        if len(buffer) < end:
            return None
        self._pos = end
        return decode_packet(buffer[pos], bytes(buffer[start:end]), self.version)

    def _oversize(self, first: int, start: int, length: int) -> Oversize | None:
        """The head of an oversize PUBLISH; the rest of it is dropped as it arrives."""
        buffer = self._buffer
        qos = (first >> 1) & 3
        if len(buffer) < start + 2:
            return None
        topic_end = start + 2 + int.from_bytes(buffer[start : start + 2], "big")
        head_end = topic_end + (2 if qos else 0)
        if len(buffer) < head_end:
            return None  # at most 64 KiB of topic to wait for
        packet_id = int.from_bytes(buffer[topic_end:head_end], "big") if qos else None
        topic = bytes(buffer[start + 2 : topic_end]).decode("utf-8", "replace")
        taken = min(len(buffer), start + length)
        self._skip = start + length - taken
        self._pos = taken
        return Oversize(topic, qos, packet_id, length)

    def resolve_alias(self, packet: Publish) -> Publish:
        """Apply an MQTT 5 topic alias (§3.3.2.3.4)."""
        alias = packet.properties.topic_alias
        if alias is None:
            return packet
        if not 1 <= alias <= self.limits.topic_alias_maximum:
            raise _Closed(Reason.TOPIC_ALIAS_INVALID, f"topic alias {alias} is out of range")
        if packet.topic:
            self._aliases[alias] = packet.topic
            return packet
        topic = self._aliases.get(alias)
        if topic is None:
            raise _Closed(Reason.PROTOCOL_ERROR, f"topic alias {alias} was never set")
        return Publish(
            topic, packet.payload, packet.qos, packet.retain, packet.dup, packet.packet_id,
            packet.properties,
        )  # fmt: skip


class MqttListener:
    """Accepts MQTT connections on a bound socket and serves them until stopped."""

    def __init__(
        self,
        broker: Broker,
        limits: TransportLimits | None = None,
        *,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.broker = broker
        self.limits = limits or TransportLimits()
        self.ssl_context = ssl_context
        self._server: asyncio.Server | None = None
        self._port: int | None = None
        self._connections: dict[asyncio.Task[None], Connection] = {}

    async def start(self, sock: socket.socket) -> None:
        """Start accepting on an already bound, listening socket."""
        self._server = await asyncio.start_server(
            self._accept, sock=sock, ssl=self.ssl_context, limit=self.limits.max_packet_size
        )
        # Kept: a closed server has no sockets, and the hub's figures still name the port.
        self._port = int(self._server.sockets[0].getsockname()[1])

    @property
    def port(self) -> int:
        """The port accepted on."""
        assert self._port is not None, "start first"
        return self._port

    async def stop(self, within: float = _STOP_WITHIN) -> None:
        """Stop accepting and end every connection, letting each finish what it is storing."""
        if self._server is not None:
            self._server.close()
        # Asked, not cancelled: a connection ends its read loop, acknowledges what is being
        # stored and says goodbye; only one still busy after ``within`` seconds is cancelled.
        for connection in self._connections.values():
            connection.disconnect(Reason.SERVER_SHUTTING_DOWN, "server shutting down")
        await drain(list(self._connections), within)
        if self._server is not None:
            await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        connection = Connection(reader, writer, self.limits)
        connection.task = task
        self._connections[task] = connection
        try:
            await self._serve(connection)
        except (ConnectionError, asyncio.IncompleteReadError, TimeoutError):
            pass
        except asyncio.CancelledError:
            # Still busy when the listener stopped. Not re-raised: asyncio's stream callback
            # would log a cancelled connection task as an error.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(
                    connection.send(Disconnect(Reason.SERVER_SHUTTING_DOWN)), timeout=1
                )
        finally:
            self._connections.pop(task, None)
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), timeout=1)

    async def _serve(self, connection: Connection) -> None:
        # Slowloris: a client gets connect_timeout seconds for its whole CONNECT packet.
        try:
            async with asyncio.timeout(self.limits.connect_timeout):
                packet = await connection.read_packet()
        except MalformedPacket as exc:
            await self._refuse_malformed(connection, exc)
            return
        if not isinstance(packet, Connect):
            log.info("%s: first packet was not CONNECT", connection.peer)
            return
        connection.version = 5 if packet.version == 5 else 4
        client_id = packet.client_id
        assigned = None
        if not client_id:
            if not packet.clean_start and packet.version < 5:
                await connection.send(ConnAck(reason=0x02))  # identifier rejected
                return
            client_id = assigned = f"taihu-{secrets.token_hex(8)}"
        connection.client_id = client_id
        if packet.properties.maximum_packet_size:
            connection.client_max_packet = packet.properties.maximum_packet_size
        outcome = await self.broker.connect(packet, connection)
        if isinstance(outcome, Refusal):
            log.info("%s: refused (%s)", connection, outcome.message)
            if connection.version == 5:
                props = Properties(reason_string=outcome.message)
                await connection.send(ConnAck(reason=outcome.reason, properties=props))
            else:
                await connection.send(ConnAck(reason=outcome.v3_code))
            return
        keep_alive = packet.keep_alive
        props = Properties()
        if connection.version == 5:
            server_keep_alive = None
            if keep_alive == 0 or keep_alive > self.limits.max_keep_alive:
                keep_alive = server_keep_alive = self.limits.max_keep_alive
            props = Properties(
                assigned_client_identifier=assigned,
                receive_maximum=self.limits.receive_maximum,
                maximum_packet_size=self.limits.max_packet_size,
                topic_alias_maximum=self.limits.topic_alias_maximum,
                maximum_qos=1,
                retain_available=0,
                shared_subscription_available=0,
                server_keep_alive=server_keep_alive,
            )
        session = outcome
        try:
            await connection.send(ConnAck(reason=0, properties=props))
            await self._loop(connection, session, keep_alive)
        finally:
            await session.closed()

    async def _refuse_malformed(self, connection: Connection, exc: MalformedPacket) -> None:
        log.info("%s: malformed CONNECT: %s", connection.peer, exc)
        if exc.reason == Reason.UNSUPPORTED_PROTOCOL_VERSION:
            with contextlib.suppress(ConnectionError):
                await connection.send(ConnAck(reason=0x01))

    async def _loop(self, connection: Connection, session: Session, keep_alive: int) -> None:
        # Bounded, so a flood of QoS 0 messages waits for the store like QoS 1 does.
        acks: asyncio.Queue[tuple[int, Awaitable[Ack]] | None] = asyncio.Queue(
            maxsize=self.limits.receive_maximum * 2
        )
        acker = asyncio.create_task(self._ack(connection, acks), name=f"mqtt-ack {connection}")
        within = keep_alive * 1.5 if keep_alive else None
        reason: Reason | None = None
        message = ""
        try:
            while True:
                try:
                    packet = await connection.read_packet(within)
                except TimeoutError:
                    reason, message = Reason.KEEP_ALIVE_TIMEOUT, "keep alive expired"
                    break
                except MalformedPacket as exc:
                    reason, message = exc.reason, str(exc)
                    break
                except asyncio.IncompleteReadError:
                    if connection.close_reason is not None:  # disconnect() was called
                        reason, message = connection.close_reason
                    break
                if connection.close_reason is not None:
                    reason, message = connection.close_reason
                    break
                try:
                    if not await self._handle(connection, session, packet, acks):
                        break
                except _Closed as exc:
                    reason, message = exc.reason, str(exc)
                    break
        finally:
            if not acker.done():
                # Acknowledge what is being stored, then stop.
                with contextlib.suppress(asyncio.QueueFull):
                    acks.put_nowait(None)
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(acker, timeout=30)
                acker.cancel()
        if reason is not None:
            log.info("%s: disconnecting: %s (0x%02x)", connection, message, reason)
            if connection.version == 5:
                props = Properties(reason_string=message[:200]) if message else Properties()
                with contextlib.suppress(ConnectionError):
                    await connection.send(Disconnect(reason, props))

    async def _handle(  # noqa: PLR0912 - one branch per packet type
        self,
        connection: Connection,
        session: Session,
        packet: Packet | Oversize,
        acks: asyncio.Queue[tuple[int, Awaitable[Ack]] | None],
    ) -> bool:
        if isinstance(packet, Publish):
            if packet.qos > 1:
                raise _Closed(Reason.QOS_NOT_SUPPORTED, "QoS 2 is not supported; use QoS 0 or 1")
            packet = connection.resolve_alias(packet)
            if not packet.topic:
                raise _Closed(Reason.PROTOCOL_ERROR, "empty topic without a topic alias")
            if packet.qos == 1 and connection.inflight >= self.limits.receive_maximum:
                raise _Closed(
                    Reason.RECEIVE_MAXIMUM_EXCEEDED,
                    f"more than {self.limits.receive_maximum} unacknowledged QoS 1 messages",
                )
            outcome = await session.publish(packet)
            if packet.qos == 1:
                assert packet.packet_id is not None
                connection.inflight += 1
                await acks.put((packet.packet_id, outcome))
            else:
                await acks.put((0, outcome))  # QoS 0: only a failure that disconnects matters
        elif isinstance(packet, Oversize):
            if packet.qos > 1:
                raise _Closed(Reason.QOS_NOT_SUPPORTED, "QoS 2 is not supported; use QoS 0 or 1")
            ack = await session.too_large(packet, self.limits.max_packet_size)
            if packet.qos == 1 and packet.packet_id:
                connection.inflight += 1
                await acks.put((packet.packet_id, _settled(ack)))
        elif isinstance(packet, Subscribe):
            granted = []
            valid = [s for s in packet.subscriptions if check_topic_filter(s.topic_filter)]
            answers = iter(await session.subscribe(tuple(valid)) if valid else [])
            for s in packet.subscriptions:
                ok = check_topic_filter(s.topic_filter)
                granted.append(next(answers) if ok else Reason.TOPIC_FILTER_INVALID)
            if connection.version < 5:
                granted = [0x80 if g >= 0x80 else g for g in granted]
            await connection.send(SubAck(packet.packet_id, tuple(granted)))
        elif isinstance(packet, Unsubscribe):
            await session.unsubscribe(packet.topic_filters)
            await connection.send(UnsubAck(packet.packet_id, (0,) * len(packet.topic_filters)))
        elif isinstance(packet, PingReq):
            await connection.send(PingResp())
        elif isinstance(packet, Disconnect):
            return False
        elif isinstance(packet, PubAck):
            pass  # acknowledgements of QoS 1 pushes; the hub pushes at QoS 0
        elif isinstance(packet, Connect):
            raise _Closed(Reason.PROTOCOL_ERROR, "a second CONNECT")
        else:
            raise _Closed(Reason.PROTOCOL_ERROR, f"unexpected {type(packet).__name__}")
        return True

    async def _ack(
        self, connection: Connection, acks: asyncio.Queue[tuple[int, Awaitable[Ack]] | None]
    ) -> None:
        """Send PUBACKs in arrival order, each once its message is done."""
        outcome = await self._acks(connection, acks)
        if outcome is not None:
            connection.disconnect(*outcome)

    async def _acks(
        self, connection: Connection, acks: asyncio.Queue[tuple[int, Awaitable[Ack]] | None]
    ) -> tuple[Reason, str] | None:
        # Successful PUBACKs that are ready together leave in one write (one system call).
        ready = bytearray()
        try:
            while True:
                if ready and acks.empty():
                    await connection.send_bytes(ready)
                    ready = bytearray()
                item = await acks.get()
                if item is None:
                    return None
                packet_id, outcome = item
                if ready and not (isinstance(outcome, asyncio.Future) and outcome.done()):
                    await connection.send_bytes(ready)  # before waiting for the next
                    ready = bytearray()
                ack = await outcome
                if packet_id:
                    connection.inflight -= 1
                if not ack.disconnect and packet_id and ack.reason == 0 and not ack.message:
                    ready += b"\x40\x02" + packet_id.to_bytes(2, "big")
                    continue
                if ready:
                    await connection.send_bytes(ready)
                    ready = bytearray()
                verdict = await _answer(connection, packet_id, ack)
                if verdict is not None:
                    return verdict
        finally:
            if ready:
                with contextlib.suppress(ConnectionError):
                    await connection.send_bytes(ready)


def _settled(ack: Ack) -> asyncio.Future[Ack]:
    future: asyncio.Future[Ack] = asyncio.get_running_loop().create_future()
    future.set_result(ack)
    return future


async def _answer(connection: Connection, packet_id: int, ack: Ack) -> tuple[Reason, str] | None:
    """Send a PUBACK other than plain success; the reason to disconnect with, if any."""
    if ack.disconnect:
        if packet_id and connection.version == 5:
            props = Properties(reason_string=ack.message) if ack.message else Properties()
            await connection.send(PubAck(packet_id, ack.reason, props))
        return Reason(ack.reason), ack.message or ""
    if not packet_id:
        return None
    if connection.version == 5:
        props = Properties(reason_string=ack.message) if ack.message else Properties()
        await connection.send(PubAck(packet_id, ack.reason, props))
    elif ack.reason < 0x80 or not ack.transient:
        # A permanent refusal is acknowledged and dropped: unacknowledged, the client would
        # send it again on every reconnect and nothing after it would get through.
        await connection.send(PubAck(packet_id))
    else:
        # MQTT 3.1.1 has no negative acknowledgement: closing without one makes it send again.
        return Reason(ack.reason), ack.message or ""
    return None
