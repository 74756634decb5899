"""Byte-exact vectors for every message type, written by hand from the RFC 3651/3652 layouts.

Each vector is spelled field by field (``# name`` comments) so a reader can check it against the
RFC tables; the test encodes the dataclass and compares bytes, then decodes the bytes back.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from taihu.identifiers.handle import (
    ADMIN_PERMISSIONS_ALL,
    AdminRef,
    HandleValue,
    TtlType,
    encode_admin,
)
from taihu.identifiers.wire import (
    Challenge,
    ChallengeAnswer,
    Credential,
    DigestAlgorithm,
    Empty,
    Envelope,
    ErrorBody,
    HandleListBody,
    HandleRequest,
    Header,
    IndexesRequest,
    Interface,
    Message,
    OpCode,
    OpFlag,
    ReferralBody,
    RequestDigest,
    ResolutionRequest,
    ResolutionResponse,
    ResponseCode,
    ServerRecord,
    ServiceType,
    SiteInfo,
    SiteInfoResponse,
    Transport,
    ValuesRequest,
    VerifyRequest,
    VerifyResult,
    decode_envelope,
    decode_message,
    decode_value,
    decode_vlist,
    encode_message,
    encode_site,
    encode_value,
    encode_vlist,
    split_datagrams,
)


def h(text: str) -> bytes:
    """Hex with spaces, newlines and ``#`` comments allowed."""
    return bytes.fromhex(" ".join(line.split("#")[0] for line in text.splitlines()))


def envelope(length: int, request_id: int = 0x01020304, minor: int = 1) -> str:
    """The 20-byte envelope as hex: version 2.<minor>, MessageFlag 0x020B, session 0, seq 0."""
    return f"02 {minor:02x} 020b 00000000 {request_id:08x} 00000000 {length:08x}"


def header(op: int, rc: int, flags: int, body: int, serial: int = 0xFFFF, exp: int = 0) -> str:
    """The 24-byte header as hex."""
    return f"{op:08x} {rc:08x} {flags:08x} {serial:04x} 00 00 {exp:08x} {body:08x}"


EMPTY_CRED = "00000000"
HANDLE = "00000009 38382e3939392f5731"  # UTF8-String "88.999/W1"
STAMP = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
URL_VALUE = HandleValue(index=1, type="URL", data=b"https://t.cn", ttl=86400, timestamp=STAMP)
URL_HEX = f"""
00000001                # index 1
{int(STAMP.timestamp()):08x}  # timestamp
00                      # TTL type relative
00015180                # TTL 86400
0e                      # permissions: admin read+write, public read
00000003 55524c         # type "URL"
0000000c 68747470733a2f2f742e636e  # data "https://t.cn"
00000000                # no references
"""


def roundtrip(message: Message, expected: bytes) -> None:
    assert encode_message(message) == expected
    assert decode_message(expected) == message


def test_resolution_request() -> None:
    body = HANDLE + " 00000000 00000000"  # handle, no indexes, no types
    wire = h(envelope(24 + 21 + 4) + header(1, 0, 0, 21) + body + EMPTY_CRED)
    roundtrip(
        Message(Envelope(0x01020304), Header(OpCode.RESOLUTION), ResolutionRequest("88.999/W1")),
        wire,
    )


def test_resolution_request_with_filters() -> None:
    body = HANDLE + " 00000002 00000001 00000064" + " 00000001 00000003 55524c"
    size = 13 + 12 + 11
    wire = h(envelope(24 + size + 4) + header(1, 0, 0x9000_0000, size) + body + EMPTY_CRED)
    request = ResolutionRequest("88.999/W1", (1, 100), ("URL",))
    roundtrip(
        Message(
            Envelope(0x01020304),
            Header(OpCode.RESOLUTION, flags=OpFlag.AUTH | OpFlag.RECU),
            request,
        ),
        wire,
    )


def test_handle_value() -> None:
    assert encode_value(URL_VALUE) == h(URL_HEX)
    assert decode_value(h(URL_HEX)) == URL_VALUE


