"""A Handle.Net-style session client for the tests, written from the public layouts.

It does what the Handle.Net library's resolver does with a session tracker (we cannot run the
Java library here): SESSION_SETUP with a Diffie-Hellman key (1024-bit group, as Java's default),
the AES session key taken from the shared secret as Handle.Net's provider takes it, admin
requests signed with an HS_MAC credential (HMAC-SHA256 over version, suggested version, session
id, request id, counter, header and body), challenges answered with HS_SECKEY or HS_PUBKEY, and
every reply checked as the library checks it: the request digest, then the credential (session
MAC, or the server's HS_SIGNED signature with the key its HS_SITE publishes).

Only ``struct``, ``hmac`` and cryptography's primitives build what is sent; Taihu's decoder is
used to read the generic parts of replies (HS_SITE, error bodies).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import secrets
import struct
import warnings
from dataclasses import dataclass, field
from typing import Literal

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.utils import CryptographyDeprecationWarning

from taihu.identifiers.wire import Reassembler, decode_site

with warnings.catch_warnings():  # cryptography 51 deprecates DSA; Handle.Net still uses it
    warnings.simplefilter("ignore", CryptographyDeprecationWarning)
    from cryptography.hazmat.primitives.asymmetric import dsa

    DSAPrivateKey = dsa.DSAPrivateKey
    DSAPublicNumbers = dsa.DSAPublicNumbers
    DSAParameterNumbers = dsa.DSAParameterNumbers
    generate_dsa = dsa.generate_private_key

VERSION = (2, 11)
CERT, RRDG, KPAL = 0x4000_0000, 0x0080_0000, 0x0200_0000
SESSION_SETUP, CHALLENGE_RESPONSE, SESSION_TERMINATE, GET_SITE_INFO = 400, 200, 401, 2
# RFC 2409 section 6.2, the 1024-bit MODP group (generator 2).
OAKLEY_P = int(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A0879"
    "8E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B"
    "0BFF5CB6F406B7EDEE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381FFFFFFFFFFFFFFFF",
    16,
)
_ids = itertools.count(1000)


def blob(data: bytes) -> bytes:
    """u32 length + bytes (RFC 3651 byte array)."""
    return struct.pack(">I", len(data)) + data


def utf8(text: str) -> bytes:
    """A UTF8-string as RFC 3651 writes it."""
    return blob(text.encode())


def java_int(number: int) -> bytes:
    """``BigInteger.toByteArray`` of a non-negative number."""
    return number.to_bytes(number.bit_length() // 8 + 1, "big")


def key_bytes(key: rsa.RSAPublicKey | object) -> bytes:
    """Handle.Net's ``Util.getBytesFromPublicKey`` for an RSA or DSA public key."""
    if isinstance(key, rsa.RSAPublicKey):
        numbers = key.public_numbers()
        return utf8("RSA_PUB_KEY") + b"\0\0" + blob(java_int(numbers.e)) + blob(java_int(numbers.n))
    dsa_numbers = key.public_numbers()  # type: ignore[attr-defined]
    group = dsa_numbers.parameter_numbers
    numbers = (group.q, group.p, group.g, dsa_numbers.y)
    return utf8("DSA_PUB_KEY") + b"\0\0" + b"".join(blob(java_int(n)) for n in numbers)


def read_blob(data: bytes, at: int) -> tuple[bytes, int]:
    """The byte array at ``at`` and the offset after it."""
    (size,) = struct.unpack_from(">I", data, at)
    return data[at + 4 : at + 4 + size], at + 4 + size


def dsa_key_from_bytes(data: bytes) -> object:
    """The DSA public key in a DSA_PUB_KEY encoding (what the client reads from HS_SITE)."""
    kind, at = read_blob(data, 0)
    assert kind == b"DSA_PUB_KEY"
    at += 2
    q, at = read_blob(data, at)
    p, at = read_blob(data, at)
    g, at = read_blob(data, at)
    y, at = read_blob(data, at)
    group = DSAParameterNumbers(*(int.from_bytes(n, "big") for n in (p, q, g)))
    return DSAPublicNumbers(int.from_bytes(y, "big"), group).public_key()


