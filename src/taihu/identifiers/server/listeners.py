"""The Handle protocol listeners: UDP and TCP on one port (2641 by default).

    UDP datagrams ─► plain resolutions (wire.plain) ─► cached reply bodies, misses in one query
        (all waiting  └► anything else ─► envelope ─► decode ─► HandleDispatcher ─► reply
         at a wake-up)                                                              │
        reply over the size limit, or the source's byte budget spent ─► RC 2 "ask over TCP"
        (wire.budget), else split into 512-byte pieces
    TCP stream   ─► length-framed messages ─► same dispatcher ─► reply; the connection stays
                    open while the client sets KPAL (or a challenge is pending), else closes;
                    a few connections per address, the first request due within seconds

Bad input never stops a listener: a datagram without a readable envelope gets RC 2 with
request id 0xFFFFFFFF (as the Handle.Net server answers), a malformed message RC 4
PROTOCOL_ERROR; a TCP stream that lies about a length or stalls is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import struct
from collections import OrderedDict
from typing import Any

from prometheus_client import Counter as PromCounter

from taihu.core import Clock, Database, PeriodicJob, drain
from taihu.identifiers.registration import IdentifierService, seckeys_for
from taihu.identifiers.registration.pubkeys import encode_public_key, server_key
from taihu.identifiers.resolution import (
    FLUSH_INTERVAL,
    LocalPrefixes,
    PrefixLocator,
    Resolver,
    node_locator,
)
from taihu.identifiers.server.dispatch import Conversation, HandleDispatcher
from taihu.identifiers.server.shared_state import handle_state_for
from taihu.identifiers.server.site import published_address, site_for
from taihu.identifiers.server.sockets import DatagramSocket, Relay, needs_state, unpack
from taihu.identifiers.wire import (
    Envelope,
    ErrorBody,
    Header,
    Message,
    OpCode,
    OpFlag,
    ResponseCode,
    WireDecodeError,
    decode_envelope,
    decode_payload,
    encode_message,
    read_tcp_message,
    split_datagrams,
)
from taihu.identifiers.wire.budget import SourceBudget, source_key, tcp_refusal
from taihu.identifiers.wire.framing import UDP_PACKET_SIZE, datagram_bytes
from taihu.identifiers.wire.messages import ENVELOPE_SIZE, HEADER_SIZE
from taihu.identifiers.wire.plain import PlainResolution, read_plain_resolution
from taihu.settings import HandleSettings, Settings

__all__ = [
    "HandleServer",
    "handle_server_for",
    "published_address",
    "site_for",
]

log = logging.getLogger("taihu.identifiers.handle")

IDLE_SECONDS = 60.0  # a kept-alive TCP connection waiting for its next request
_UDP_PEERS = 4096
_GARBAGE_ID = 0xFFFF_FFFF
_STOP_WITHIN = 5.0  # seconds the requests under way get to finish at shutdown
_TOO_LARGE = "reply too large for UDP; ask over TCP"
_OVER_BUDGET = "UDP budget spent; ask over TCP"

REFUSED = PromCounter(
    "taihu_handle_refused_total", "Handle requests refused by the abuse bounds", ["reason"]
)
_UDP_TOO_LARGE = REFUSED.labels("udp_reply_too_large")
_UDP_OVER_BUDGET = REFUSED.labels("udp_source_budget")
_TCP_PER_ADDRESS = REFUSED.labels("tcp_connections_per_address")
_TCP_FULL = REFUSED.labels("tcp_max_connections")
_TCP_SLOW = REFUSED.labels("tcp_request_timeout")


def _error_reply(request_id: int, code: ResponseCode, text: str, opcode: OpCode) -> bytes:
    envelope = Envelope(request_id)
    return encode_message(Message(envelope, Header(opcode, code), ErrorBody(text)))


def _decode(data: bytes) -> tuple[Message, bytes] | bytes:
    """The request and its signed bytes, or the error reply to send instead."""
    try:
        envelope = decode_envelope(data)
    except WireDecodeError:
        return _error_reply(_GARBAGE_ID, ResponseCode.ERROR, "unreadable envelope", OpCode.RESERVED)
    payload = data[ENVELOPE_SIZE:]
    try:
        if envelope.length > len(payload):
            raise WireDecodeError("split requests are not accepted over UDP; use TCP")
        message = decode_payload(envelope, payload)
    except WireDecodeError as exc:
        opcode = OpCode.RESERVED
        if len(payload) >= 4:
            with contextlib.suppress(ValueError):
                opcode = OpCode(int.from_bytes(payload[:4], "big"))
        return _error_reply(envelope.request_id, ResponseCode.PROTOCOL_ERROR, str(exc), opcode)
    body_length = int.from_bytes(payload[20:24], "big")
    return message, payload[: HEADER_SIZE + body_length]


class HandleServer:
    """Serves the Handle protocol on a bound TCP socket and UDP socket until stopped."""

    def __init__(self, dispatcher: HandleDispatcher, limits: HandleSettings | None = None) -> None:
        self.dispatcher = dispatcher
        self.limits = limits = limits or HandleSettings.model_construct()
        self._reply_max = limits.udp_reply_max_bytes
        rate = limits.udp_source_bytes_per_second
        self._budget = SourceBudget(rate, limits.udp_source_burst_bytes) if rate else None
        self._per_source: dict[str | bytes, int] = {}  # open TCP connections by source_key
        self._tcp: asyncio.Server | None = None
        self._udp: DatagramSocket | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._open: set[asyncio.Task[Any]] = set()  # TCP connections, ended at shutdown
        self._idle: set[asyncio.Task[Any]] = set()  # of those, the ones waiting for a request
        self._stopping = False
        self._flusher = PeriodicJob("handle-counts", self._flush_counts, FLUSH_INTERVAL,
                                    first_after=FLUSH_INTERVAL)  # fmt: skip
        self._peers: OrderedDict[Any, Conversation] = OrderedDict()
        self._connections = 0
        self._relay_in: DatagramSocket | None = None  # the supervisor's: datagrams workers pass on
        self._relay_out: Relay | None = None  # a worker's: where stateful datagrams go
        self.udp_datagrams = 0  # datagrams this process took from its UDP socket

    async def start(
        self,
        tcp: socket.socket | None,
        udp: socket.socket,
        *,
        relay_in: socket.socket | None = None,
        relay_out: Relay | None = None,
    ) -> None:
        """Start serving on sockets bound by ``bind_handle`` (``sockets``).

        A worker process serves UDP only (``tcp`` None) and, when challenges and sessions live
        in the supervisor's memory, passes the datagrams that need them on through
        ``relay_out``; the supervisor answers those it reads from ``relay_in`` as if they had
        reached its own UDP socket.
        """
        if tcp is not None:
            self._tcp = await asyncio.start_server(self._on_connection, sock=tcp, limit=2**16)
        self._udp = DatagramSocket(udp, self.on_datagrams)
        if relay_in is not None:
            self._relay_in = DatagramSocket(relay_in, self._on_relayed)
        # Challenges and sessions in the database: every worker answers them itself.
        self._relay_out = None if self.dispatcher.sessions.shared else relay_out
        self._flusher.start()
        host, port = udp.getsockname()[:2]
        served = "TCP and UDP" if tcp is not None else "UDP, shared"
        log.info("Handle protocol listening on %s:%s (%s) in process %d", host, port, served,
                 os.getpid(), extra={"pid": os.getpid()})  # fmt: skip

    async def _flush_counts(self, *, force: bool = False) -> None:
        """Add the resolutions answered here to the daily statistics (when a flush is due)."""
        counts = self.dispatcher.resolver.take_counts(force=force)
        if not counts:
            return
        try:
            async with self.dispatcher.db.session() as session:
                await IdentifierService(session, self.dispatcher.clock).count_resolutions(counts)
        except Exception:  # statistics must never stop the listener
            log.exception("could not record %d resolution counts yet", len(counts))
            self.dispatcher.resolver.restore_counts(counts)  # added with the next flush

    async def stop(self) -> None:
        """Stop listening and let the requests under way finish (bounded)."""
        if self._udp is not None:
            self._udp.close()
            self._udp = None
            # Which processes answered (the kernel spreads clients across shared sockets).
            log.info("Handle UDP in process %d took %d datagrams", os.getpid(),
                     self.udp_datagrams, extra={"pid": os.getpid(),
                                                "datagrams": self.udp_datagrams})  # fmt: skip
        if self._relay_in is not None:
            self._relay_in.close()
            self._relay_in = None
        if self._relay_out is not None:
            self._relay_out.close()
        if self._tcp is not None:
            self._tcp.close()
        # Idle connections end at once; one mid-request answers first. Cancelling a request
        # mid-transaction would hand its connection back to the pool under a CancelledError.
        self._stopping = True
        for task in self._idle:
            task.cancel()
        await drain([*self._tasks, *self._open], _STOP_WITHIN)
        await self._flusher.stop()
        await self._flush_counts(force=True)  # the supervisor's thread has no other last flush
        if self._tcp is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(2):
                    await self._tcp.wait_closed()
        if isinstance(self.dispatcher.locator, LocalPrefixes):
            await self.dispatcher.locator.aclose()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _conversation(self, peer: Any) -> Conversation:
        conversation = self._peers.get(peer)
        if conversation is None:
            conversation = self._peers[peer] = Conversation(peer=str(peer[0]))
            while len(self._peers) > _UDP_PEERS:
                self._peers.popitem(last=False)
        return conversation

    def on_datagrams(self, batch: list[tuple[bytes, Any]]) -> None:
        """Answer the datagrams of one wake-up: plain resolutions together, the rest one by one."""
        self.udp_datagrams += len(batch)
        plain: list[tuple[PlainResolution, bytes, Any]] = []
        for data, addr in batch:
            request = read_plain_resolution(data)
            if request is None:
                self.on_datagram(data, addr)
            else:
                plain.append((request, data, addr))
        if not plain:
            return
        try:
            replies = self.dispatcher.answer_plain([request for request, _, _ in plain])
        except Exception:  # the general path below answers each with RC 2 and logs it
            log.exception("plain resolutions failed; answering them one by one")
            replies = [None] * len(plain)
        later: list[tuple[PlainResolution, bytes, Any]] = []
        for item, reply in zip(plain, replies, strict=True):
            if reply is False:
                later.append(item)
            elif reply is None:
                self.on_datagram(item[1], item[2])
            else:
                self._send(reply, item[2], len(item[1]))
        if later:
            self._spawn(self._answer_later(later))

    def _on_relayed(self, batch: list[tuple[bytes, Any]]) -> None:
        for relayed, _ in batch:
            try:
                data, addr = unpack(relayed)
            except (ValueError, struct.error):
                continue  # only this user's processes can write here: not expected
            self.on_datagram(data, addr)

    async def _answer_later(self, plain: list[tuple[PlainResolution, bytes, Any]]) -> None:
        try:
            replies = await self.dispatcher.answer_later([request for request, _, _ in plain])
        except Exception:  # e.g. the database is away: the general path answers RC 2 and logs
            for _, data, addr in plain:
                self.on_datagram(data, addr)
            return
        for (_, data, addr), reply in zip(plain, replies, strict=True):
            self._send(reply, addr, len(data))

    def on_datagram(self, data: bytes, addr: Any) -> None:
        """Answer a datagram now when possible (cached resolutions), else in a task."""
        decoded = _decode(data)
        if isinstance(decoded, bytes):
            self._send(decoded, addr, len(data))
            return
        message, signed = decoded
        if self._relay_out is not None and needs_state(message):
            self._relay_out.send(data, addr)  # the supervisor holds challenges and sessions
            return
        try:
            reply = self.dispatcher.resolve_now(message, signed)
        except Exception:  # the task path below answers with RC 2 and logs it
            reply = None
        if reply is not None:
            self._send(reply, addr, len(data))
            return
        self._spawn(self._answer_datagram(message, signed, addr, len(data)))

    async def _answer_datagram(
        self, message: Message, signed: bytes, addr: Any, asked: int
    ) -> None:
        # Resolutions never need a conversation; only admin exchanges keep one per peer.
        conversation = (
            Conversation()
            if message.header.opcode is OpCode.RESOLUTION
            else self._conversation(addr)
        )
        self._send(await self.dispatcher.dispatch(message, signed, conversation), addr, asked)

    def _send(self, reply: bytes, addr: Any, asked: int) -> None:
        """Send ``reply`` to a source that sent ``asked`` bytes, within the bounds (wire.budget)."""
        udp = self._udp
        if udp is None:
            return
        size = len(reply)
        if size > UDP_PACKET_SIZE:  # counted as sent: in pieces, each with its envelope
            size = datagram_bytes(size)
            if size > self._reply_max:
                _UDP_TOO_LARGE.inc()
                refused = tcp_refusal(reply, _TOO_LARGE)
                assert refused is not None  # without a limit there is always one
                reply, size = refused, len(refused)
        budget = self._budget
        if budget is not None and not budget.take(addr[0], size):
            # Past its budget a source still learns to use TCP, in no more bytes than it sent.
            _UDP_OVER_BUDGET.inc()
            refusal = tcp_refusal(reply, _OVER_BUDGET, limit=asked)
            if refusal is not None:
                udp.sendto(refusal, addr)
            return
        if size <= UDP_PACKET_SIZE:
            udp.sendto(reply, addr)
            return
        for datagram in split_datagrams(reply):
            udp.sendto(datagram, addr)

    async def _on_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        peer = str((writer.get_extra_info("peername") or ("",))[0])
        source = source_key(peer)
        held = self._per_source.get(source, 0)
        # One client must not hold every connection: a share per address, then the total.
        if held >= self.limits.tcp_connections_per_address:
            _TCP_PER_ADDRESS.inc()
            writer.close()
            return
        if self._connections >= self.limits.tcp_max_connections:
            _TCP_FULL.inc()
            writer.close()
            return
        self._per_source[source] = held + 1
        self._connections += 1
        task = asyncio.current_task()
        assert task is not None
        self._open.add(task)
        conversation = Conversation(peer=peer)
        answered = False
        try:
            # Slowloris: the first request must be complete within tcp_request_timeout.
            wait = self.limits.tcp_request_timeout
            while not self._stopping and await self._serve_one(reader, writer, conversation, wait):
                wait, answered = IDLE_SECONDS, True
        except TimeoutError:
            if not answered:  # the first request never came whole
                _TCP_SLOW.inc()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the peer went away: nothing to answer
        except asyncio.CancelledError:
            if not self._stopping:
                raise
            # Woken while idle by stop(). Not re-raised: asyncio's stream callback would log
            # a cancelled connection task as an error.
        finally:
            self._connections -= 1
            left = self._per_source[source] - 1
            if left:
                self._per_source[source] = left
            else:
                del self._per_source[source]  # bounded by the connections open, not by history
            self._open.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError, TimeoutError):
                async with asyncio.timeout(1):
                    await writer.wait_closed()

    async def _serve_one(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        conversation: Conversation,
        wait: float,
    ) -> bool:
        """Answer one message due within ``wait`` seconds; whether to keep the connection open."""
        try:
            got = await self._next_request(reader, wait)
        except WireDecodeError as exc:
            writer.write(_error_reply(_GARBAGE_ID, ResponseCode.ERROR, str(exc), OpCode.RESERVED))
            await writer.drain()
            return False
        if got is None:
            return False
        envelope, payload = got
        decoded = _decode(envelope.encode(envelope.length) + payload)
        if isinstance(decoded, bytes):
            writer.write(decoded)
            await writer.drain()
            return False
        message, signed = decoded
        writer.write(await self.dispatcher.dispatch(message, signed, conversation))
        await writer.drain()
        return bool(message.header.flags & OpFlag.KPAL) or bool(conversation.pending)

    async def _next_request(
        self, reader: asyncio.StreamReader, wait: float
    ) -> tuple[Envelope, bytes] | None:
        """The next message's envelope and payload, waiting as an idle connection stop() ends."""
        task = asyncio.current_task()
        assert task is not None
        self._idle.add(task)
        try:
            async with asyncio.timeout(wait):
                return await read_tcp_message(reader)
        finally:
            self._idle.discard(task)


def handle_server_for(
    settings: Settings,
    db: Database,
    clock: Clock,
    resolver: Resolver,
    port: int,
    *,
    locator: PrefixLocator | None = None,
) -> HandleServer:
    """The Handle server of this node: its site and key, secret-key box and prefix locator."""
    signer = server_key(settings.secret_key.decode("utf-8"))
    public_key = encode_public_key(signer.public_key())
    challenges, sessions = handle_state_for(settings, db, seckeys_for(settings))
    dispatcher = HandleDispatcher(
        db,
        clock,
        resolver,
        locator or node_locator(settings.node, db),
        site_for(published_address(settings), port, public_key=public_key),
        seckeys=seckeys_for(settings),
        security=settings.security,
        server_key=signer,
        challenges=challenges,
        sessions=sessions,
    )
    return HandleServer(dispatcher, settings.handle)