def test_admin_value_and_permissions() -> None:
    data = encode_admin(AdminRef("0.NA/88.999", 200, ADMIN_PERMISSIONS_ALL))
    assert data == h("0fff 0000000b 302e4e412f38382e393939 000000c8")
    value = HandleValue(
        index=100, type="HS_ADMIN", data=data, ttl=0, ttl_type=TtlType.ABSOLUTE,
        admin_read=True, admin_write=False, public_read=False, public_write=True,
        references=((7, "88.999/REF"),),
    )  # fmt: skip
    wire = h(
        "00000064 00000000 01 00000000 09"  # index 100, no timestamp, absolute TTL 0, perms 0x09
        " 00000008 48535f41444d494e"  # "HS_ADMIN"
        f" {len(data):08x} {data.hex()}"
        " 00000001 0000000a 38382e3939392f524546 00000007"  # one reference 7:88.999/REF
    )
    assert encode_value(value) == wire
    assert decode_value(wire) == value


def test_resolution_response_with_digest() -> None:
    digest = RequestDigest(DigestAlgorithm.MD5, bytes(range(16)))
    body = "01 000102030405060708090a0b0c0d0e0f " + HANDLE + " 00000001" + URL_HEX
    size = len(h(body))
    wire = h(
        envelope(24 + size + 4)
        + header(1, 1, 0x9080_0000, size, exp=0x6B0D0000)
        + body
        + EMPTY_CRED
    )
    message = Message(
        Envelope(0x01020304),
        Header(
            OpCode.RESOLUTION,
            ResponseCode.SUCCESS,
            OpFlag.AUTH | OpFlag.RECU | OpFlag.RRDG,
            expiration=0x6B0D0000,
        ),
        ResolutionResponse("88.999/W1", (URL_VALUE,), digest),
    )
    roundtrip(message, wire)


def test_not_found_is_one_empty_string() -> None:
    wire = h(envelope(24 + 4 + 4) + header(1, 100, 0, 4) + "00000000" + EMPTY_CRED)
    roundtrip(
        Message(
            Envelope(0x01020304),
            Header(OpCode.RESOLUTION, ResponseCode.HANDLE_NOT_FOUND),
            ErrorBody(),
        ),
        wire,
    )


def test_server_not_responsible() -> None:
    text = b"That prefix doesn't live here"
    body = f"{len(text):08x} {text.hex()}"
    wire = h(envelope(24 + 33 + 4) + header(1, 301, 0, 33) + body + EMPTY_CRED)
    message = Message(
        Envelope(0x01020304),
        Header(OpCode.RESOLUTION, ResponseCode.SERVER_NOT_RESP),
        ErrorBody(text.decode()),
    )
    roundtrip(message, wire)


def test_error_with_indexes() -> None:
    body = "00000002 6e6f 00000001 00000005"
    wire = h(envelope(24 + 14 + 4) + header(102, 201, 0, 14) + body + EMPTY_CRED)
    message = Message(
        Envelope(0x01020304),
        Header(OpCode.ADD_VALUE, ResponseCode.VALUE_ALREADY_EXIST),
        ErrorBody("no", (5,)),
    )
    roundtrip(message, wire)


SITE = SiteInfo(
    servers=(
        ServerRecord(1, "127.0.0.1", (Interface(ServiceType.ADMIN_AND_QUERY, Transport.TCP, 2641),
                                       Interface(ServiceType.QUERY, Transport.UDP, 2641))),
    ),
    serial=3,
    attributes=(("desc", "taihu"),),
)  # fmt: skip
SITE_HEX = """
0001 02 01 0003 80 00      # version 1, protocol 2.1, serial 3, primary, hash by prefix
00000000                   # empty hash filter
00000001 00000004 64657363 00000005 7461696875   # attribute desc=taihu
00000001                   # one server
00000001                   # server id 1
00000000 00000000 00000000 7f000001   # address 127.0.0.1 in the last four bytes
00000000                   # no public key
00000002 03 01 00000a51 02 00 00000a51  # admin+query over TCP 2641, query over UDP 2641
"""