@dataclass(frozen=True, slots=True)
class SecKey:
    """Answer challenges with an HS_SECKEY secret (tag 0x13: HMAC-SHA256)."""

    handle: str
    index: int
    secret: bytes

    def answer(self, nonce: bytes, digest: bytes) -> tuple[str, bytes]:
        return "HS_SECKEY", b"\x13" + hmac.new(self.secret, nonce + digest, "sha256").digest()


@dataclass(frozen=True, slots=True)
class PubKey:
    """Answer challenges with a private key, as ``PublicKeyAuthenticationInfo.authenticate``."""

    handle: str
    index: int
    key: rsa.RSAPrivateKey | DSAPrivateKey
    hash_name: str = "SHA-256"

    def answer(self, nonce: bytes, digest: bytes) -> tuple[str, bytes]:
        # Handle.Net 2.7-2.10 DSA clients sign with SHA1withDSA: the server must accept it.
        sha1 = hashes.SHA1()  # noqa: S303 - the legacy form under test
        algorithm = hashes.SHA256() if self.hash_name == "SHA-256" else sha1
        if isinstance(self.key, rsa.RSAPrivateKey):
            signature = self.key.sign(nonce + digest, padding.PKCS1v15(), algorithm)
        else:
            signature = self.key.sign(nonce + digest, algorithm)
        return "HS_PUBKEY", utf8(self.hash_name) + blob(signature)


@dataclass(slots=True)
class Reply:
    """One reply, split as the Handle.Net decoder splits it."""

    session_id: int
    request_id: int
    version: tuple[int, int]
    suggested: tuple[int, int]
    opcode: int
    code: int
    flags: int
    head_and_body: bytes  # what digests, MACs and signatures cover
    body: bytes
    credential: bytes
    payload: bytes

    @classmethod
    def parse(cls, envelope: bytes, payload: bytes) -> Reply:
        major, minor, flag, session, request, _seq, _length = struct.unpack(">BBHIIII", envelope)
        opcode, code, flags, _serial, _rec, _res, _exp, body_length = struct.unpack_from(
            ">IIIHBBII", payload
        )
        head_and_body = payload[: 24 + body_length]
        rest = payload[24 + body_length :]
        credential = b""
        if len(rest) >= 4:
            credential, _ = read_blob(rest, 0)
        suggested = ((flag >> 8) & 0x1F, flag & 0xFF)
        return cls(session, request, (major, minor), suggested, opcode, code, flags,
                   head_and_body, payload[24 : 24 + body_length], credential, payload)  # fmt: skip


@dataclass(slots=True)
class ClientSession:
    """The client's half of a session."""

    id: int
    key: bytes
    counter: int = 0
    server_counters: list[int] = field(default_factory=list)


def mac_prefix(version: tuple[int, int], suggested: tuple[int, int], session: int, request: int,
               counter: int) -> bytes:  # fmt: skip
    """``AbstractMessage.signMessage``'s fields before header and body (2.8 and later)."""
    return bytes(version) + bytes(suggested) + struct.pack(">III", session, request, counter)


def mac_credential(key: bytes, session: int, request: int, counter: int, signed: bytes) -> bytes:
    """The HS_MAC credential a Handle.Net 2.11 client attaches to a session request."""
    mac = hmac.new(key, mac_prefix(VERSION, VERSION, session, request, counter) + signed, "sha256")
    section = utf8("HMAC-SHA256") + blob(mac.digest())
    return b"\0\0\0\0" + utf8("") + struct.pack(">I", counter) + utf8("HS_MAC") + blob(section)


