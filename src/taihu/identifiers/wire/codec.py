"""Handle protocol 2.x messages to bytes and back (RFC 3652 section 2).

The message layout is drawn in ``messages``. ``decode_message`` picks the body class from the
opcode and response code; a request and its response share the opcode. Decoding is bounded:
``MAX_MESSAGE_BYTES`` caps a message, every count is checked against the bytes left, anything
malformed raises ``WireDecodeError``. The message classes live in ``messages``.
"""

from __future__ import annotations

import struct

from taihu.identifiers.handle import HandleValue
from taihu.identifiers.wire.buffer import Reader, WireDecodeError, Writer
from taihu.identifiers.wire.digest import DigestAlgorithm
from taihu.identifiers.wire.messages import (
    CODE_BY_NUMBER,
    ENVELOPE_SIZE,
    HEADER_SIZE,
    MAX_MESSAGE_BYTES,
    OPCODE_BY_NUMBER,
    Body,
    Challenge,
    ChallengeAnswer,
    Credential,
    Empty,
    Envelope,
    ErrorBody,
    HandleListBody,
    HandleRequest,
    Header,
    IndexesRequest,
    Message,
    OpCode,
    OpFlag,
    ReferralBody,
    RequestDigest,
    ResolutionRequest,
    ResolutionResponse,
    ResponseCode,
    SiteInfoResponse,
    ValuesRequest,
    VerifyRequest,
    VerifyResult,
    decode_envelope,
    op_flags,
)
from taihu.identifiers.wire.sessions import (
    SessionKeyExchange,
    SessionSetupRequest,
    SessionSetupResponse,
    read_exchange_request,
    read_setup_request,
    read_setup_response,
    write_session_body,
)
from taihu.identifiers.wire.values import encode_site, read_site, read_values, write_value

__all__ = [
    "decode_message",
    "decode_payload",
    "encode_body",
    "encode_header_and_body",
    "encode_message",
    "encode_raw",
]

_HEADER = struct.Struct(">IIIHBBII")
_MAX_HANDLE = 2048
_MAX_TEXT = 64 * 1024


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


def encode_body(body: Body) -> bytes:  # noqa: PLR0912, PLR0915 - one branch per body kind, flat
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
        case Challenge(legacy=True):
            out.blob(body.nonce)
            out.blob(body.request_digest.value if body.request_digest else b"")
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
        case SessionSetupRequest() | SessionSetupResponse() | SessionKeyExchange():
            write_session_body(out, body)
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


def _read_verify_digest(reader: Reader) -> bytes:
    """The request digest of a VERIFY_RESPONSE: length-prefixed, or tagged like any digest.

    Handle.Net writes it length-prefixed (its first byte is then 0) and reads either form.
    """
    if reader.remaining and reader.peek() in tuple(DigestAlgorithm):
        return _read_digest(reader).value
    return reader.blob("request digest", 4096)


def _decode_request(opcode: OpCode, reader: Reader) -> Body:
    body: Body
    if opcode is OpCode.RESOLUTION:
        handle = _read_handle(reader)
        indexes = _read_indexes(reader)
        types = tuple(reader.text("type", 256) for _ in range(reader.count(4, "type list")))
        body = ResolutionRequest(handle, indexes, types)
    elif opcode in (OpCode.GET_SITE_INFO, OpCode.LIST_HOMED_NA):
        # Handle.Net sends these with a (usually empty) handle; an empty body is taken too.
        body = HandleRequest(_read_handle(reader)) if reader.remaining else Empty()
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
    elif opcode is OpCode.SESSION_SETUP:
        body = read_setup_request(reader)
    elif opcode is OpCode.SESSION_EXCHANGEKEY:
        body = read_exchange_request(reader)
    elif opcode is OpCode.VERIFY_RESPONSE:
        key_handle = _read_handle(reader, "key handle")
        key_index = reader.u32("key index")
        nonce = reader.blob("nonce", 4096)
        digest = _read_verify_digest(reader)
        body = VerifyRequest(key_handle, key_index, nonce, digest, reader.blob("response", 4096))
    else:  # DELETE_HANDLE, LIST_HANDLES, HOME_NA, UNHOME_NA
        body = HandleRequest(_read_handle(reader))
    reader.end(f"{opcode.name} request")
    return body


def _decode_challenge(header: Header, reader: Reader, legacy: bool) -> Challenge:
    if legacy:
        nonce = reader.blob("nonce", 4096)
        md5 = reader.blob("request digest", DigestAlgorithm.MD5.size)
        return Challenge(RequestDigest(DigestAlgorithm.MD5, md5), nonce, legacy=True)
    digest = _read_digest(reader) if header.flags & OpFlag.RRDG else None
    return Challenge(digest, reader.blob("nonce", 4096))


def _decode_response(header: Header, reader: Reader, legacy: bool) -> Body:
    rc, opcode = header.response_code, header.opcode
    if rc is ResponseCode.AUTHEN_NEEDED:
        body: Body = _decode_challenge(header, reader, legacy)
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
    elif opcode is OpCode.SESSION_SETUP:
        body = read_setup_response(reader, digest)
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
    if len(payload) < HEADER_SIZE:
        raise WireDecodeError("a message needs a 24-byte header")
    op, rc, flags, serial, recursion, _, expiration, body_length = _HEADER.unpack_from(payload)
    if body_length > len(payload) - HEADER_SIZE:
        raise WireDecodeError(f"body length {body_length} runs past the end of the message")
    opcode, code = OPCODE_BY_NUMBER.get(op), CODE_BY_NUMBER.get(rc)
    if opcode is None or code is None:
        raise WireDecodeError(f"unknown opcode {op} or response code {rc}")
    header = Header(opcode, code, op_flags(flags), serial, recursion, expiration)
    reader = Reader(payload, HEADER_SIZE, HEADER_SIZE + body_length)
    if header.opcode is OpCode.RESERVED and header.response_code is ResponseCode.RESERVED:
        raise WireDecodeError("opcode 0 is not a request")
    if header.response_code is ResponseCode.RESERVED:
        body = _decode_request(header.opcode, reader)
    else:
        body = _decode_response(header, reader, legacy=envelope.version == (2, 0))
    tail = Reader(payload, HEADER_SIZE + body_length)
    # The credential length may be left out altogether (Handle.Net reads it only if present).
    credential = _decode_credential(tail) if tail.remaining else None
    tail.end("credential")
    return Message(envelope, header, body, credential)


def decode_message(data: bytes) -> Message:
    """One whole message (envelope included), as read from TCP or reassembled from UDP."""
    envelope = decode_envelope(data)
    return decode_payload(envelope, data[ENVELOPE_SIZE:])
