"""Handle protocol 2.x messages (RFC 3652 section 2) as frozen dataclasses, and the envelope.

A message on the wire::

    Envelope (20 bytes)
    ├── MajorVersion u8, MinorVersion u8
    ├── MessageFlag u16     0x8000 compressed, 0x4000 encrypted, 0x2000 truncated;
    │                       low 13 bits: suggested version (major << 8 | minor), e.g. 0x020B
    ├── SessionId u32, RequestId u32, SequenceNumber u32
    └── MessageLength u32   bytes after the envelope (of the whole message, also in UDP pieces)
    Header (24 bytes)
    ├── OpCode u32, ResponseCode u32 (0 in requests), OpFlag u32 (``OpFlag``)
    ├── SiteInfoSerialNumber u16, RecursionCount u8, reserved u8
    └── ExpirationTime u32, BodyLength u32
    Body (BodyLength bytes; responses start with a request digest when RRDG is set)
    Credential (u32 length; empty = 0; a message that ends after its body has none)

A request and its response share the opcode; ``codec`` turns these into bytes and back.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from enum import IntEnum, IntFlag

from taihu.identifiers.handle import HandleValue
from taihu.identifiers.wire.buffer import WireDecodeError
from taihu.identifiers.wire.digest import DigestAlgorithm
from taihu.identifiers.wire.sessions import (
    SessionKeyExchange,
    SessionSetupRequest,
    SessionSetupResponse,
)
from taihu.identifiers.wire.values import SiteInfo

__all__ = [
    "CODE_BY_NUMBER",
    "ENVELOPE_SIZE",
    "HEADER_SIZE",
    "MAX_MESSAGE_BYTES",
    "OPCODE_BY_NUMBER",
    "PROTOCOL_VERSION",
    "Body",
    "Challenge",
    "ChallengeAnswer",
    "Credential",
    "Empty",
    "Envelope",
    "ErrorBody",
    "HandleListBody",
    "HandleRequest",
    "Header",
    "IndexesRequest",
    "Message",
    "OpCode",
    "OpFlag",
    "ReferralBody",
    "RequestDigest",
    "ResolutionRequest",
    "ResolutionResponse",
    "ResponseCode",
    "SiteInfoResponse",
    "ValuesRequest",
    "VerifyRequest",
    "VerifyResult",
    "decode_envelope",
    "op_flags",
    "reply_version",
]

ENVELOPE_SIZE = 20
HEADER_SIZE = 24
MAX_MESSAGE_BYTES = 4 * 1024 * 1024
PROTOCOL_VERSION = (2, 11)
_ENVELOPE = struct.Struct(">BBHIIII")


class OpCode(IntEnum):
    """Operation codes (RFC 3652 2.2.2.1; 300-399 are its "handle server administration")."""

    RESERVED = 0  # only in error replies to a request whose opcode could not be read
    RESOLUTION = 1
    GET_SITE_INFO = 2
    CREATE_HANDLE = 100
    DELETE_HANDLE = 101
    ADD_VALUE = 102
    REMOVE_VALUE = 103
    MODIFY_VALUE = 104
    LIST_HANDLES = 105
    LIST_NA = 106  # RFC 3652 lists it; Handle.Net does not serve it and neither does Taihu
    CHALLENGE_RESPONSE = 200
    VERIFY_RESPONSE = 201
    HOME_NA = 300
    UNHOME_NA = 301
    LIST_HOMED_NA = 302
    SESSION_SETUP = 400  # sessions: Handle.Net's layouts (``wire.sessions``)
    SESSION_TERMINATE = 401
    SESSION_EXCHANGEKEY = 402


class ResponseCode(IntEnum):
    """Response codes (RFC 3652 2.2.2.2)."""

    RESERVED = 0
    SUCCESS = 1
    ERROR = 2
    SERVER_BUSY = 3
    PROTOCOL_ERROR = 4
    OPERATION_DENIED = 5
    RECUR_LIMIT_EXCEEDED = 6
    HANDLE_NOT_FOUND = 100
    HANDLE_ALREADY_EXIST = 101
    INVALID_HANDLE = 102
    VALUE_NOT_FOUND = 200
    VALUE_ALREADY_EXIST = 201
    VALUE_INVALID = 202
    EXPIRED_SITE_INFO = 300
    SERVER_NOT_RESP = 301
    SERVICE_REFERRAL = 302
    PREFIX_REFERRAL = 303
    NOT_AUTHORIZED = 400
    ACCESS_DENIED = 401
    AUTHEN_NEEDED = 402
    AUTHEN_FAILED = 403
    INVALID_CREDENTIAL = 404
    AUTHEN_TIMEOUT = 405
    UNABLE_TO_AUTHEN = 406
    SESSION_TIMEOUT = 500  # 500-505: Handle.Net's session codes
    SESSION_FAILED = 501
    INVALID_SESSION_KEY = 502
    NEED_RSAKEY_FOR_SESSIONEXCHANGE = 503
    INVALID_SESSIONSETUP_REQUEST = 504
    SESSION_MESSAGE_REJECTED = 505


class OpFlag(IntFlag):
    """Header option flags, highest bit first (RFC 3652 2.2.2.3; OVRW/MINT/DNRF from 2.x)."""

    NONE = 0
    AUTH = 0x8000_0000  # AT: authoritative answer wanted
    CERT = 0x4000_0000  # CT: certified (signed) response wanted
    ENCR = 0x2000_0000  # ENC: encrypted response wanted
    RECU = 0x1000_0000  # REC: server may recurse
    CACR = 0x0800_0000  # CA: cache authentication
    CONT = 0x0400_0000  # CN: continuous (streamed) message
    KPAL = 0x0200_0000  # KA: keep the TCP connection alive
    PUBL = 0x0100_0000  # PO: public values only
    RRDG = 0x0080_0000  # RD: response carries the request digest
    OVRW = 0x0040_0000  # overwrite on create
    MINT = 0x0020_0000  # mint a new suffix on create
    DNRF = 0x0010_0000  # do not refer


# Enum construction is slow on the hot path: plain lookups instead, and a bounded memo of flags.
OPCODE_BY_NUMBER = {int(member): member for member in OpCode}
CODE_BY_NUMBER = {int(member): member for member in ResponseCode}
_FLAG_MEMO: dict[int, OpFlag] = {}


def op_flags(bits: int) -> OpFlag:
    """``OpFlag(bits)``, memoized for the few combinations clients send."""
    flag = _FLAG_MEMO.get(bits)
    if flag is None:
        flag = OpFlag(bits)
        if len(_FLAG_MEMO) < 1024:
            _FLAG_MEMO[bits] = flag
    return flag


@dataclass(frozen=True, slots=True)
class Envelope:
    """The 20-byte envelope; ``length`` is what follows it in the whole message."""

    request_id: int
    session_id: int = 0
    sequence: int = 0
    length: int = field(default=0, compare=False)  # derived when encoding
    version: tuple[int, int] = (2, 1)
    suggested: tuple[int, int] = PROTOCOL_VERSION
    compressed: bool = False
    encrypted: bool = False
    truncated: bool = False

    def encode(self, length: int | None = None) -> bytes:
        """The 20 bytes, with ``length`` overriding the stored message length."""
        flag = (
            (0x8000 if self.compressed else 0)
            | (0x4000 if self.encrypted else 0)
            | (0x2000 if self.truncated else 0)
            | ((self.suggested[0] & 0x1F) << 8)
            | (self.suggested[1] & 0xFF)
        )
        size = self.length if length is None else length
        return _ENVELOPE.pack(
            *self.version, flag, self.session_id, self.request_id, self.sequence, size
        )


def reply_version(version: tuple[int, int], suggested: tuple[int, int]) -> tuple[int, int]:
    """The version a reply to a request speaks: the one it suggests, at most ours (2.11).

    As the reference server does: a 2.10 request suggesting 2.11 gets 2.11, a 2.12 one 2.11, and
    a 2.0 request (which suggests nothing, so its own version) 2.0.
    """
    spoken = min(suggested, PROTOCOL_VERSION)
    return spoken if spoken[0] == PROTOCOL_VERSION[0] else version


def decode_envelope(data: bytes) -> Envelope:
    """The envelope at the start of ``data`` (at least 20 bytes)."""
    if len(data) < ENVELOPE_SIZE:
        raise WireDecodeError(f"an envelope is 20 bytes, got {len(data)}")
    major, minor, flag, session, request, sequence, length = _ENVELOPE.unpack_from(data)
    suggested = ((flag >> 8) & 0x1F, flag & 0xFF)
    return Envelope(
        request_id=request,
        session_id=session,
        sequence=sequence,
        length=length,
        version=(major, minor),
        # Senders older than 2.1 leave the suggested version 0: it is then the version itself.
        suggested=suggested if suggested[0] else (major, minor),
        compressed=bool(flag & 0x8000),
        encrypted=bool(flag & 0x4000),
        truncated=bool(flag & 0x2000),
    )


@dataclass(frozen=True, slots=True)
class Header:
    """The 24-byte message header."""

    opcode: OpCode
    response_code: ResponseCode = ResponseCode.RESERVED
    flags: OpFlag = OpFlag.NONE
    site_serial: int = 0xFFFF
    recursion: int = 0
    expiration: int = 0


@dataclass(frozen=True, slots=True)
class Credential:
    """A non-empty credential section (kept as read; Taihu does not verify signatures)."""

    signer_handle: str
    signer_index: int
    type: str
    digest_algorithm: str
    signature: bytes
    version: int = 0
    options: int = 0


@dataclass(frozen=True, slots=True)
class RequestDigest:
    """The digest of a request carried in a response (``OpFlag.RRDG``) or a challenge."""

    algorithm: DigestAlgorithm
    value: bytes


# Bodies ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Empty:
    """A body with nothing in it (plain success; a bodiless GET_SITE_INFO or LIST_HOMED_NA)."""

    digest: RequestDigest | None = None


@dataclass(frozen=True, slots=True)
class ResolutionRequest:
    """RESOLUTION: a handle and optional index and type filters."""

    handle: str
    indexes: tuple[int, ...] = ()
    types: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class HandleRequest:
    """One handle: DELETE_HANDLE, LIST_HANDLES (``0.NA/PREFIX``), HOME_NA, UNHOME_NA.

    GET_SITE_INFO and LIST_HOMED_NA requests carry one too (usually empty) in Handle.Net.
    """

    handle: str


@dataclass(frozen=True, slots=True)
class ValuesRequest:
    """A handle and values: CREATE_HANDLE, ADD_VALUE, MODIFY_VALUE."""

    handle: str
    values: tuple[HandleValue, ...]


@dataclass(frozen=True, slots=True)
class IndexesRequest:
    """A handle and value indexes: REMOVE_VALUE."""

    handle: str
    indexes: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class ChallengeAnswer:
    """CHALLENGE_RESPONSE: who answers and the proof (RFC 3652 3.5.2)."""

    auth_type: str
    key_handle: str
    key_index: int
    response: bytes


@dataclass(frozen=True, slots=True)
class VerifyRequest:
    """VERIFY_RESPONSE: ask the key's server whether a secret-key answer is right."""

    key_handle: str
    key_index: int
    nonce: bytes
    request_digest: bytes
    response: bytes


