"""The listeners under bad input, large replies and kept-alive connections, on real sockets."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
from collections.abc import AsyncIterator

import pytest

from taihu.accounts import Principal
from taihu.core import Database
from taihu.identifiers import (
    HandleValue,
    IdentifierService,
    Resolver,
    bind_handle,
    handle_server_for,
    parse_handle,
)
from taihu.identifiers.wire import (
    DigestAlgorithm,
    Envelope,
    ErrorBody,
    HandleClient,
    Header,
    Message,
    OpCode,
    OpFlag,
    ResolutionRequest,
    ResolutionResponse,
    ResponseCode,
    decode_envelope,
    decode_message,
    encode_message,
    read_tcp_message,
)
from taihu.settings import Settings
from tests.conftest import World
from tests.identifiers.wire.conftest import PREFIX, Node


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.queue: asyncio.Queue[bytes] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: object) -> None:  # noqa: ARG002
        self.queue.put_nowait(data)


@pytest.fixture
async def udp(node: Node) -> AsyncIterator[tuple[asyncio.DatagramTransport, asyncio.Queue[bytes]]]:
    """A raw UDP socket connected to the node, and the datagrams it receives."""
    transport, protocol = await asyncio.get_running_loop().create_datagram_endpoint(
        _Datagrams, remote_addr=(node.host, node.port)
    )
    yield transport, protocol.queue
    transport.close()


def request(request_id: int, handle: str, flags: OpFlag = OpFlag.NONE) -> bytes:
    envelope = Envelope(request_id)
    return encode_message(
        Message(envelope, Header(OpCode.RESOLUTION, flags=flags), ResolutionRequest(handle))
    )


async def next_datagram(queue: asyncio.Queue[bytes]) -> bytes:
    async with asyncio.timeout(10):
        return await queue.get()


async def test_garbage_datagrams_get_rc_2_and_the_server_keeps_serving(
    node: Node, udp: tuple[asyncio.DatagramTransport, asyncio.Queue[bytes]]
) -> None:
    transport, queue = udp
    transport.sendto(b"\x00garbage")
    reply = decode_message(await next_datagram(queue))
    assert reply.envelope.request_id == 0xFFFF_FFFF
    assert reply.header.response_code is ResponseCode.ERROR
    rng = random.Random(2641)
    for _ in range(300):  # one at a time: every datagram is answered, and UDP may drop a flood
        transport.sendto(rng.randbytes(rng.randrange(0, 300)))
        decode_envelope(await next_datagram(queue))
    wrong = bytearray(request(77, f"{PREFIX}/W1"))
    wrong[0] = 5
    transport.sendto(bytes(wrong))
    transport.sendto(request(78, f"{PREFIX}/W1"))
    seen: dict[int, Message] = {}
    while 78 not in seen:
        message = decode_message(await next_datagram(queue))
        seen[message.envelope.request_id] = message
    assert seen[77].header.response_code is ResponseCode.PROTOCOL_ERROR
    assert seen[78].header.response_code is ResponseCode.SUCCESS
    async with HandleClient(node.host, node.port) as client:
        assert (await client.resolve(f"{PREFIX}/W1")).handle == f"{PREFIX}/W1"


async def test_reply_envelope_and_header_follow_the_reference_server(
    udp: tuple[asyncio.DatagramTransport, asyncio.Queue[bytes]],
) -> None:
    transport, queue = udp
    transport.sendto(request(5, f"{PREFIX}/W1"))
    raw = await next_datagram(queue)
    # 2.11, the version the request suggests (test_plain_path: 2.0 gets 2.0), MessageFlag 0x020B
    assert raw[:4] == b"\x02\x0b\x02\x0b"
    reply = decode_message(raw)
    assert reply.header.flags == OpFlag.AUTH | OpFlag.RECU
    assert reply.header.expiration > 0


async def test_large_replies_are_split_into_512_byte_datagrams(
    node: Node, db: Database, udp: tuple[asyncio.DatagramTransport, asyncio.Queue[bytes]]
) -> None:
    values = [  # about 1.2 KB: split, and under the UDP reply limit (1,536 bytes by default)
        HandleValue(index=i, type="URL", data=b"https://example.cn/" + b"x" * 120)
        for i in range(1, 7)
    ]
    async with db.session() as session:
        await IdentifierService(session).put(
            Principal.system("test"), parse_handle(f"{PREFIX}/BIG"), values
        )
    transport, queue = udp
    transport.sendto(request(9, f"{PREFIX}/BIG"))
    first = await next_datagram(queue)
    total = decode_envelope(first).length
    pieces = [first] + [await next_datagram(queue) for _ in range(-(-total // 492) - 1)]
    assert all(len(p) <= 512 for p in pieces)
    assert sorted(decode_envelope(p).sequence for p in pieces) == list(range(len(pieces)))
    assert {decode_envelope(p).length for p in pieces} == {total}
    assert not any(decode_envelope(p).truncated for p in pieces)
    async with HandleClient(node.host, node.port, transport="udp") as client:
        reply = await client.resolve(f"{PREFIX}/BIG")
    assert [v.index for v in reply.values][:6] == list(range(1, 7))


async def test_tcp_keeps_the_connection_only_when_asked(node: Node) -> None:
    reader, writer = await asyncio.open_connection(node.host, node.port)
    for request_id in (1, 2, 3):
        writer.write(request(request_id, f"{PREFIX}/W1", OpFlag.KPAL))
        got = await read_tcp_message(reader)
        assert got is not None
        assert got[0].request_id == request_id
    writer.write(request(4, f"{PREFIX}/W1"))
    assert await read_tcp_message(reader) is not None
    assert await reader.read() == b""  # closed after a request without KPAL
    writer.close()


async def test_tcp_streams_that_lie_or_stop_are_closed(node: Node) -> None:
    reader, writer = await asyncio.open_connection(node.host, node.port)
    lying = bytearray(request(1, f"{PREFIX}/W1"))
    lying[16:20] = b"\x7f\xff\xff\xff"  # 2 GiB message announced
    writer.write(bytes(lying))
    got = await read_tcp_message(reader)
    assert got is not None
    assert (
        decode_message(got[0].encode(got[0].length) + got[1]).header.response_code
        is ResponseCode.ERROR
    )
    assert await reader.read() == b""
    writer.close()
    reader, writer = await asyncio.open_connection(node.host, node.port)
    writer.write(request(2, f"{PREFIX}/W1")[:30])  # cut short, then gone
    writer.close()
    async with HandleClient(node.host, node.port, transport="tcp") as client:
        assert (await client.resolve(f"{PREFIX}/W1")).handle == f"{PREFIX}/W1"


class _TruncatingUdp(asyncio.DatagramProtocol):
    """Answers every request with an empty reply flagged truncated."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.DatagramTransport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: object) -> None:
        asked = decode_message(data)
        envelope = Envelope(asked.envelope.request_id, truncated=True)
        header = Header(OpCode.RESOLUTION, ResponseCode.ERROR)
        self.transport.sendto(
            encode_message(Message(envelope, header, ErrorBody("truncated"))), addr
        )


