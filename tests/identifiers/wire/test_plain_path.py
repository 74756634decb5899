"""The plain-resolution fast path answers byte for byte as the full decoder and dispatch do.

Both paths are asked the same requests on one dispatcher (one database, one frozen clock, so
the expiration agrees); every request that is not plain must be refused by the fast path and
go the general way, where filters, digests, credentials and referrals are decided.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import AsyncIterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from taihu.accounts import Principal
from taihu.core import Database
from taihu.identifiers import (
    Handle,
    HandleValue,
    IdentifierService,
    Resolver,
    handle_server_for,
    parse_handle,
)
from taihu.identifiers.handle import HandleValueError, plain_key
from taihu.identifiers.resolution import LocalPrefixes
from taihu.identifiers.server.dispatch import Conversation, HandleDispatcher
from taihu.identifiers.wire import (
    Credential,
    Envelope,
    HandleClient,
    Header,
    Message,
    OpCode,
    OpFlag,
    ResolutionRequest,
    ResolutionResponse,
    ResponseCode,
    decode_message,
    encode_message,
)
from taihu.identifiers.wire.codec import ENVELOPE_SIZE, HEADER_SIZE
from taihu.identifiers.wire.plain import read_plain_resolution
from taihu.settings import Settings
from tests.conftest import World
from tests.identifiers.wire.conftest import PREFIX, Node

Request = tuple[Envelope, Header, ResolutionRequest]


def _request(
    handle: str = f"{PREFIX}/W1",
    *,
    request_id: int = 7,
    session_id: int = 0,
    minor: int = 1,
    flags: OpFlag = OpFlag.NONE,
    indexes: tuple[int, ...] = (),
    types: tuple[str, ...] = (),
    credential: Credential | None = None,
) -> bytes:
    envelope = Envelope(request_id, session_id=session_id, version=(2, minor))
    header = Header(OpCode.RESOLUTION, flags=flags)
    body = ResolutionRequest(handle, indexes, types)
    return encode_message(Message(envelope, header, body, credential))


@pytest.fixture
async def dispatcher(
    node: Node,
    db: Database,
    settings: Settings,
    world: World,
) -> AsyncIterator[HandleDispatcher]:
    """A dispatcher of its own over the ``node`` fixture's database, its prefixes read."""
    resolver = Resolver(db, world.clock)
    server = handle_server_for(settings, db, world.clock, resolver, 2641)
    assert isinstance(server.dispatcher.locator, LocalPrefixes)
    await server.dispatcher.locator.served()
    yield server.dispatcher
    await resolver.aclose()


async def _both(dispatcher: HandleDispatcher, data: bytes) -> tuple[bytes | None, bytes]:
    """The fast path's reply (``None``: refused) and the general path's, to the same bytes."""
    request = read_plain_resolution(data)
    fast: bytes | None = None
    if request is not None:
        (reply,) = dispatcher.answer_plain([request])
        if reply is False:  # PostgreSQL: the miss waits for one query
            (reply,) = await dispatcher.answer_later([request])
        fast = reply
    message = decode_message(data)
    body_length = int.from_bytes(data[ENVELOPE_SIZE + 20 : ENVELOPE_SIZE + HEADER_SIZE], "big")
    signed = data[ENVELOPE_SIZE : ENVELOPE_SIZE + HEADER_SIZE + body_length]
    general = await dispatcher.dispatch(message, signed, Conversation())
    return fast, general


PLAIN = [
    _request(),
    _request(request_id=0xFFFF_FFFE, session_id=99),
    _request(minor=0),
    _request(minor=11),
    _request(minor=12),  # answered as 2.11, the server's highest
    _request(flags=OpFlag.AUTH | OpFlag.RECU),
    _request(flags=OpFlag.KPAL | OpFlag.PUBL | OpFlag.CACR | OpFlag.DNRF),
    _request(f"{PREFIX.lower()}/W1"),  # the prefix is case-insensitive
    _request(f"{PREFIX}/NOPE"),  # RC 100 under a served prefix
    _request(f"{PREFIX}/w1"),  # the suffix too is case-insensitive by default: found
]


