"""Requests spelled byte by byte as the Handle.Net client sends them, and the replies it reads.

No Taihu encoder is used to build what is sent: the bytes come from the RFC 3652 layouts (see
``test_vectors``), so a server that drifts from them fails here even if our own client agrees.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import socket
import struct

from taihu.identifiers.wire import (
    Challenge,
    OpCode,
    OpFlag,
    Reassembler,
    ResponseCode,
    SiteInfoResponse,
    decode_message,
    decode_payload,
)
from tests.identifiers.wire.conftest import PREFIX, SECRET, Node


def blob(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def utf8(text: str) -> bytes:
    return blob(text.encode())


def message(
    request_id: int, opcode: int, body: bytes, flags: int = 0, session: int = 0
) -> tuple[bytes, bytes]:
    """The whole 2.11 request (empty credential) and its header + body (what digests cover)."""
    signed = struct.pack(">IIIHBBII", opcode, 0, flags, 0xFFFF, 0, 0, 0, len(body)) + body
    payload = signed + bytes(4)
    envelope = struct.pack(">BBHIIII", 2, 11, 0x020B, session, request_id, 0, len(payload))
    return envelope + payload, signed


async def over_tcp(node: Node, wire: bytes) -> bytes:
    """Send one request on a fresh connection (no KPAL: the server closes after its reply)."""
    reader, writer = await asyncio.open_connection(node.host, node.port)
    try:
        writer.write(wire)
        head = await reader.readexactly(20)
        (length,) = struct.unpack_from(">I", head, 16)
        return head + await reader.readexactly(length)
    finally:
        writer.close()
        await writer.wait_closed()


async def test_site_info_request_with_its_empty_handle(node: Node) -> None:
    wire, _ = message(11, 2, utf8(""))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(5)
        sock.sendto(wire, (node.host, node.port))
        # The server shares this event loop: wait for the datagrams in a thread. With the
        # server's public key in it the site takes two 512-byte datagrams, as Handle.Net's.
        pieces = Reassembler(11)
        whole = None
        while whole is None:
            whole = pieces.add(await asyncio.to_thread(sock.recv, 65535))
        reply = decode_payload(*whole)
    assert reply.header.response_code is ResponseCode.SUCCESS
    assert isinstance(reply.body, SiteInfoResponse)
    assert reply.envelope.request_id == 11


async def test_admin_request_challenge_and_pbkdf2_answer(node: Node) -> None:
    value = (
        struct.pack(">IIBIB", 1, 0, 0, 86400, 0x0E) + utf8("URL") + utf8("https://ref.example")
    ) + bytes(4)  # index 1, no timestamp, relative TTL 86400, perms 1110, URL, no references
    create, signed = message(21, 100, utf8(f"{PREFIX}/REF-1") + struct.pack(">I", 1) + value)
    raw = await over_tcp(node, create)
    challenge = decode_message(raw)
    # The header says a request digest leads the body (else the client reads it as a nonce).
    assert challenge.header.response_code is ResponseCode.AUTHEN_NEEDED
    assert challenge.header.flags & OpFlag.RRDG
    (body_length,) = struct.unpack_from(">I", raw, 20 + 20)
    body = raw[44 : 44 + body_length]
    assert body[0] == 3  # SHA-256 for a 2.11 request
    assert body[1:33] == hashlib.sha256(signed).digest()
    (nonce_length,) = struct.unpack_from(">I", body, 33)
    nonce = body[37 : 37 + nonce_length]
    assert isinstance(challenge.body, Challenge)
    assert challenge.body.nonce == nonce
    # A Handle.Net 2.7+ client answers with PBKDF2-HMAC-SHA1 (tag 0x22).
    salt, iterations, bits = b"0123456789abcdef", 10_000, 160
    derived = hashlib.pbkdf2_hmac("sha1", SECRET.encode(), salt, iterations, bits // 8)
    mac = hmac.new(derived, nonce + body[1:33], "sha1").digest()
    proof = (
        b"\x22"
        + struct.pack(">I", len(salt))
        + salt
        + struct.pack(">III", iterations, bits, len(mac))
        + mac
    )
    answer_body = utf8("HS_SECKEY") + utf8(f"{PREFIX}/ADMIN") + struct.pack(">I", 300) + blob(proof)
    # Like Handle.Net: a new connection, a new request id, the challenge's session id.
    session = challenge.envelope.session_id
    assert session != 0
    answer, _ = message(22, 200, answer_body, session=session)
    done = decode_message(await over_tcp(node, answer))
    replayed = decode_message(await over_tcp(node, answer))  # a challenge is answered once
    assert done.header.response_code is ResponseCode.SUCCESS
    assert (done.envelope.request_id, done.header.opcode) == (22, OpCode.CREATE_HANDLE)
    assert replayed.header.response_code is ResponseCode.AUTHEN_TIMEOUT
