"""Handle protocol 2.x messages (RFC 3652 section 2): bytes in, frozen dataclasses out.

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
    Credential (u32 length; empty = 0)

``decode_message`` picks the body class from the opcode and response code; a request and its
response share the opcode. Decoding is bounded: ``MAX_MESSAGE_BYTES`` caps a message, every
count is checked against the bytes left, anything malformed raises ``WireDecodeError``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from enum import IntEnum, IntFlag

from taihu.identifiers.handle_values import HandleValue
from taihu.identifiers.wire.buffer import Reader, WireDecodeError, Writer
from taihu.identifiers.wire.digest import DigestAlgorithm
from taihu.identifiers.wire.values import SiteInfo, encode_site, read_site, read_values, write_value

__all__ = [
    "ENVELOPE_SIZE",
    "HEADER_SIZE",
    "MAX_MESSAGE_BYTES",
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
    "decode_message",
    "decode_payload",
    "encode_body",
    "encode_header_and_body",
    "encode_message",
    "encode_raw",
    "op_flags",
]

ENVELOPE_SIZE = 20
HEADER_SIZE = 24
MAX_MESSAGE_BYTES = 4 * 1024 * 1024
PROTOCOL_VERSION = (2, 11)
_ENVELOPE = struct.Struct(">BBHIIII")
_HEADER = struct.Struct(">IIIHBBII")
_MAX_HANDLE = 2048
_MAX_TEXT = 64 * 1024


class OpCode(IntEnum):
    """Operation codes (RFC 3652 2.2.2.1)."""

    RESERVED = 0  # only in error replies to a request whose opcode could not be read
    RESOLUTION = 1
    GET_SITE_INFO = 2
    CREATE_HANDLE = 100
    DELETE_HANDLE = 101
    ADD_VALUE = 102
    REMOVE_VALUE = 103
    MODIFY_VALUE = 104
    LIST_HANDLES = 105
    CHALLENGE_RESPONSE = 200
    VERIFY_RESPONSE = 201
    HOME_NA = 300
    UNHOME_NA = 301
    LIST_HOMED_NA = 302


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
_OPCODES = {int(member): member for member in OpCode}
_CODES = {int(member): member for member in ResponseCode}
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


def decode_envelope(data: bytes) -> Envelope:
    """The envelope at the start of ``data`` (at least 20 bytes)."""
    if len(data) < ENVELOPE_SIZE:
        raise WireDecodeError(f"an envelope is 20 bytes, got {len(data)}")
    major, minor, flag, session, request, sequence, length = _ENVELOPE.unpack_from(data)
    return Envelope(
        request_id=request,
        session_id=session,
        sequence=sequence,
        length=length,
        version=(major, minor),
        suggested=((flag >> 8) & 0x1F, flag & 0xFF),
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
    """A body with nothing in it (GET_SITE_INFO and LIST_HOMED_NA requests, plain success)."""

    digest: RequestDigest | None = None


@dataclass(frozen=True, slots=True)
class ResolutionRequest:
    """RESOLUTION: a handle and optional index and type filters."""

    handle: str
    indexes: tuple[int, ...] = ()
    types: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class HandleRequest:
    """One handle: DELETE_HANDLE, LIST_HANDLES (``0.NA/PREFIX``), HOME_NA, UNHOME_NA."""

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
    """RC 402 AUTHEN_NEEDED: the digest of the request to prove and a nonce."""

    request_digest: RequestDigest
    nonce: bytes


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


# Encoding ----------------------------------------------------------------------------------


def _write_digest(out: Writer, digest: RequestDigest | None) -> None:
    if digest is not None:
        out.u8(int(digest.algorithm)).raw(digest.value)


def _write_indexes(out: Writer, indexes: tuple[int, ...]) -> None:
    out.u32(len(indexes))
    for index in indexes:
        out.u32(index)


def _write_values(out: Writer, values: tuple[HandleValue, ...]) -> None:
    out.u32(len(values))
    for value in values:
        write_value(out, value)


def encode_body(body: Body) -> bytes:  # noqa: PLR0912 - one branch per body kind, flat on purpose
    """The body bytes of ``body``."""
    out = Writer()
    match body:
        case Empty():
            _write_digest(out, body.digest)
        case ResolutionRequest():
            out.text(body.handle)
            _write_indexes(out, body.indexes)
            out.u32(len(body.types))
            for type_ in body.types:
                out.text(type_)
        case HandleRequest():
            out.text(body.handle)
        case ValuesRequest():
            out.text(body.handle)
            _write_values(out, body.values)
        case IndexesRequest():
            out.text(body.handle)
            _write_indexes(out, body.indexes)
        case ChallengeAnswer():
            out.text(body.auth_type).text(body.key_handle).u32(body.key_index).blob(body.response)
        case VerifyRequest():
            out.text(body.key_handle).u32(body.key_index).blob(body.nonce)
            out.blob(body.request_digest).blob(body.response)
        case ResolutionResponse():
            _write_digest(out, body.digest)
            out.text(body.handle)
            _write_values(out, body.values)
        case SiteInfoResponse():
            _write_digest(out, body.digest)
            out.raw(encode_site(body.site))
        case HandleListBody():
            _write_digest(out, body.digest)
            out.u32(len(body.handles))
            for handle in body.handles:
                out.text(handle)
        case VerifyResult():
            _write_digest(out, body.digest)
            out.u8(1 if body.valid else 0)
        case Challenge():
            _write_digest(out, body.request_digest)
            out.blob(body.nonce)
        case ReferralBody():
            _write_digest(out, body.digest)
            out.text(body.handle)
            _write_values(out, body.values)
        case ErrorBody():
            _write_digest(out, body.digest)
            out.text(body.message)
            if body.indexes:
                _write_indexes(out, body.indexes)
    return out.getvalue()


_NO_CREDENTIAL = bytes(4)


def _encode_credential(credential: Credential | None) -> bytes:
    if credential is None:
        return _NO_CREDENTIAL
    inner = Writer().u8(credential.version).u8(0).u16(credential.options)
    inner.text(credential.signer_handle).u32(credential.signer_index).text(credential.type)
    signed = Writer().text(credential.digest_algorithm).blob(credential.signature).getvalue()
    inner.blob(signed)
    return Writer().blob(inner.getvalue()).getvalue()


def _pack_header(header: Header, body_length: int) -> bytes:
    return _HEADER.pack(
        int(header.opcode),
        int(header.response_code),
        int(header.flags),
        header.site_serial,
        header.recursion,
        0,
        header.expiration,
        body_length,
    )


def encode_header_and_body(header: Header, body: Body) -> bytes:
    """Header and body: the bytes a request digest is computed over."""
    raw = encode_body(body)
    return _pack_header(header, len(raw)) + raw


def encode_raw(envelope: Envelope, header: Header, body: bytes) -> bytes:
    """A message (no credential) around a body already encoded: the server's fast path."""
    head = _pack_header(header, len(body))
    return envelope.encode(HEADER_SIZE + len(body) + 4) + head + body + _NO_CREDENTIAL