async def test_a_truncated_udp_reply_is_asked_again_over_tcp() -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        got = await read_tcp_message(reader)
        assert got is not None
        envelope = Envelope(got[0].request_id)
        body = ResolutionResponse("88.1/T", (HandleValue(index=1, type="URL", data=b"tcp"),))
        writer.write(
            encode_message(Message(envelope, Header(OpCode.RESOLUTION, ResponseCode.SUCCESS), body))
        )
        await writer.drain()
        writer.close()

    tcp = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = tcp.sockets[0].getsockname()[1]
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(
        _TruncatingUdp, local_addr=("127.0.0.1", port)
    )
    try:
        async with HandleClient("127.0.0.1", port, transport="udp") as client:
            reply = await client.resolve("88.1/T")
        assert reply.values[0].data == b"tcp"
    finally:
        transport.close()
        tcp.close()
        await tcp.wait_closed()


async def test_rrdg_replies_carry_the_digest_of_the_request(
    udp: tuple[asyncio.DatagramTransport, asyncio.Queue[bytes]],
) -> None:
    transport, queue = udp
    sent = request(11, f"{PREFIX}/W1", OpFlag.RRDG)
    transport.sendto(sent)
    reply = decode_message(await next_datagram(queue))
    assert reply.header.flags & OpFlag.RRDG
    assert isinstance(reply.body, ResolutionResponse)
    assert reply.body.digest is not None
    assert reply.body.digest.algorithm is DigestAlgorithm.SHA1  # a protocol 2.1 request
    # The digest covers the header and the body (RFC 3652); SHA-1 is what protocol 2.1 knows.
    assert reply.body.digest.value == hashlib.sha1(sent[20:-4], usedforsecurity=False).digest()


async def test_stop_ends_idle_connections_at_once_and_quietly(
    db: Database, settings: Settings, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    resolver = Resolver(db, world.clock)
    tcp, udp = bind_handle("127.0.0.1", 0)
    server = handle_server_for(settings, db, world.clock, resolver, tcp.getsockname()[1])
    await server.start(tcp, udp)
    reader, writer = await asyncio.open_connection("127.0.0.1", tcp.getsockname()[1])
    await asyncio.sleep(0.05)  # the connection is accepted and waits for a request
    caplog.set_level(logging.WARNING)
    async with asyncio.timeout(2):  # far below the bound a busy request gets
        await server.stop()
        assert await reader.read() == b""  # closed by the server
    writer.close()
    await resolver.aclose()
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