@pytest.mark.parametrize(
    ("version", "suggested", "spoken"),
    [
        ((2, 10), (2, 11), (2, 11)),  # the reference answers a 2.10 request suggesting 2.11 so
        ((2, 1), (2, 11), (2, 11)),
        ((2, 12), (2, 12), (2, 11)),  # the server's highest
        ((2, 0), (0, 0), (2, 0)),  # a 2.0 request suggests nothing: its own version
        ((2, 1), (2, 1), (2, 1)),
    ],
)
async def test_a_reply_speaks_the_version_the_request_suggests_at_most_2_11(
    dispatcher: HandleDispatcher,
    version: tuple[int, int],
    suggested: tuple[int, int],
    spoken: tuple[int, int],
) -> None:
    envelope = Envelope(7, version=version, suggested=suggested)
    body = ResolutionRequest(f"{PREFIX}/W1", (), ())
    data = encode_message(Message(envelope, Header(OpCode.RESOLUTION), body))
    fast, general = await _both(dispatcher, data)
    assert decode_message(general).envelope.version == spoken
    assert fast == general


async def test_both_paths_find_a_handle_in_other_capitals(dispatcher: HandleDispatcher) -> None:
    fast, general = await _both(dispatcher, _request(f"{PREFIX.lower()}/w1"))
    assert fast == general
    reply = decode_message(general)
    assert reply.header.response_code is ResponseCode.SUCCESS
    assert isinstance(reply.body, ResolutionResponse)


@pytest.mark.parametrize("data", PLAIN, ids=range(len(PLAIN)))
async def test_the_fast_path_answers_as_the_general_path(
    dispatcher: HandleDispatcher, data: bytes
) -> None:
    first_fast, general = await _both(dispatcher, data)
    second_fast, _ = await _both(dispatcher, data)  # now from the cache
    assert first_fast == general
    assert second_fast == general


NOT_PLAIN = {
    "type filter": _request(types=("URL",)),
    "index filter": _request(indexes=(1,)),
    "request digest": _request(flags=OpFlag.RRDG),
    "certified": _request(flags=OpFlag.CERT),
    "encrypted reply": _request(flags=OpFlag.ENCR),
    "credential": _request(
        credential=Credential(f"{PREFIX}/ADMIN", 300, "HS_SIGNED", "SHA-256", b"x")
    ),
}


@pytest.mark.parametrize("data", NOT_PLAIN.values(), ids=NOT_PLAIN.keys())
def test_requests_that_are_not_plain_take_the_general_path(data: bytes) -> None:
    assert read_plain_resolution(data) is None


def test_odd_envelopes_and_headers_take_the_general_path() -> None:
    data = bytearray(_request())
    assert read_plain_resolution(bytes(data)) is not None
    for offset, value in [
        (0, 3),  # major version 3
        (2, 0x80),  # compressed
        (2, 0x40),  # encrypted
        (15, 1),  # sequence 1: a piece of a longer request
        (23, 2),  # operation GET_SITE_INFO
        (27, 1),  # a response code: not a request
    ]:
        changed = bytearray(data)
        changed[offset] = value
        assert read_plain_resolution(bytes(changed)) is None, offset
    assert read_plain_resolution(bytes(data[:-1])) is None  # cut short
    assert read_plain_resolution(bytes(data) + b"\0") is None  # trailing byte
    longer = bytearray(data)
    struct.pack_into(">I", longer, 16, len(data))  # says more than the datagram holds
    assert read_plain_resolution(bytes(longer)) is None
    assert read_plain_resolution(b"\x02\x01garbage") is None


