"""The Handle wire protocol (RFC 3651 encoding, RFC 3652 protocol 2.x): codec and async client.

This package knows nothing of the database: bytes in, frozen dataclasses out.

Public API (names are stable; other modules build on them)::

    messages   Message(envelope, header, body, credential)
               Envelope(request_id, session_id, sequence, length, version, suggested, flags…)
               Header(opcode, response_code, flags, site_serial, recursion, expiration)
               OpCode, ResponseCode, OpFlag (AUTH CERT ENCR RECU CACR CONT KPAL PUBL RRDG OVRW
               MINT DNRF), RequestDigest, Credential
               reply_version(version, suggested): the version a reply speaks
               bodies: Empty, ResolutionRequest, HandleRequest, ValuesRequest, IndexesRequest,
               ChallengeAnswer, VerifyRequest, ResolutionResponse, SiteInfoResponse,
               HandleListBody, VerifyResult, Challenge, ReferralBody, ErrorBody
    codec      encode_message(msg) -> bytes, decode_message(bytes) -> Message,
               decode_envelope, decode_payload(envelope, payload), encode_header_and_body
    values     encode_value/decode_value, encode_values/decode_values (ValueList),
               SiteInfo(servers, serial, …) / ServerRecord / Interface / ServiceType / Transport,
               encode_site/decode_site (HS_SITE), encode_vlist/decode_vlist (HS_VLIST)
    digest     DigestAlgorithm (MD5/SHA1/SHA256), compute_digest, SecretKeyScheme,
               secret_key_response, verify_secret_key_response (constant-time)
    framing    split_datagrams (512-byte UDP pieces), datagram_bytes, Reassembler,
               read_tcp_message
    budget     what an unverified UDP source may be sent: SourceBudget (bytes per source),
               source_key (IPv4 address, IPv6 /64), tcp_refusal (RC 2 "ask over TCP")
    client     HandleClient(host, port, transport="udp"|"tcp", timeout, identity=SecretKey(…))
               .resolve .site_info .create_handle .delete_handle .add_values .modify_values
               .remove_values .list_handles .home_na .unhome_na .list_homed_na
               .call (raises on non-success) .exchange (returns any reply, e.g. a referral)
               HandleWireError > HandleTimeout, HandleResponseError(code, text, reply)
    WireDecodeError  every malformed input (truncated, lying length, huge count, bad version)

The server side (``taihu.identifiers.server.listeners``) answers only for prefixes its
``taihu.identifiers.resolution.locator.PrefixLocator`` accepts; see that module for the seam.
"""

from taihu.identifiers.wire.buffer import WireDecodeError
from taihu.identifiers.wire.client import (
    HandleClient,
    HandleResponseError,
    HandleTimeout,
    HandleWireError,
    SecretKey,
)
from taihu.identifiers.wire.codec import (
    decode_message,
    decode_payload,
    encode_header_and_body,
    encode_message,
    encode_raw,
)
from taihu.identifiers.wire.digest import (
    DigestAlgorithm,
    SecretKeyScheme,
    compute_digest,
    secret_key_response,
    verify_secret_key_response,
)
from taihu.identifiers.wire.framing import Reassembler, read_tcp_message, split_datagrams
from taihu.identifiers.wire.messages import (
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
    reply_version,
)
from taihu.identifiers.wire.values import (
    Interface,
    ServerRecord,
    ServiceType,
    SiteInfo,
    Transport,
    decode_site,
    decode_value,
    decode_values,
    decode_vlist,
    encode_site,
    encode_value,
    encode_values,
    encode_vlist,
)

__all__ = [
    "Body",
    "Challenge",
    "ChallengeAnswer",
    "Credential",
    "DigestAlgorithm",
    "Empty",
    "Envelope",
    "ErrorBody",
    "HandleClient",
    "HandleListBody",
    "HandleRequest",
    "HandleResponseError",
    "HandleTimeout",
    "HandleWireError",
    "Header",
    "IndexesRequest",
    "Interface",
    "Message",
    "OpCode",
    "OpFlag",
    "Reassembler",
    "ReferralBody",
    "RequestDigest",
    "ResolutionRequest",
    "ResolutionResponse",
    "ResponseCode",
    "SecretKey",
    "SecretKeyScheme",
    "ServerRecord",
    "ServiceType",
    "SiteInfo",
    "SiteInfoResponse",
    "Transport",
    "ValuesRequest",
    "VerifyRequest",
    "VerifyResult",
    "WireDecodeError",
    "compute_digest",
    "decode_envelope",
    "decode_message",
    "decode_payload",
    "decode_site",
    "decode_value",
    "decode_values",
    "decode_vlist",
    "encode_header_and_body",
    "encode_message",
    "encode_raw",
    "encode_site",
    "encode_value",
    "encode_values",
    "encode_vlist",
    "op_flags",
    "read_tcp_message",
    "reply_version",
    "secret_key_response",
    "split_datagrams",
    "verify_secret_key_response",
]