def encode_message(message: Message) -> bytes:
    """The whole message: envelope, header, body and credential."""
    payload = encode_header_and_body(message.header, message.body) + _encode_credential(
        message.credential
    )
    return message.envelope.encode(len(payload)) + payload


# Decoding ----------------------------------------------------------------------------------


def _read_digest(reader: Reader) -> RequestDigest:
    code = reader.u8("digest algorithm")
    try:
        algorithm = DigestAlgorithm(code)
    except ValueError as exc:
        raise WireDecodeError(f"unknown digest algorithm {code}") from exc
    return RequestDigest(algorithm, reader.raw(algorithm.size, "request digest"))


def _read_indexes(reader: Reader) -> tuple[int, ...]:
    return tuple(reader.u32("index") for _ in range(reader.count(4, "index list")))


def _read_handle(reader: Reader, what: str = "handle") -> str:
    return reader.text(what, _MAX_HANDLE)


def _decode_request(opcode: OpCode, reader: Reader) -> Body:
    body: Body
    if opcode is OpCode.RESOLUTION:
        handle = _read_handle(reader)
        indexes = _read_indexes(reader)
        types = tuple(reader.text("type", 256) for _ in range(reader.count(4, "type list")))
        body = ResolutionRequest(handle, indexes, types)
    elif opcode in (OpCode.GET_SITE_INFO, OpCode.LIST_HOMED_NA):
        body = Empty()
    elif opcode in (OpCode.CREATE_HANDLE, OpCode.ADD_VALUE, OpCode.MODIFY_VALUE):
        body = ValuesRequest(_read_handle(reader), read_values(reader))
    elif opcode is OpCode.REMOVE_VALUE:
        body = IndexesRequest(_read_handle(reader), _read_indexes(reader))
    elif opcode is OpCode.CHALLENGE_RESPONSE:
        auth_type = reader.text("authentication type", 256)
        key_handle = _read_handle(reader, "key handle")
        body = ChallengeAnswer(
            auth_type, key_handle, reader.u32("key index"), reader.blob("response", 4096)
        )
    elif opcode is OpCode.VERIFY_RESPONSE:
        key_handle = _read_handle(reader, "key handle")
        key_index = reader.u32("key index")
        nonce = reader.blob("nonce", 4096)
        digest = reader.blob("request digest", 4096)
        body = VerifyRequest(key_handle, key_index, nonce, digest, reader.blob("response", 4096))
    else:  # DELETE_HANDLE, LIST_HANDLES, HOME_NA, UNHOME_NA
        body = HandleRequest(_read_handle(reader))
    reader.end(f"{opcode.name} request")
    return body