@pytest.mark.parametrize(
    "handle", ["99.1/W1", "88.118.8/", "/W1", "88.118.8 /W1", "88.118.8/W\x01", "88.118.8/W1é"]
)
async def test_handles_the_fast_path_does_not_answer(
    dispatcher: HandleDispatcher, handle: str
) -> None:
    data = _request(handle)
    request = read_plain_resolution(data)
    assert request is not None  # plain in shape ...
    assert dispatcher.answer_plain([request]) == [None]  # ... but decided by dispatch


# The first text draw of a fresh checkout builds Hypothesis's Unicode tables (over a second).
@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.text(max_size=40) | st.from_regex(r"[0-9A-Za-z.]{1,8}/[ -~]{1,12}", fullmatch=True))
def test_plain_keys_are_the_keys_handle_makes(text: str) -> None:
    try:
        expected: str | None = Handle(text).key
    except HandleValueError:
        expected = None
    got = plain_key(text.encode("utf-8", "surrogatepass"))
    if got is not None:
        assert got == expected
    elif expected is not None:  # refused only for what plain_key does not look into
        assert not text.isascii() or " " in text.split("/", 1)[0]


async def test_plain_resolutions_see_a_write_within_the_sync_interval(
    node: Node, db: Database, world: World
) -> None:
    async with HandleClient(node.host, node.port, transport="udp") as client:
        for _ in range(3):
            reply = await client.resolve(f"{PREFIX}/W1")
        assert reply.values[0].data == b"https://example.cn/w1"
        async with db.session() as session:
            await IdentifierService(session, world.clock).put(
                Principal.system("test"),
                parse_handle(f"{PREFIX}/W1"),
                [HandleValue(index=1, type="URL", data=b"https://example.cn/changed")],
                indexes=[1],
            )
        # Another process's write is seen within the sync interval (0.5 s) of the cache.
        for _ in range(40):
            reply = await client.resolve(f"{PREFIX}/W1")
            if reply.values[0].data == b"https://example.cn/changed":
                break
            await asyncio.sleep(0.05)
        assert reply.values[0].data == b"https://example.cn/changed"


def _exchange(host: str, port: int, data: bytes) -> list[bytes]:
    """Send one datagram and read the pieces of its reply (blocking: run in a thread)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(5)
        sock.sendto(data, (host, port))
        pieces = [sock.recv(4096)]
        total = struct.unpack_from(">I", pieces[0], 16)[0]
        while sum(len(p) - ENVELOPE_SIZE for p in pieces) < total:
            pieces.append(sock.recv(4096))
    return pieces


async def test_a_large_record_goes_out_in_512_byte_pieces(
    node: Node, db: Database, world: World
) -> None:
    # About 1.2 KB: split, and under the UDP reply limit (1,536 bytes by default).
    values = [HandleValue(index=i, type="NOTE", data=b"x" * 200) for i in range(1, 6)]
    async with db.session() as session:
        await IdentifierService(session, world.clock).put(
            Principal.system("test"), parse_handle(f"{PREFIX}/BIG"), values
        )
    data = _request(f"{PREFIX}/BIG", request_id=4242)
    for _ in range(2):  # read from the database, then from the cache
        pieces = await asyncio.to_thread(_exchange, node.host, node.port, data)
        assert len(pieces) > 1
        assert all(len(p) <= 512 for p in pieces)
        assert {struct.unpack_from(">I", p, 8)[0] for p in pieces} == {4242}
        ordered = sorted(pieces, key=lambda p: struct.unpack_from(">I", p, 12)[0])
        assert [struct.unpack_from(">I", p, 12)[0] for p in ordered] == list(range(len(pieces)))
        payload = b"".join(p[ENVELOPE_SIZE:] for p in ordered)
        reply = decode_message(ordered[0][:ENVELOPE_SIZE] + payload)
        assert reply.header.response_code is ResponseCode.SUCCESS
        assert isinstance(reply.body, ResolutionResponse)
        assert [v.data for v in reply.body.values if v.type == "NOTE"] == [b"x" * 200] * 5
