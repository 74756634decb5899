"""Byte-exact session messages, key encodings and MAC inputs, spelled from Handle.Net's layouts."""

from __future__ import annotations

import struct

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from taihu.identifiers.registration.pubkeys import (
    DhPublicKey,
    decode_public_key,
    encode_dh_public_key,
    encode_public_key,
    java_int,
    sign_challenge,
    verify_challenge,
)
from taihu.identifiers.server.sessions import _dh_secret_key
from taihu.identifiers.wire import (
    DigestAlgorithm,
    Envelope,
    Header,
    Message,
    OpCode,
    RequestDigest,
    ResponseCode,
    WireDecodeError,
    decode_message,
    encode_message,
)
from taihu.identifiers.wire.codec import encode_body
from taihu.identifiers.wire.sessions import (
    KeyExchange,
    SessionSetupRequest,
    SessionSetupResponse,
    mac_prefix,
)
from tests.identifiers.wire.hdl_session_client import blob, utf8


@pytest.mark.parametrize(
    ("number", "expected"),
    [(0, "00"), (127, "7f"), (128, "0080"), (255, "00ff"), (256, "0100"), (65537, "010001")],
)
def test_numbers_are_written_as_java_big_integers(number: int, expected: str) -> None:
    assert java_int(number).hex() == expected


def test_session_setup_request_as_the_java_encoder_writes_it() -> None:
    key = b"DHKEY"
    body = (
        b"\x00\x04"  # mode: DH (a u16, although Handle.Net counts four bytes for it)
        + b"\x00\x00\x0e\x10"  # timeout 3600 s
        + b"\x00\x00\x00\x0c" + b"88.118/ADMIN"
        + b"\x00\x00\x01\x2c"  # identity index 300
        + b"\x00\x00\x00\x05" + key
        + b"\x00\x00"  # the two bytes Handle.Net leaves at the end
    )  # fmt: skip
    header = struct.pack(">IIIHBBII", 400, 0, 0x4080_0000, 0xFFFF, 0, 0, 0, len(body))
    payload = header + body + bytes(4)
    wire = struct.pack(">BBHIIII", 2, 11, 0x020B, 0, 5, 0, len(payload)) + payload
    message = decode_message(wire)
    assert message.body == SessionSetupRequest(KeyExchange.DH, 3600, "88.118/ADMIN", 300, key)
    assert encode_body(message.body) == body


def test_session_setup_response_layout() -> None:
    digest = RequestDigest(DigestAlgorithm.SHA256, bytes(range(32)))
    body = SessionSetupResponse(KeyExchange.DH, b"\x00\x00\x00\x03DATA", digest)
    expected = b"\x03" + bytes(range(32)) + b"\x00\x04" + blob(b"\x00\x00\x00\x03DATA") + b"\0\0"
    assert encode_body(body) == expected
    envelope = Envelope(9, session_id=77, version=(2, 11))
    header = Header(OpCode.SESSION_SETUP, ResponseCode.SUCCESS, flags=0x0080_0000)
    assert decode_message(encode_message(Message(envelope, header, body))).body == body


def test_mac_prefix_covers_versions_ids_and_counter() -> None:
    assert (
        mac_prefix((2, 11), (2, 11), 7, 9, 3).hex() == "020b020b" + "00000007000000090000000" + "3"
    )
    assert mac_prefix((2, 7), (2, 11), 7, 9, 3).hex() == "0207" + "000000070000000900000003"
    with pytest.raises(WireDecodeError):
        mac_prefix((2, 6), (2, 6), 7, 9, 3)


def test_rsa_public_key_encoding() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    n = key.public_numbers().n
    expected = (
        utf8("RSA_PUB_KEY") + b"\0\0" + blob(b"\x01\x00\x01") + blob(b"\x00" + n.to_bytes(256))
    )
    assert encode_public_key(key) == expected
    assert decode_public_key(expected).public_numbers() == key.public_numbers()


def test_dh_public_key_encoding_and_session_key() -> None:
    p = (1 << 1023) + 1155  # only its size matters to the layout
    assert encode_dh_public_key(DhPublicKey(5, p, 2)) == (
        utf8("DH_PUB_KEY") + b"\0\0" + blob(b"\x05") + blob(java_int(p)) + blob(b"\x02")
    )
    # stripLeadingZerosAndTruncate(secret, 32): zeros dropped while 32 bytes remain, then 32 kept
    assert _dh_secret_key(1, p) == bytes(31) + b"\x01"
    big = int.from_bytes(b"\x01" + bytes(range(127)), "big")
    assert _dh_secret_key(big, p) == b"\x01" + bytes(range(31))


def test_small_dh_groups_and_unknown_keys_are_refused() -> None:
    small = utf8("DH_PUB_KEY") + b"\0\0" + blob(b"\x05") + blob(java_int(23)) + blob(b"\x02")
    with pytest.raises(WireDecodeError):
        decode_public_key(small)
    with pytest.raises(WireDecodeError):
        decode_public_key(utf8("EC_PUB_KEY") + b"\0\0")


def test_challenge_answers_name_their_hash_by_name_or_code() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    stored = encode_public_key(key.public_key())
    nonce, digest = b"N" * 16, b"D" * 32
    answer = sign_challenge(key, nonce, digest, "SHA-256")
    assert answer.startswith(utf8("SHA-256"))
    assert verify_challenge(stored, nonce, digest, answer)
    coded = blob(b"\x03") + answer[len(utf8("SHA-256")) :]
    assert verify_challenge(stored, nonce, digest, coded)
    assert not verify_challenge(stored, nonce, b"E" * 32, answer)
    md5 = utf8("MD5") + answer[len(utf8("SHA-256")) :]
    assert not verify_challenge(stored, nonce, digest, md5)
