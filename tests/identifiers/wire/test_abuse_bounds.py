"""Protocol abuse: UDP amplification bounds and TCP connection hogging, on real sockets."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from prometheus_client import REGISTRY
from typer.testing import CliRunner

from taihu.accounts import Principal
from taihu.cli import app
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
    Envelope,
    HandleClient,
    Header,
    Message,
    OpCode,
    OpFlag,
    ResolutionRequest,
    ResponseCode,
    decode_envelope,
    decode_message,
    encode_message,
    read_tcp_message,
)
from taihu.identifiers.wire.budget import SourceBudget, source_key
from taihu.identifiers.wire.framing import datagram_bytes, split_datagrams
from taihu.identifiers.wire.messages import ENVELOPE_SIZE
from taihu.settings import HandleSettings, Settings
from tests.conftest import World
from tests.identifiers.wire.conftest import PREFIX, Node

BIG = f"{PREFIX}/BIG"
_WAIT = 10.0  # seconds before a test gives up on an answer (never reached when it passes)


def refused(reason: str) -> float:
    """How many requests the abuse bounds refused for ``reason`` so far (``/metrics``)."""
    value = REGISTRY.get_sample_value("taihu_handle_refused_total", {"reason": reason})
    return value or 0.0


def request(request_id: int, handle: str, flags: OpFlag = OpFlag.NONE) -> bytes:
    envelope = Envelope(request_id)
    return encode_message(
        Message(envelope, Header(OpCode.RESOLUTION, flags=flags), ResolutionRequest(handle))
    )


async def _big_record(db: Database) -> list[bytes]:
    """What an enterprise user may publish: three public values of 60,000 characters."""
    texts = [(c * 60_000).encode() for c in "abc"]
    values = [HandleValue(index=i, type="NOTE", data=t) for i, t in enumerate(texts, 1)]
    async with db.session() as session:
        await IdentifierService(session).put(Principal.system("test"), parse_handle(BIG), values)
    return texts


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.queue: asyncio.Queue[bytes] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: Any) -> None:  # noqa: ARG002 - one peer
        self.queue.put_nowait(data)


@asynccontextmanager
async def udp_from(
    source: str, port: int
) -> AsyncIterator[tuple[asyncio.DatagramTransport, asyncio.Queue[bytes]]]:
    """A real UDP socket bound to ``source`` (any 127.x.y.z), talking to the server."""
    transport, protocol = await asyncio.get_running_loop().create_datagram_endpoint(
        _Datagrams, local_addr=(source, 0), remote_addr=("127.0.0.1", port)
    )
    try:
        yield transport, protocol.queue
    finally:
        transport.close()


async def replies_until(queue: asyncio.Queue[bytes], last: int) -> dict[int, list[bytes]]:
    """Every datagram received, by request id, until the whole reply to ``last`` is in."""
    seen: dict[int, list[bytes]] = {}
    async with asyncio.timeout(_WAIT):
        while True:
            datagram = await queue.get()
            envelope = decode_envelope(datagram)
            seen.setdefault(envelope.request_id, []).append(datagram)
            pieces = seen.get(last, [])
            if pieces and sum(len(p) - ENVELOPE_SIZE for p in pieces) >= envelope.length:
                return seen


@asynccontextmanager
async def serving(
    settings: Settings, db: Database, world: World, **limits: Any
) -> AsyncIterator[int]:
    """A Handle server with the given ``TAIHU_HANDLE_*`` limits; its port."""
    custom = settings.model_copy(update={"handle": HandleSettings(**limits)})
    resolver = Resolver(db, world.clock)
    tcp, udp = bind_handle("127.0.0.1", 0)
    port = tcp.getsockname()[1]
    server = handle_server_for(custom, db, world.clock, resolver, port)
    await server.start(tcp, udp)
    try:
        yield port
    finally:
        await server.stop()
        await resolver.aclose()


# UDP: per reply -----------------------------------------------------------------------------


async def test_a_record_too_large_for_udp_gets_one_small_refusal(node: Node, db: Database) -> None:
    await _big_record(db)
    async with HandleClient(node.host, node.port, transport="tcp") as client:
        await client.resolve(BIG)  # in the cache now: answered at once, in order
        await client.resolve(f"{PREFIX}/W1")
    asked = request(41, BIG)
    before = refused("udp_reply_too_large")
    async with udp_from("127.0.0.1", node.port) as (transport, queue):
        transport.sendto(asked)
        transport.sendto(request(42, f"{PREFIX}/W1"))  # its answer closes the count
        seen = await replies_until(queue, 42)
    got = seen[41]
    assert len(got) == 1  # not 367 datagrams
    sent_back = sum(len(d) for d in got)
    assert sent_back <= HandleSettings().udp_reply_max_bytes
    assert sent_back < 2 * len(asked)
    refusal = decode_message(got[0])
    assert refusal.envelope.truncated
    assert refusal.header.response_code is ResponseCode.ERROR
    assert "TCP" in refusal.body.message  # type: ignore[union-attr]
    assert decode_message(seen[42][0]).header.response_code is ResponseCode.SUCCESS
    assert refused("udp_reply_too_large") == before + 1


async def test_taihu_client_and_cli_resolve_a_large_record_by_falling_back_to_tcp(
    node: Node, db: Database
) -> None:
    texts = await _big_record(db)
    async with HandleClient(node.host, node.port, transport="udp") as client:
        reply = await client.resolve(BIG)
    assert [v.data for v in reply.values if v.type == "NOTE"] == texts
    # The command runs its own event loop, so it runs off this test's loop.
    result = await asyncio.to_thread(
        CliRunner().invoke,
        app,
        ["id", "resolve", BIG, "--wire", "udp", "--server", f"{node.host}:{node.port}", "--json"],
    )
    assert result.exit_code == 0, result.output
    assert "c" * 60_000 in result.output


# UDP: per source over time ------------------------------------------------------------------


async def test_a_source_past_its_budget_gets_no_more_bytes_than_it_sends(
    node: Node, settings: Settings, db: Database, world: World
) -> None:
    burst = 2048
    limits = {"udp_source_burst_bytes": burst, "udp_source_bytes_per_second": 1}
    async with serving(settings, db, world, **limits) as port:
        asked = request(1, f"{PREFIX}/W1")
        full = refused = 0
        full_bytes = 0
        async with udp_from("127.0.0.1", port) as (transport, queue):
            for request_id in range(1, 41):
                transport.sendto(request(request_id, f"{PREFIX}/W1"))
                (reply,) = (await replies_until(queue, request_id))[request_id]
                message = decode_message(reply)
                if message.header.response_code is ResponseCode.SUCCESS:
                    assert not refused  # once spent, the budget comes back at 1 byte a second
                    full += 1
                    full_bytes += len(reply)
                else:
                    refused += 1
                    assert message.header.response_code is ResponseCode.ERROR
                    assert message.envelope.truncated  # "ask over TCP"
                    assert len(reply) <= len(asked)
        assert full_bytes <= burst + 64  # the burst, plus what 1 byte a second gave back
        assert full >= 1
        assert refused >= 20
        # Another source has its own budget.
        async with udp_from("127.0.0.2", port) as (transport, queue):
            transport.sendto(request(7, f"{PREFIX}/W1"))
            (reply,) = (await replies_until(queue, 7))[7]
            assert decode_message(reply).header.response_code is ResponseCode.SUCCESS
        # The spent source is still served: Taihu's client moves to TCP on the refusal.
        async with HandleClient("127.0.0.1", port, transport="udp") as client:
            assert (await client.resolve(f"{PREFIX}/W1")).handle == f"{PREFIX}/W1"


def test_a_reply_is_counted_as_the_bytes_its_datagrams_take() -> None:
    for length in (60, 512, 513, 1004, 1005, 1496, 1497, 187_538):
        message = Envelope(1).encode(length - ENVELOPE_SIZE) + bytes(length - ENVELOPE_SIZE)
        sent = split_datagrams(message)
        assert sum(len(d) for d in sent) == datagram_bytes(length)
    assert datagram_bytes(1496) == 1536  # three full datagrams: the default limit


def test_sources_are_ipv4_addresses_and_ipv6_slash_64s() -> None:
    assert source_key("192.0.2.7") == "192.0.2.7"
    assert source_key("2001:db8:1:2::1") == source_key("2001:db8:1:2:ffff::9")
    assert source_key("2001:db8:1:2::1") != source_key("2001:db8:1:3::1")
    assert source_key("::ffff:192.0.2.7") != source_key("::ffff:192.0.2.8")


def test_the_budget_refills_at_its_rate_up_to_its_burst() -> None:
    now = [0.0]
    budget = SourceBudget(rate=100, burst=1000, clock=lambda: now[0])
    assert budget.take("192.0.2.1", 1000)
    assert not budget.take("192.0.2.1", 1)
    assert budget.take("192.0.2.2", 500)  # another source
    now[0] = 2.0
    assert budget.take("192.0.2.1", 200)
    assert not budget.take("192.0.2.1", 1)
    now[0] = 1000.0
    assert not budget.take("192.0.2.1", 1001)  # never more than the burst
    assert budget.take("2001:db8::1", 1000)
    assert not budget.take("2001:db8::2", 1)  # the same /64


# TCP ----------------------------------------------------------------------------------------


async def _resolve_on(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, rid: int) -> int:
    writer.write(request(rid, f"{PREFIX}/W1", OpFlag.KPAL))
    await writer.drain()
    got = await read_tcp_message(reader)
    assert got is not None
    return int(decode_message(got[0].encode(got[0].length) + got[1]).header.response_code)


async def test_one_address_cannot_take_every_tcp_connection(
    node: Node, settings: Settings, db: Database, world: World
) -> None:
    limits = {"tcp_connections_per_address": 3, "tcp_request_timeout": 30.0}
    async with serving(settings, db, world, **limits) as port:
        held = []
        async with asyncio.timeout(_WAIT):
            for rid in range(1, 4):  # three kept-alive connections, each answered once
                reader, writer = await asyncio.open_connection(
                    "127.0.0.1", port, local_addr=("127.0.0.1", 0)
                )
                assert await _resolve_on(reader, writer, rid) == ResponseCode.SUCCESS
                held.append((reader, writer))
            before = refused("tcp_connections_per_address")
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", port, local_addr=("127.0.0.1", 0)
            )
            assert await reader.read() == b""  # the fourth from that address: closed at once
            assert refused("tcp_connections_per_address") == before + 1
            writer.close()
            other_reader, other_writer = await asyncio.open_connection(
                "127.0.0.1", port, local_addr=("127.0.0.2", 0)
            )
            assert await _resolve_on(other_reader, other_writer, 9) == ResponseCode.SUCCESS
            other_writer.close()
            # A connection that ends gives its place back.
            first_reader, first_writer = held.pop(0)
            first_writer.write(request(10, f"{PREFIX}/W1"))  # no KPAL: closed after the reply
            assert await read_tcp_message(first_reader) is not None
            assert await first_reader.read() == b""
            first_writer.close()
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", port, local_addr=("127.0.0.1", 0)
            )
            assert await _resolve_on(reader, writer, 11) == ResponseCode.SUCCESS
            writer.close()
        for _, writer in held:
            writer.close()


async def test_a_connection_without_a_whole_request_is_closed_after_the_timeout(
    node: Node, settings: Settings, db: Database, world: World
) -> None:
    before = refused("tcp_request_timeout")
    async with serving(settings, db, world, tcp_request_timeout=0.5) as port:
        async with asyncio.timeout(_WAIT):
            idle_reader, idle_writer = await asyncio.open_connection("127.0.0.1", port)
            slow_reader, slow_writer = await asyncio.open_connection("127.0.0.1", port)
            slow_writer.write(request(1, f"{PREFIX}/W1")[:30])  # a request begun, never ended
            await slow_writer.drain()
            assert await idle_reader.read() == b""
            assert await slow_reader.read() == b""
        assert refused("tcp_request_timeout") == before + 2
        idle_writer.close()
        slow_writer.close()
        async with HandleClient("127.0.0.1", port, transport="tcp") as client:
            assert (await client.resolve(f"{PREFIX}/W1")).handle == f"{PREFIX}/W1"
