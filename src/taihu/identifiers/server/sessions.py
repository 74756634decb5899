"""Handle sessions: a key agreed once, an admin authenticated once, later requests MAC-checked.

    SESSION_SETUP (DH or client RSA key) ─► session id + key, nothing proven yet
    admin request in the session ─► RC 402 challenge ─► HS_SECKEY / HS_PUBKEY answer
                                    └─ proven: the session remembers the admin
    later admin requests carrying a valid HS_MAC (counter never seen before in the session)
        ─► run as that admin without a challenge
    idle past the session timeout, or SESSION_TERMINATE ─► RC 500 SESSION_TIMEOUT

``SessionTable`` keeps the sessions in this process, bounded (the least recently used goes
first): the one-process default and SQLite. ``shared_state.DatabaseSessions`` keeps them in
PostgreSQL, where every resolver process continues them (TAIHU_HANDLE_SHARED_STATE). Both
answer the ``SessionStore`` interface the dispatcher uses.

Certified replies (``OpFlag.CERT``) carry a credential: the session MAC inside a session, the
server's DSA signature (``pubkeys.server_key``, published in HS_SITE) outside one.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Protocol

from cryptography.hazmat.primitives.asymmetric import padding, rsa

from taihu.identifiers.registration import HandleAdmin
from taihu.identifiers.registration.pubkeys import (
    DhPublicKey,
    SigningKey,
    decode_public_key,
    encode_dh_public_key,
    sign,
)
from taihu.identifiers.wire import Credential, Message, OpCode, ResponseCode, WireDecodeError
from taihu.identifiers.wire.codec import encode_header_and_body
from taihu.identifiers.wire.sessions import (
    AES_CIPHER,
    MAC_TYPE,
    SIGNED_TYPE,
    KeyExchange,
    SessionSetupRequest,
    mac_prefix,
)

__all__ = [
    "DEFAULT_TIMEOUT",
    "MAX_SESSIONS",
    "Session",
    "SessionStore",
    "SessionTable",
    "SetupRefused",
    "agree_key",
    "certify",
    "check_mac",
    "mac_counter",
    "session_seconds",
]

DEFAULT_TIMEOUT = 24 * 3600  # Handle.Net's default, and the longest granted here
MIN_TIMEOUT = 60
MAX_SESSIONS = 4096
_SEEN_COUNTERS = 1024  # counters remembered per session against replays
_MACS = {"HMAC-SHA256": "sha256", "HMAC-SHA1": "sha1"}


@dataclass(slots=True)
class Session:
    """One session: its key, who proved themselves in it, and its replay guard."""

    id: int
    key: bytes
    timeout: float
    expires: float
    identity: tuple[str, int]
    admin: HandleAdmin | None = None
    counter: int = 0  # the last counter this server signed with
    seen: OrderedDict[int, None] = field(default_factory=OrderedDict)

    def fresh(self, counter: int) -> bool:
        """Remember a client counter; ``False`` if it came before (a replay)."""
        if counter in self.seen:
            return False
        self.seen[counter] = None
        while len(self.seen) > _SEEN_COUNTERS:
            self.seen.popitem(last=False)
        return True


def session_seconds(timeout: int) -> int:
    """The idle timeout granted for the one asked (0: the default), within bounds."""
    return min(max(timeout or DEFAULT_TIMEOUT, MIN_TIMEOUT), DEFAULT_TIMEOUT)


class SessionStore(Protocol):
    """Where sessions live: this process (``SessionTable``) or the database (shared)."""

    clock: Callable[[], float]
    shared: bool  # whether every process sees the same sessions

    async def open(self, key: bytes, identity: tuple[str, int], asked: int) -> Session:
        """A new session with ``key``; ``asked``: the idle timeout asked for (0: the default)."""
        ...

    async def get(self, session_id: int) -> Session | None:
        """The live session, its idle timeout started again; ``None`` if unknown or expired."""
        ...

    def known(self, session_id: int) -> Session | None:
        """The session as this process last saw it, without waiting (to certify a reply)."""
        ...

    async def close(self, session_id: int) -> bool:
        """End a session; whether it existed."""
        ...

    async def fresh(self, session: Session, counter: int) -> bool:
        """Remember a client counter; ``False`` if it came before (a replay)."""
        ...

    async def bind(self, session: Session, admin: HandleAdmin) -> None:
        """Record the admin proven in ``session``."""
        ...


class SessionTable:
    """The sessions of this process, bounded, each ending after its idle timeout."""

    shared = False

    def __init__(
        self, limit: int = MAX_SESSIONS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit, self.clock = limit, clock
        self._sessions: OrderedDict[int, Session] = OrderedDict()

    def __len__(self) -> int:
        return len(self._sessions)

    async def open(self, key: bytes, identity: tuple[str, int], asked: int) -> Session:
        """A new session with ``key``; the timeout asked for, within bounds (0: the default)."""
        seconds = session_seconds(asked)
        session_id = secrets.randbelow(2**31 - 2) + 1
        while session_id in self._sessions:
            session_id = secrets.randbelow(2**31 - 2) + 1
        session = Session(session_id, key, seconds, self.clock() + seconds, identity)
        self._sessions[session_id] = session
        while len(self._sessions) > self.limit:
            self._sessions.popitem(last=False)
        return session

    async def get(self, session_id: int) -> Session | None:
        """The live session (its idle timeout starts again); ``None`` if unknown or expired."""
        return self.known(session_id)

    def known(self, session_id: int) -> Session | None:
        """``get`` without waiting: the table is this process's own."""
        session = self._sessions.get(session_id)
        if session is None:
            return None
        now = self.clock()
        if now > session.expires:
            del self._sessions[session_id]
            return None
        session.expires = now + session.timeout
        self._sessions.move_to_end(session_id)
        return session

    async def close(self, session_id: int) -> bool:
        """End a session; whether it existed."""
        return self._sessions.pop(session_id, None) is not None

    async def fresh(self, session: Session, counter: int) -> bool:
        """Remember a client counter; ``False`` if it came before (a replay)."""
        return session.fresh(counter)

    async def bind(self, session: Session, admin: HandleAdmin) -> None:
        """Record the admin proven in ``session``."""
        session.admin = admin


