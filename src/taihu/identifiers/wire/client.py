"""An async Handle protocol client over UDP or TCP, with secret-key challenge-response.

    async with HandleClient("127.0.0.1", 2641, transport="udp") as client:
        reply = await client.resolve("88.118.8/ELV-001")          # ResolutionResponse
    async with HandleClient(host, port, transport="tcp",
                            identity=SecretKey("0.NA/88.118.8", 300, b"secret")) as admin:
        await admin.create_handle("88.118.8/NEW", values)

Every call is bounded by ``timeout`` and raises ``HandleTimeout`` when the server is down or slow;
an answer other than success raises ``HandleResponseError`` carrying the response code and body
(referrals included, so a recursive resolver can follow them). Over UDP a datagram is resent a
few times within the timeout, split replies are reassembled, and a reply flagged truncated is
asked again over TCP. Over TCP the connection is kept alive (KPAL) for the client's lifetime.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from dataclasses import dataclass
from types import TracebackType
from typing import Literal, Self

from taihu.identifiers.handle import HandleValue
from taihu.identifiers.wire.buffer import WireDecodeError
from taihu.identifiers.wire.codec import decode_payload, encode_header_and_body, encode_message
from taihu.identifiers.wire.digest import SecretKeyScheme, compute_digest, secret_key_response
from taihu.identifiers.wire.framing import Reassembler, read_tcp_message
from taihu.identifiers.wire.messages import (
    Body,
    Challenge,
    ChallengeAnswer,
    Envelope,
    ErrorBody,
    HandleListBody,
    HandleRequest,
    Header,
    IndexesRequest,
    Message,
    OpCode,
    OpFlag,
    ResolutionRequest,
    ResolutionResponse,
    ResponseCode,
    SiteInfoResponse,
    ValuesRequest,
)
from taihu.identifiers.wire.values import SiteInfo

__all__ = [
    "HandleClient",
    "HandleResponseError",
    "HandleTimeout",
    "HandleWireError",
    "SecretKey",
]

_UDP_ATTEMPTS = 3


class HandleWireError(Exception):
    """A Handle protocol exchange failed (no connection, malformed reply, refused answer)."""


class HandleTimeout(HandleWireError):
    """The server did not answer within the timeout."""


class HandleResponseError(HandleWireError):
    """The server answered with a response code other than success."""

    def __init__(self, message: Message) -> None:
        self.reply = message
        self.code = message.header.response_code
        body = message.body
        self.text = body.message if isinstance(body, ErrorBody) else ""
        super().__init__(
            f"{self.code.name} ({int(self.code)}){': ' + self.text if self.text else ''}"
        )


@dataclass(frozen=True, slots=True)
class SecretKey:
    """An admin identity ``INDEX:HANDLE`` proven with the secret of its HS_SECKEY value."""

    handle: str
    index: int
    secret: bytes
    scheme: SecretKeyScheme = SecretKeyScheme.HMAC_SHA256


class _UdpReplies(asyncio.DatagramProtocol):
    """Queues every datagram received (and socket errors) for the waiting exchange."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[bytes | Exception] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:  # noqa: ARG002 - one peer
        self.queue.put_nowait(data)

    def error_received(self, exc: Exception) -> None:
        self.queue.put_nowait(exc)