def test_site_info_response() -> None:
    assert encode_site(SITE) == h(SITE_HEX)
    size = len(h(SITE_HEX))
    wire = h(envelope(24 + size + 4) + header(2, 1, 0, size) + SITE_HEX + EMPTY_CRED)
    roundtrip(
        Message(
            Envelope(0x01020304),
            Header(OpCode.GET_SITE_INFO, ResponseCode.SUCCESS),
            SiteInfoResponse(SITE),
        ),
        wire,
    )


def test_site_info_request_and_list_homed_request() -> None:
    for op in (OpCode.GET_SITE_INFO, OpCode.LIST_HOMED_NA):
        # Handle.Net writes (and its server reads) a handle here, empty for these requests
        wire = h(envelope(32) + header(op, 0, 0, 4) + "00000000" + EMPTY_CRED)
        roundtrip(Message(Envelope(0x01020304), Header(op), HandleRequest("")), wire)
        bodiless = h(envelope(28) + header(op, 0, 0, 0) + EMPTY_CRED)
        assert decode_message(bodiless).body == Empty()  # taken as well


def test_message_without_credential_section() -> None:
    # Handle.Net reads the credential length only when the message has room for it
    body = HANDLE + " 00000000 00000000"
    wire = h(envelope(24 + 21) + header(1, 0, 0, 21) + body)
    assert decode_message(wire) == Message(
        Envelope(0x01020304), Header(OpCode.RESOLUTION), ResolutionRequest("88.999/W1")
    )


def test_envelope_suggested_version_zero_means_the_version_itself() -> None:
    wire = h("02 00 0000 00000000 00000001 00000000 00000000")  # a 2.0 sender, no suggestion
    envelope_ = decode_envelope(wire)
    assert (envelope_.version, envelope_.suggested) == ((2, 0), (2, 0))
    flags = (envelope_.compressed, envelope_.encrypted, envelope_.truncated)
    assert flags == (False, False, False)
    flagged = decode_envelope(h("02 0b e20b 00000000 00000001 00000000 00000000"))
    assert (flagged.compressed, flagged.encrypted, flagged.truncated) == (True, True, True)
    assert flagged.suggested == (2, 11)


@pytest.mark.parametrize("op", [OpCode.CREATE_HANDLE, OpCode.ADD_VALUE, OpCode.MODIFY_VALUE])
def test_values_requests(op: OpCode) -> None:
    body = HANDLE + " 00000001" + URL_HEX
    size = len(h(body))
    wire = h(envelope(24 + size + 4) + header(op, 0, 0x0040_0000, size) + body + EMPTY_CRED)
    message = Message(
        Envelope(0x01020304),
        Header(op, flags=OpFlag.OVRW),
        ValuesRequest("88.999/W1", (URL_VALUE,)),
    )
    roundtrip(message, wire)


def test_remove_value_request() -> None:
    body = HANDLE + " 00000002 00000001 00000002"
    wire = h(envelope(24 + 25 + 4) + header(103, 0, 0, 25) + body + EMPTY_CRED)
    roundtrip(
        Message(
            Envelope(0x01020304), Header(OpCode.REMOVE_VALUE), IndexesRequest("88.999/W1", (1, 2))
        ),
        wire,
    )


@pytest.mark.parametrize(
    ("op", "text"),
    [
        (OpCode.DELETE_HANDLE, "88.999/W1"),
        (OpCode.LIST_HANDLES, "0.NA/88.999"),
        (OpCode.HOME_NA, "0.NA/88.999"),
        (OpCode.UNHOME_NA, "0.NA/88.999"),
    ],
)
def test_handle_requests(op: OpCode, text: str) -> None:
    raw = text.encode()
    body = f"{len(raw):08x} {raw.hex()}"
    wire = h(
        envelope(24 + 4 + len(raw) + 4)
        + header(op, 0, 0x0200_0000, 4 + len(raw))
        + body
        + EMPTY_CRED
    )
    roundtrip(
        Message(Envelope(0x01020304), Header(op, flags=OpFlag.KPAL), HandleRequest(text)), wire
    )