def _dh_secret_key(secret: int, p: int) -> bytes:
    """Handle.Net's AES session key: the shared secret's bytes, leading zeros off, 32 kept."""
    raw = secret.to_bytes((p.bit_length() + 7) // 8, "big")
    start = 0
    while start + 32 < len(raw) and raw[start] == 0:
        start += 1
    return raw[start : start + 32]


class SetupRefused(Exception):
    """A session setup this server will not do; ``code`` is the response code to send."""

    def __init__(self, code: ResponseCode, text: str) -> None:
        super().__init__(text)
        self.code = code


def _dh(client: DhPublicKey) -> tuple[bytes, bytes]:
    # Modular exponentiation in the client's group: cryptography's FFDH API is deprecated.
    private = secrets.randbelow(client.p - 3) + 2
    mine = DhPublicKey(pow(client.g, private, client.p), client.p, client.g)
    key = _dh_secret_key(pow(client.y, private, client.p), client.p)
    return key, AES_CIPHER.to_bytes(4, "big") + encode_dh_public_key(mine)


def agree_key(request: SessionSetupRequest) -> tuple[bytes, bytes]:
    """The session key and the reply data for a setup request; ``SetupRefused`` if not done."""
    if request.mode == KeyExchange.CIPHER_SERVER:
        text = "this server has no RSA key; use Diffie-Hellman (mode 4)"
        raise SetupRefused(ResponseCode.NEED_RSAKEY_FOR_SESSIONEXCHANGE, text)
    if request.mode not in (KeyExchange.DH, KeyExchange.CIPHER_CLIENT):
        text = f"key exchange mode {request.mode} is not served; use Diffie-Hellman (mode 4)"
        raise SetupRefused(ResponseCode.INVALID_SESSIONSETUP_REQUEST, text)
    try:
        client = decode_public_key(request.exchange_key)
    except WireDecodeError as exc:
        text = f"unreadable exchange key: {exc}"
        raise SetupRefused(ResponseCode.INVALID_SESSIONSETUP_REQUEST, text) from exc
    if request.mode == KeyExchange.DH and isinstance(client, DhPublicKey):
        return _dh(client)
    if request.mode == KeyExchange.CIPHER_CLIENT and isinstance(client, rsa.RSAPublicKey):
        key = secrets.token_bytes(32)
        return key, client.encrypt(AES_CIPHER.to_bytes(4, "big") + key, padding.PKCS1v15())
    text = "mode 4 needs a DH_PUB_KEY, mode 1 an RSA_PUB_KEY"
    raise SetupRefused(ResponseCode.INVALID_SESSIONSETUP_REQUEST, text)


def _mac(algorithm: str, key: bytes, data: bytes) -> bytes | None:
    name = _MACS.get(algorithm.upper())
    return hmac.new(key, data, name).digest() if name else None


def check_mac(session: Session, request: Message, signed: bytes) -> ResponseCode | None:
    """``None`` when ``request`` carries a valid, fresh session MAC, else the code to refuse with.

    ``AUTHEN_NEEDED`` when there is no MAC at all (the caller challenges instead).
    """
    refused, counter = mac_counter(session, request, signed)
    if refused is not None:
        return refused
    if not session.fresh(counter):
        return ResponseCode.SESSION_MESSAGE_REJECTED
    return None


def mac_counter(
    session: Session, request: Message, signed: bytes
) -> tuple[ResponseCode | None, int]:
    """``check_mac`` without the replay guard: the refusal, or ``None`` and the client counter."""
    credential = request.credential
    if credential is None or credential.type != MAC_TYPE:
        return ResponseCode.AUTHEN_NEEDED, 0
    envelope = request.envelope
    try:
        prefix = mac_prefix(
            envelope.version,
            envelope.suggested,
            envelope.session_id,
            envelope.request_id,
            credential.signer_index,
        )
    except WireDecodeError:
        return ResponseCode.INVALID_SESSION_KEY, 0
    expected = _mac(credential.digest_algorithm, session.key, prefix + signed)
    if expected is None or not hmac.compare_digest(expected, credential.signature):
        return ResponseCode.INVALID_SESSION_KEY, 0
    return None, credential.signer_index


def certify(message: Message, session: Session | None, server: SigningKey) -> Message:
    """``message`` with the credential a certified reply carries (session MAC or signature)."""
    envelope = message.envelope
    head = encode_header_and_body(message.header, message.body)
    counter = 0
    if session is not None:
        session.counter += 1
        counter = session.counter
    try:
        prefix = mac_prefix(
            envelope.version, envelope.suggested, envelope.session_id, envelope.request_id, counter
        )
    except WireDecodeError:
        prefix = b""  # a pre-2.7 peer: the signature covers header and body only
    if session is not None and message.header.opcode is not OpCode.SESSION_SETUP:
        mac = hmac.new(session.key, prefix + head, hashlib.sha256).digest()
        credential = Credential("", counter, MAC_TYPE, "HMAC-SHA256", mac)
    else:
        signature = sign(server, prefix + head, "SHA-256")
        credential = Credential("", counter, SIGNED_TYPE, "SHA-256", signature)
    return replace(message, credential=credential)