class SessionClient:
    """Sends Handle.Net-shaped requests over TCP or UDP and checks every reply."""

    def __init__(self, host: str, port: int, transport: Literal["tcp", "udp"] = "tcp") -> None:
        self.host, self.port, self.transport = host, port, transport
        self.server_key: object | None = None
        self.session: ClientSession | None = None
        self.challenges = 0  # how many challenges the server sent

    # Framing ------------------------------------------------------------------------------

    def _frame(self, request_id: int, opcode: int, body: bytes, flags: int, session: int,
               credential: bytes) -> tuple[bytes, bytes]:  # fmt: skip
        signed = struct.pack(">IIIHBBII", opcode, 0, flags, 0xFFFF, 0, 0, 0, len(body)) + body
        payload = signed + blob(credential)
        head = struct.pack(">BBHIIII", *VERSION, 0x020B, session, request_id, 0, len(payload))
        return head + payload, signed

    async def _send(self, wire: bytes, request_id: int) -> Reply:
        if self.transport == "tcp":
            reader, writer = await asyncio.open_connection(self.host, self.port)
            try:
                writer.write(wire)
                await writer.drain()
                envelope = await reader.readexactly(20)
                (length,) = struct.unpack_from(">I", envelope, 16)
                return Reply.parse(envelope, await reader.readexactly(length))
            finally:
                writer.close()
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[bytes] = asyncio.Queue()

        class _Protocol(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: object) -> None:  # noqa: ARG002
                queue.put_nowait(data)

        transport, _ = await loop.create_datagram_endpoint(
            _Protocol, remote_addr=(self.host, self.port)
        )
        try:
            transport.sendto(wire)
            pieces = Reassembler(request_id)
            while True:
                async with asyncio.timeout(5):
                    datagram = await queue.get()
                whole = pieces.add(datagram)
                if whole is not None:
                    return Reply.parse(whole[0].encode(whole[0].length), whole[1])
        finally:
            transport.close()

    # Checks -------------------------------------------------------------------------------

    def _check(self, reply: Reply, signed: bytes, flags: int) -> None:
        """``verifyRequestDigestIfNeeded`` and ``checkSignatureIfNeeded`` of the library."""
        if flags & RRDG:
            assert reply.flags & RRDG, "the reply must carry the request digest"
            assert reply.body[0] == 3, "SHA-256 digest for a 2.11 request"
            assert reply.body[1:33] == hashlib.sha256(signed).digest(), "invalid request digest"
        if not flags & CERT:
            return
        assert reply.credential, "a certified request needs a signed reply"
        at = 4
        _signer, at = read_blob(reply.credential, at)
        (counter,) = struct.unpack_from(">I", reply.credential, at)
        kind, at = read_blob(reply.credential, at + 4)
        section, _ = read_blob(reply.credential, at)
        algorithm, at = read_blob(section, 0)
        signature, _ = read_blob(section, at)
        covered = mac_prefix(reply.version, reply.suggested, reply.session_id, reply.request_id,
                             counter) + reply.head_and_body  # fmt: skip
        if kind == b"HS_MAC":
            assert self.session is not None
            assert reply.session_id == self.session.id
            assert algorithm == b"HMAC-SHA256"
            expected = hmac.new(self.session.key, covered, "sha256").digest()
            assert hmac.compare_digest(expected, signature), "Verification of session MAC failed"
            self.session.server_counters.append(counter)
            return
        assert kind == b"HS_SIGNED", kind
        assert algorithm == b"SHA-256"
        assert self.server_key is not None, "no server key known from HS_SITE"
        self.server_key.verify(signature, covered, hashes.SHA256())  # type: ignore[attr-defined]

    async def call(
        self,
        opcode: int,
        body: bytes,
        flags: int = 0,
        *,
        session: int | None = None,
        sign: bool = True,
        counter: int | None = None,
        key: bytes | None = None,
    ) -> tuple[Reply, bytes]:
        """One request (in the session, MAC-signed, unless told otherwise) and its checked reply."""
        request_id = next(_ids)
        credential = b""
        current = self.session
        session_id = current.id if session is None and current is not None else session or 0
        if sign and current is not None and session_id == current.id:
            if counter is None:
                current.counter += 1
                counter = current.counter
            signed = struct.pack(">IIIHBBII", opcode, 0, flags, 0xFFFF, 0, 0, 0, len(body)) + body
            credential = mac_credential(key or current.key, session_id, request_id, counter, signed)
        wire, signed = self._frame(request_id, opcode, body, flags, session_id, credential)
        reply = await self._send(wire, request_id)
        assert reply.request_id == request_id
        self._check(reply, signed, flags)
        return reply, signed

    # Operations ---------------------------------------------------------------------------

    async def site_key(self) -> None:
        """Learn the server's public key from its HS_SITE (GET_SITE_INFO)."""
        reply, _ = await self.call(GET_SITE_INFO, utf8("/"), session=0)
        site = decode_site(reply.body)
        assert site.protocol >= (2, 7), "the site must advertise a protocol with sessions"
        self.server_key = dsa_key_from_bytes(site.servers[0].public_key)

    def setup_body(self, identity: str, index: int, timeout: int, client_y: int) -> bytes:
        """The SESSION_SETUP body ``Encoder.encodeSessionSetupRequest`` writes for mode 4 (DH)."""
        dh_key = utf8("DH_PUB_KEY") + b"\0\0" + blob(java_int(client_y)) + blob(java_int(OAKLEY_P))
        dh_key += blob(java_int(2))
        return (struct.pack(">HI", 4, timeout) + utf8(identity) + struct.pack(">I", index)
                + blob(dh_key) + b"\0\0")  # fmt: skip

    async def setup(self, identity: str, index: int, seconds: int = 3600) -> Reply:
        """SESSION_SETUP with Diffie-Hellman; the session is kept for later calls."""
        if self.server_key is None:
            await self.site_key()
        private = secrets.randbelow(OAKLEY_P - 3) + 2
        body = self.setup_body(identity, index, seconds, pow(2, private, OAKLEY_P))
        reply, _ = await self.call(SESSION_SETUP, body, CERT | RRDG, session=0)
        assert reply.code == 1, reply.code
        data, at = read_blob(reply.body, 33 + 2)
        assert struct.unpack_from(">H", reply.body, 33) == (4,)
        assert reply.body[at:] == b"\0\0", "two padding bytes, as the reference writes"
        assert struct.unpack_from(">I", data) == (3,), "AES"
        kind, at = read_blob(data, 4)
        assert kind == b"DH_PUB_KEY"
        server_y, at = read_blob(data, at + 2)
        p, at = read_blob(data, at)
        assert int.from_bytes(p, "big") == OAKLEY_P
        shared = pow(int.from_bytes(server_y, "big"), private, OAKLEY_P).to_bytes(128, "big")
        start = 0
        while start + 32 < len(shared) and shared[start] == 0:  # stripLeadingZerosAndTruncate
            start += 1
        self.session = ClientSession(reply.session_id, shared[start : start + 32])
        return reply

    async def admin(
        self,
        opcode: int,
        body: bytes,
        who: SecKey | PubKey,
        flags: int = CERT,
        *,
        sign: bool = True,
    ) -> Reply:
        """An admin request in the session; a challenge is answered once, as the library does."""
        reply, signed = await self.call(opcode, body, flags, sign=sign)
        if reply.code != 402:
            return reply
        self.challenges += 1
        nonce, _ = read_blob(reply.body, 33)
        assert reply.body[1:33] == hashlib.sha256(signed).digest()
        kind, proof = who.answer(nonce, reply.body[1:33])
        answer = utf8(kind) + utf8(who.handle) + struct.pack(">I", who.index) + blob(proof)
        final, _ = await self.call(
            CHALLENGE_RESPONSE, answer, flags, session=reply.session_id, sign=False
        )
        return final


def generate_rsa() -> rsa.RSAPrivateKey:
    """A 2048-bit RSA admin key."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def generate_dsa_key() -> DSAPrivateKey:
    """A 2048-bit DSA admin key."""
    return generate_dsa(2048)