def test_success_without_body_and_with_digest() -> None:
    wire = h(envelope(28) + header(101, 1, 0, 0) + EMPTY_CRED)
    roundtrip(
        Message(Envelope(0x01020304), Header(OpCode.DELETE_HANDLE, ResponseCode.SUCCESS), Empty()),
        wire,
    )
    sha = bytes(range(32))
    wire = h(
        envelope(24 + 33 + 4) + header(101, 1, 0x0080_0000, 33) + "03" + sha.hex() + EMPTY_CRED
    )
    digest = RequestDigest(DigestAlgorithm.SHA256, sha)
    message = Message(
        Envelope(0x01020304),
        Header(OpCode.DELETE_HANDLE, ResponseCode.SUCCESS, OpFlag.RRDG),
        Empty(digest),
    )
    roundtrip(message, wire)


def test_list_handles_response() -> None:
    body = "00000002 " + HANDLE + " 00000009 38382e3939392f5732"
    wire = h(envelope(24 + 30 + 4) + header(105, 1, 0, 30) + body + EMPTY_CRED)
    message = Message(
        Envelope(0x01020304),
        Header(OpCode.LIST_HANDLES, ResponseCode.SUCCESS),
        HandleListBody(("88.999/W1", "88.999/W2")),
    )
    roundtrip(message, wire)


def test_challenge() -> None:
    # 2.1 and later: the digest is the optional request digest, so the header sets RRDG
    body = "02 " + "aa" * 20 + " 00000004 6e6f6e63"  # SHA-1 digest of the request, nonce "nonc"
    wire = h(envelope(24 + 29 + 4) + header(100, 402, 0x0080_0000, 29) + body + EMPTY_CRED)
    challenge = Challenge(RequestDigest(DigestAlgorithm.SHA1, b"\xaa" * 20), b"nonc")
    roundtrip(
        Message(
            Envelope(0x01020304),
            Header(OpCode.CREATE_HANDLE, ResponseCode.AUTHEN_NEEDED, OpFlag.RRDG),
            challenge,
        ),
        wire,
    )


def test_challenge_without_digest_flag_is_a_nonce_only() -> None:
    wire = h(envelope(24 + 8 + 4) + header(100, 402, 0, 8) + "00000004 6e6f6e63" + EMPTY_CRED)
    assert decode_message(wire).body == Challenge(None, b"nonc")


def test_protocol_2_0_challenge() -> None:
    # 2.0: nonce first, then the MD5 digest as a length-prefixed string; no RRDG
    body = "00000004 6e6f6e63 00000010 " + "bb" * 16
    wire = h(envelope(24 + 28 + 4, minor=0) + header(100, 402, 0, 28) + body + EMPTY_CRED)
    challenge = Challenge(RequestDigest(DigestAlgorithm.MD5, b"\xbb" * 16), b"nonc", legacy=True)
    roundtrip(
        Message(
            Envelope(0x01020304, version=(2, 0)),
            Header(OpCode.CREATE_HANDLE, ResponseCode.AUTHEN_NEEDED),
            challenge,
        ),
        wire,
    )


def test_challenge_answer() -> None:
    key = b"88.999/ADMIN"
    # "HS_SECKEY", key handle, key index 300, a 3-byte response
    body = f"00000009 48535f5345434b4559 {len(key):08x} {key.hex()} 0000012c 00000003 010203"
    size = len(h(body))
    wire = h(envelope(24 + size + 4) + header(200, 0, 0, size) + body + EMPTY_CRED)
    answer = ChallengeAnswer("HS_SECKEY", "88.999/ADMIN", 300, b"\x01\x02\x03")
    roundtrip(Message(Envelope(0x01020304), Header(OpCode.CHALLENGE_RESPONSE), answer), wire)