def _decode_response(header: Header, reader: Reader) -> Body:
    rc, opcode = header.response_code, header.opcode
    if rc is ResponseCode.AUTHEN_NEEDED:
        challenged = _read_digest(reader)
        body: Body = Challenge(challenged, reader.blob("nonce", 4096))
        reader.end("challenge")
        return body
    digest = _read_digest(reader) if header.flags & OpFlag.RRDG else None
    if rc in (ResponseCode.SERVICE_REFERRAL, ResponseCode.PREFIX_REFERRAL):
        handle = _read_handle(reader, "referral handle")
        values = read_values(reader) if reader.remaining else ()
        body = ReferralBody(handle, values, digest)
    elif rc is not ResponseCode.SUCCESS:
        message = reader.text("error message", _MAX_TEXT) if reader.remaining else ""
        indexes = _read_indexes(reader) if reader.remaining else ()
        body = ErrorBody(message, indexes, digest)
    elif opcode is OpCode.RESOLUTION:
        body = ResolutionResponse(_read_handle(reader), read_values(reader), digest)
    elif opcode is OpCode.GET_SITE_INFO:
        body = SiteInfoResponse(read_site(reader), digest)
    elif opcode in (OpCode.LIST_HANDLES, OpCode.LIST_HOMED_NA):
        count = reader.count(4, "handle list")
        body = HandleListBody(tuple(_read_handle(reader) for _ in range(count)), digest)
    elif opcode is OpCode.VERIFY_RESPONSE:
        body = VerifyResult(reader.u8("verification result") == 1, digest)
    else:
        body = Empty(digest)
    reader.end(f"{opcode.name} response")
    return body


def _decode_credential(reader: Reader) -> Credential | None:
    size = reader.u32("credential length")
    if size == 0:
        return None
    if size > reader.remaining:
        raise WireDecodeError(f"credential claims {size} bytes, {reader.remaining} left")
    inner = Reader(reader.raw(size, "credential"))
    version = inner.u8("credential version")
    inner.u8("reserved")
    options = inner.u16("credential options")
    signer = _read_handle(inner, "signer handle")
    signer_index = inner.u32("signer index")
    type_ = inner.text("credential type", 256)
    signed = Reader(inner.blob("signed info", _MAX_TEXT))
    algorithm = signed.text("digest algorithm", 256)
    signature = signed.blob("signature", _MAX_TEXT)
    return Credential(signer, signer_index, type_, algorithm, signature, version, options)


def decode_payload(envelope: Envelope, payload: bytes) -> Message:
    """Header, body and credential of a reassembled message whose envelope is known."""
    if len(payload) > MAX_MESSAGE_BYTES:
        raise WireDecodeError(f"message of {len(payload)} bytes is over {MAX_MESSAGE_BYTES}")
    if len(payload) != envelope.length:
        raise WireDecodeError(f"envelope says {envelope.length} bytes, {len(payload)} arrived")
    if envelope.version[0] != 2:
        raise WireDecodeError(f"protocol version {envelope.version[0]}.x is not spoken here")
    if envelope.compressed or envelope.encrypted:
        raise WireDecodeError("compressed or encrypted messages are not supported")
    if len(payload) < HEADER_SIZE + 4:
        raise WireDecodeError("a message needs a 24-byte header and a credential length")
    op, rc, flags, serial, recursion, _, expiration, body_length = _HEADER.unpack_from(payload)
    if body_length > len(payload) - HEADER_SIZE - 4:
        raise WireDecodeError(f"body length {body_length} runs past the end of the message")
    opcode, code = _OPCODES.get(op), _CODES.get(rc)
    if opcode is None or code is None:
        raise WireDecodeError(f"unknown opcode {op} or response code {rc}")
    header = Header(opcode, code, op_flags(flags), serial, recursion, expiration)
    reader = Reader(payload, HEADER_SIZE, HEADER_SIZE + body_length)
    if header.opcode is OpCode.RESERVED and header.response_code is ResponseCode.RESERVED:
        raise WireDecodeError("opcode 0 is not a request")
    if header.response_code is ResponseCode.RESERVED:
        body = _decode_request(header.opcode, reader)
    else:
        body = _decode_response(header, reader)
    tail = Reader(payload, HEADER_SIZE + body_length)
    credential = _decode_credential(tail)
    tail.end("credential")
    return Message(envelope, header, body, credential)


def decode_message(data: bytes) -> Message:
    """One whole message (envelope included), as read from TCP or reassembled from UDP."""
    envelope = decode_envelope(data)
    return decode_payload(envelope, data[ENVELOPE_SIZE:])
