"""Session messages (opcodes 400-402) and message authentication, as Handle.Net speaks them.

RFC 3652 reserves the session opcodes; the layouts below are those of the Handle.Net software
(protocol 2.1 and later), read from its public source::

    SESSION_SETUP request    u16 key-exchange mode  u32 timeout (s)  str identity handle
                             u32 identity index     then by mode:
                               1 CIPHER_CLIENT, 4 DH   blob exchange key (RSA_ / DH_PUB_KEY)
                               3 CIPHER_HDL            str key handle  u32 key index
                             u16 0 (Handle.Net sizes the mode as 4 bytes but writes 2)
    SESSION_SETUP response   [request digest]  u16 mode  blob data  u16 0
                               DH: u32 cipher (3 = AES) + DH_PUB_KEY of the server's value
                               CIPHER_CLIENT: the cipher code and key, RSA-encrypted for the client
    SESSION_EXCHANGEKEY      blob encrypted session key        SESSION_TERMINATE: str handle

A message in a session is authenticated by its credential (``Credential``): type ``HS_MAC``,
the signer index carrying a per-session counter, and the MAC (``HMAC-SHA256`` from 2.7) of
``mac_prefix`` + the message header and body, keyed with the session key. A certified reply
outside a session is signed (``HS_SIGNED``) over the same prefix and bytes with the server key.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING

from taihu.identifiers.wire.buffer import Reader, WireDecodeError, Writer

if TYPE_CHECKING:
    from taihu.identifiers.wire.messages import RequestDigest

__all__ = [
    "AES_CIPHER",
    "MAC_TYPE",
    "SIGNED_TYPE",
    "KeyExchange",
    "SessionKeyExchange",
    "SessionSetupRequest",
    "SessionSetupResponse",
    "mac_prefix",
    "read_exchange_request",
    "read_setup_request",
    "read_setup_response",
    "write_session_body",
]

MAC_TYPE = "HS_MAC"
SIGNED_TYPE = "HS_SIGNED"
AES_CIPHER = 3  # Handle.Net's ENCRYPT_ALG_AES: the session key is 32 bytes of the DH secret
_PAD = b"\x00\x00"
_MAX_KEY = 8192
_PREFIX = struct.Struct(">III")


class KeyExchange(IntEnum):
    """How the session key is agreed (the ``mode`` of a session setup)."""

    NONE = 0
    CIPHER_CLIENT = 1  # the server encrypts the key with the client's RSA key
    CIPHER_SERVER = 2  # the client encrypts it with the server's RSA key (SESSION_EXCHANGEKEY)
    CIPHER_HDL = 3  # with the RSA key at a handle value
    DH = 4  # Diffie-Hellman, Handle.Net's default


@dataclass(frozen=True, slots=True)
class SessionSetupRequest:
    """SESSION_SETUP: the key exchange asked for, the session timeout and who will act in it."""

    mode: int
    timeout: int
    identity_handle: str = ""
    identity_index: int = 0
    exchange_key: bytes = b""
    exchange_handle: str = ""
    exchange_index: int = 0


@dataclass(frozen=True, slots=True)
class SessionSetupResponse:
    """SESSION_SETUP answer: the mode and the server's half of the key exchange."""

    mode: int
    data: bytes
    digest: RequestDigest | None = None


@dataclass(frozen=True, slots=True)
class SessionKeyExchange:
    """SESSION_EXCHANGEKEY: the session key, encrypted for the server."""

    encrypted_key: bytes


def _skip_pad(reader: Reader) -> None:
    # Handle.Net leaves two zero bytes after a session setup body; accept them, or nothing.
    if reader.remaining == len(_PAD):
        reader.raw(len(_PAD), "padding")


def read_setup_request(reader: Reader) -> SessionSetupRequest:
    """The body of a SESSION_SETUP request."""
    mode = reader.u16("key exchange mode")
    timeout = reader.u32("session timeout")
    handle = reader.text("identity handle", 2048)
    index = reader.u32("identity index")
    key, key_handle, key_index = b"", "", 0
    if mode in (KeyExchange.CIPHER_CLIENT, KeyExchange.DH):
        key = reader.blob("exchange key", _MAX_KEY)
    elif mode == KeyExchange.CIPHER_HDL:
        key_handle = reader.text("exchange key handle", 2048)
        key_index = reader.u32("exchange key index")
    _skip_pad(reader)
    return SessionSetupRequest(mode, timeout, handle, index, key, key_handle, key_index)


def read_exchange_request(reader: Reader) -> SessionKeyExchange:
    """The body of a SESSION_EXCHANGEKEY request."""
    return SessionKeyExchange(reader.blob("encrypted session key", _MAX_KEY))


def read_setup_response(reader: Reader, digest: RequestDigest | None) -> SessionSetupResponse:
    """The body of a SESSION_SETUP answer (after its request digest)."""
    mode = reader.u16("key exchange mode")
    data = reader.blob("key exchange data", _MAX_KEY)
    _skip_pad(reader)
    return SessionSetupResponse(mode, data, digest)


def write_session_body(
    out: Writer, body: SessionSetupRequest | SessionSetupResponse | SessionKeyExchange
) -> None:
    """Append a session body as Handle.Net lays it out (padding included)."""
    if isinstance(body, SessionKeyExchange):
        out.blob(body.encrypted_key)
        return
    if isinstance(body, SessionSetupResponse):
        if body.digest is not None:
            out.u8(int(body.digest.algorithm)).raw(body.digest.value)
        out.u16(body.mode).blob(body.data).raw(_PAD)
        return
    out.u16(body.mode).u32(body.timeout).text(body.identity_handle).u32(body.identity_index)
    if body.mode in (KeyExchange.CIPHER_CLIENT, KeyExchange.DH):
        out.blob(body.exchange_key)
    elif body.mode == KeyExchange.CIPHER_HDL:
        out.text(body.exchange_handle).u32(body.exchange_index)
    out.raw(_PAD)


def mac_prefix(
    version: tuple[int, int],
    suggested: tuple[int, int],
    session_id: int,
    request_id: int,
    counter: int,
) -> bytes:
    """What a MAC or signature covers before the header and body (Handle.Net 2.7 and later).

    The envelope's version, from 2.8 its suggested version, then session id, request id and
    the credential's counter. Earlier versions are not accepted for session messages.
    """
    if version < (2, 7):
        raise WireDecodeError(f"session messages of protocol {version[0]}.{version[1]} are refused")
    head = bytes(version) + (bytes(suggested) if version >= (2, 8) else b"")
    return head + _PREFIX.pack(session_id, request_id, counter)