class HandleClient:
    """A client for one Handle server; use it as an async context manager."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        transport: Literal["udp", "tcp"] = "udp",
        timeout: float = 5.0,
        identity: SecretKey | None = None,
    ) -> None:
        self.host, self.port, self.transport = host, port, transport
        self.timeout = timeout
        self.identity = identity
        self._udp: asyncio.DatagramTransport | None = None
        self._udp_replies: _UdpReplies | None = None
        self._tcp: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self._lock = asyncio.Lock()
        self._next_id = secrets.randbelow(2**30) + 1

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the sockets."""
        if self._udp is not None:
            self._udp.close()
            self._udp = None
        if self._tcp is not None:
            self._tcp[1].close()
            with contextlib.suppress(OSError):  # already reset by the peer: nothing to release
                await self._tcp[1].wait_closed()
            self._tcp = None

    # Operations ---------------------------------------------------------------------------

    async def resolve(
        self,
        handle: str,
        *,
        indexes: tuple[int, ...] = (),
        types: tuple[str, ...] = (),
        authoritative: bool = False,
        public_only: bool = True,
    ) -> ResolutionResponse:
        """The values of ``handle`` (filtered by index or type when given).

        ``public_only`` sets PUBL, as the Handle.Net resolver does by default: a server then
        leaves out values anyone may not read, where without it a handle holding one answers 402.
        """
        flags = (OpFlag.PUBL if public_only else OpFlag.NONE) | (
            OpFlag.AUTH if authoritative else OpFlag.NONE
        )
        reply = await self.call(OpCode.RESOLUTION, ResolutionRequest(handle, indexes, types), flags)
        assert isinstance(reply.body, ResolutionResponse)
        return reply.body

    async def site_info(self) -> SiteInfo:
        """The server's HS_SITE."""
        # Handle.Net servers read a handle in every GET_SITE_INFO body; an empty one will do.
        reply = await self.call(OpCode.GET_SITE_INFO, HandleRequest(""))
        assert isinstance(reply.body, SiteInfoResponse)
        return reply.body.site

    async def create_handle(
        self, handle: str, values: tuple[HandleValue, ...], *, overwrite: bool = False
    ) -> None:
        """Create ``handle`` with ``values`` (replace an existing one with ``overwrite``)."""
        flags = OpFlag.OVRW if overwrite else OpFlag.NONE
        await self.call(OpCode.CREATE_HANDLE, ValuesRequest(handle, values), flags)

    async def delete_handle(self, handle: str) -> None:
        """Delete ``handle``."""
        await self.call(OpCode.DELETE_HANDLE, HandleRequest(handle))

    async def add_values(self, handle: str, values: tuple[HandleValue, ...]) -> None:
        """Add values at indexes not yet used."""
        await self.call(OpCode.ADD_VALUE, ValuesRequest(handle, values))

    async def modify_values(self, handle: str, values: tuple[HandleValue, ...]) -> None:
        """Replace the values at the given indexes."""
        await self.call(OpCode.MODIFY_VALUE, ValuesRequest(handle, values))

    async def remove_values(self, handle: str, indexes: tuple[int, ...]) -> None:
        """Remove the values at ``indexes``."""
        await self.call(OpCode.REMOVE_VALUE, IndexesRequest(handle, indexes))

    async def list_handles(self, prefix: str) -> tuple[str, ...]:
        """Every handle under ``prefix`` (sent as ``0.NA/PREFIX``)."""
        handle = prefix if prefix.upper().startswith("0.NA/") else f"0.NA/{prefix}"
        reply = await self.call(OpCode.LIST_HANDLES, HandleRequest(handle))
        assert isinstance(reply.body, HandleListBody)
        return reply.body.handles

    async def home_na(self, prefix: str) -> None:
        """Ask the server to serve ``prefix`` (``0.NA/PREFIX``)."""
        handle = prefix if prefix.upper().startswith("0.NA/") else f"0.NA/{prefix}"
        await self.call(OpCode.HOME_NA, HandleRequest(handle))

    async def unhome_na(self, prefix: str) -> None:
        """Ask the server to stop serving ``prefix``."""
        handle = prefix if prefix.upper().startswith("0.NA/") else f"0.NA/{prefix}"
        await self.call(OpCode.UNHOME_NA, HandleRequest(handle))

    async def list_homed_na(self) -> tuple[str, ...]:
        """The prefixes the server serves, as ``0.NA/PREFIX`` handles."""
        reply = await self.call(OpCode.LIST_HOMED_NA, HandleRequest(""))
        assert isinstance(reply.body, HandleListBody)
        return reply.body.handles

    # Exchanges ----------------------------------------------------------------------------

    async def call(self, opcode: OpCode, body: Body, flags: OpFlag = OpFlag.NONE) -> Message:
        """Send one request, answer a challenge if one comes, and return the successful reply."""
        reply = await self.exchange(opcode, body, flags)
        if reply.header.response_code is not ResponseCode.SUCCESS:
            raise HandleResponseError(reply)
        return reply

    async def exchange(
        self, opcode: OpCode, body: Body, flags: OpFlag = OpFlag.NONE, recursion: int = 0
    ) -> Message:
        """Send one request and return the reply whatever its response code (challenge answered)."""
        request_id = self._request_id()
        header = Header(opcode, flags=flags | self._keepalive(), recursion=recursion)
        request = Message(Envelope(request_id), header, body)
        async with self._lock:
            reply = await self._roundtrip(request)
            if reply.header.response_code is ResponseCode.AUTHEN_NEEDED and isinstance(
                reply.body, Challenge
            ):
                reply = await self._answer(request, reply)
        return reply

    async def _answer(self, request: Message, challenge_reply: Message) -> Message:
        if self.identity is None:
            raise HandleResponseError(challenge_reply)
        challenge = challenge_reply.body
        assert isinstance(challenge, Challenge)
        if challenge.request_digest is None:
            raise HandleWireError("the server's challenge carries no request digest")
        expected = compute_digest(
            challenge.request_digest.algorithm,
            encode_header_and_body(request.header, request.body),
        )
        if expected != challenge.request_digest.value:
            raise HandleWireError("the server challenged a request other than the one sent")
        # A 2.0 server reads only the untagged MD5 form.
        scheme = SecretKeyScheme.LEGACY_MD5 if challenge.legacy else self.identity.scheme
        proof = secret_key_response(self.identity.secret, challenge.nonce, expected, scheme)
        answer = ChallengeAnswer("HS_SECKEY", self.identity.handle, self.identity.index, proof)
        envelope = Envelope(
            request.envelope.request_id, session_id=challenge_reply.envelope.session_id
        )
        header = Header(OpCode.CHALLENGE_RESPONSE, flags=self._keepalive())
        return await self._roundtrip(Message(envelope, header, answer))

    def _request_id(self) -> int:
        self._next_id = self._next_id % (2**31 - 2) + 1
        return self._next_id

    def _keepalive(self) -> OpFlag:
        return OpFlag.KPAL if self.transport == "tcp" else OpFlag.NONE

    async def _roundtrip(self, request: Message) -> Message:
        try:
            async with asyncio.timeout(self.timeout):
                if self.transport == "tcp":
                    return await self._tcp_roundtrip(request)
                reply = await self._udp_roundtrip(request)
                if reply.envelope.truncated:
                    return await self._tcp_roundtrip(request)
                return reply
        except TimeoutError as exc:
            raise HandleTimeout(
                f"no answer from {self.host}:{self.port} ({self.transport}) "
                f"within {self.timeout:g} s"
            ) from exc
        except WireDecodeError as exc:
            raise HandleWireError(f"malformed reply from {self.host}:{self.port}: {exc}") from exc

    async def _udp_roundtrip(self, request: Message) -> Message:
        loop = asyncio.get_running_loop()
        if self._udp is None or self._udp_replies is None:
            try:
                self._udp, self._udp_replies = await loop.create_datagram_endpoint(
                    _UdpReplies, remote_addr=(self.host, self.port)
                )
            except OSError as exc:
                raise HandleWireError(f"cannot reach {self.host}:{self.port}: {exc}") from exc
        data = encode_message(request)
        queue = self._udp_replies.queue
        assembler = Reassembler(request.envelope.request_id)
        for _attempt in range(_UDP_ATTEMPTS):
            self._udp.sendto(data)
            try:
                async with asyncio.timeout(self.timeout / _UDP_ATTEMPTS):
                    while True:
                        item = await queue.get()
                        if isinstance(item, Exception):
                            raise HandleWireError(
                                f"{self.host}:{self.port} (udp) refused: {item}"
                            ) from item
                        done = assembler.add(item)
                        if done is not None:
                            return decode_payload(*done)
            except TimeoutError:
                continue
        raise TimeoutError

    async def _tcp_roundtrip(self, request: Message) -> Message:
        for attempt in range(2):
            if self._tcp is None:
                try:
                    self._tcp = await asyncio.open_connection(self.host, self.port)
                except OSError as exc:
                    raise HandleWireError(
                        f"cannot connect to {self.host}:{self.port}: {exc}"
                    ) from exc
            reader, writer = self._tcp
            try:
                writer.write(encode_message(request))
                await writer.drain()
                while True:
                    got = await read_tcp_message(reader)
                    if got is None:
                        raise ConnectionResetError("connection closed by the server")
                    if got[0].request_id == request.envelope.request_id:
                        return decode_payload(*got)
            except (ConnectionError, asyncio.IncompleteReadError) as exc:
                writer.close()
                self._tcp = None
                if attempt:  # a kept-alive connection the server closed: retry once, fresh
                    raise HandleWireError(f"{self.host}:{self.port} closed the connection") from exc
        raise HandleWireError("unreachable")  # pragma: no cover - the loop returns or raises