@dataclass(frozen=True, slots=True)
class ResolutionResponse:
    """The values of a resolved handle."""

    handle: str
    values: tuple[HandleValue, ...]
    digest: RequestDigest | None = None


@dataclass(frozen=True, slots=True)
class SiteInfoResponse:
    """GET_SITE_INFO answer."""

    site: SiteInfo
    digest: RequestDigest | None = None


@dataclass(frozen=True, slots=True)
class HandleListBody:
    """LIST_HANDLES / LIST_HOMED_NA answer."""

    handles: tuple[str, ...]
    digest: RequestDigest | None = None


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """VERIFY_RESPONSE answer."""

    valid: bool
    digest: RequestDigest | None = None


@dataclass(frozen=True, slots=True)
class Challenge:
    """RC 402 AUTHEN_NEEDED: the digest of the request to prove and a nonce.

    From 2.1 on the digest is the ordinary optional request digest in front of the body, so a
    challenge that carries one has ``OpFlag.RRDG`` set in its header; the body proper is the
    nonce. Protocol 2.0 (``legacy``) sends the nonce, then the digest as a length-prefixed MD5.
    """

    request_digest: RequestDigest | None
    nonce: bytes
    legacy: bool = False


@dataclass(frozen=True, slots=True)
class ReferralBody:
    """RC 302/303: the handle whose values (HS_SITE, HS_SERV) say where to ask instead."""

    handle: str
    values: tuple[HandleValue, ...] = ()
    digest: RequestDigest | None = None


@dataclass(frozen=True, slots=True)
class ErrorBody:
    """Any other response code: a message and, optionally, the value indexes at fault."""

    message: str = ""
    indexes: tuple[int, ...] = ()
    digest: RequestDigest | None = None


Body = (
    Empty
    | ResolutionRequest
    | HandleRequest
    | ValuesRequest
    | IndexesRequest
    | ChallengeAnswer
    | VerifyRequest
    | ResolutionResponse
    | SiteInfoResponse
    | HandleListBody
    | VerifyResult
    | Challenge
    | ReferralBody
    | ErrorBody
    | SessionSetupRequest
    | SessionSetupResponse
    | SessionKeyExchange
)


@dataclass(frozen=True, slots=True)
class Message:
    """A whole Handle protocol message."""

    envelope: Envelope
    header: Header
    body: Body
    credential: Credential | None = field(default=None)

    @property
    def is_response(self) -> bool:
        """Responses carry a non-zero response code."""
        return self.header.response_code != ResponseCode.RESERVED