def test_verify_request_and_result() -> None:
    key = b"88.999/ADMIN"
    body = f"{len(key):08x} {key.hex()} 0000012c 00000001 aa 00000002 bbbb 00000001 cc"
    size = len(h(body))
    wire = h(envelope(24 + size + 4) + header(201, 0, 0, size) + body + EMPTY_CRED)
    verify = VerifyRequest("88.999/ADMIN", 300, b"\xaa", b"\xbb\xbb", b"\xcc")
    roundtrip(Message(Envelope(0x01020304), Header(OpCode.VERIFY_RESPONSE), verify), wire)
    # the digest may also come tagged (algorithm byte + digest), which Handle.Net reads too
    tagged = f"{len(key):08x} {key.hex()} 0000012c 00000001 aa 01 {'bb' * 16} 00000001 cc"
    size = len(h(tagged))
    wire = h(envelope(24 + size + 4) + header(201, 0, 0, size) + tagged + EMPTY_CRED)
    assert decode_message(wire).body == VerifyRequest(
        "88.999/ADMIN", 300, b"\xaa", b"\xbb" * 16, b"\xcc"
    )
    wire = h(envelope(29) + header(201, 1, 0, 1) + "01" + EMPTY_CRED)
    roundtrip(
        Message(
            Envelope(0x01020304),
            Header(OpCode.VERIFY_RESPONSE, ResponseCode.SUCCESS),
            VerifyResult(valid=True),
        ),
        wire,
    )


def test_referral() -> None:
    site_value = HandleValue(index=1, type="HS_SITE", data=encode_site(SITE), ttl=86400)
    name = b"0.NA/88.999"
    value_hex = (
        "00000001 00000000 00 00015180 0e 00000007 48535f53495445"
        f" {len(site_value.data):08x} {site_value.data.hex()} 00000000"
    )
    body = f"{len(name):08x} {name.hex()} 00000001 {value_hex}"
    size = len(h(body))
    wire = h(envelope(24 + size + 4) + header(1, 303, 0, size) + body + EMPTY_CRED)
    message = Message(
        Envelope(0x01020304),
        Header(OpCode.RESOLUTION, ResponseCode.PREFIX_REFERRAL),
        ReferralBody("0.NA/88.999", (site_value,)),
    )
    roundtrip(message, wire)


def test_credential_section() -> None:
    signer = b"0.NA/88.999"
    signed = "00000004 53484131 00000002 dead"  # digest algorithm "SHA1", signature
    # version 1, reserved, options 0, signer 200:0.NA/88.999, type "HS_SIGNED", signed info
    inner = (
        f"01 00 0000 {len(signer):08x} {signer.hex()} 000000c8"
        f" 00000009 48535f5349474e4544 {len(h(signed)):08x} {signed}"
    )
    cred = f"{len(h(inner)):08x} {inner}"
    size = len(h(cred))
    wire = h(envelope(24 + 0 + size) + header(2, 0, 0, 0) + cred)
    credential = Credential("0.NA/88.999", 200, "HS_SIGNED", "SHA1", b"\xde\xad", version=1)
    roundtrip(
        Message(Envelope(0x01020304), Header(OpCode.GET_SITE_INFO), Empty(), credential), wire
    )


def test_vlist() -> None:
    data = h("00000002 00000009 38382e3939392f5731 0000012c 00000009 38382e3939392f5732 00000064")
    assert encode_vlist(((300, "88.999/W1"), (100, "88.999/W2"))) == data
    assert decode_vlist(data) == ((300, "88.999/W1"), (100, "88.999/W2"))


def test_split_into_512_byte_datagrams() -> None:
    values = tuple(HandleValue(index=i, type="URL", data=b"x" * 100) for i in range(1, 11))
    message = Message(
        Envelope(7, version=(2, 10)),
        Header(OpCode.RESOLUTION, ResponseCode.SUCCESS),
        ResolutionResponse("88.999/W1", values),
    )
    wire = encode_message(message)
    pieces = split_datagrams(wire)
    total = len(wire) - 20
    assert len(pieces) == -(-total // 492)
    for sequence, piece in enumerate(pieces):
        assert len(piece) <= 512
        # every piece: version 2.10, flag 0x020B, session 0, request 7, its sequence, TOTAL length
        assert piece[:20] == h(f"02 0a 020b 00000000 00000007 {sequence:08x} {total:08x}")
    assert b"".join(p[20:] for p in pieces) == wire[20:]
