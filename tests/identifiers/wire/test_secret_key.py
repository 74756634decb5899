"""Secret-key challenge answers in every form a Handle client sends, built here from the formulas.

K is the secret, N the nonce, D the request digest value; see ``wire.digest`` for the table.
"""

from __future__ import annotations

import hashlib
import hmac
import struct

import pytest

from taihu.identifiers.wire import SecretKeyScheme, secret_key_response, verify_secret_key_response

K, N, D = b"s3cret-key", bytes(range(16)), hashlib.sha256(b"header and body").digest()


def _wrapped(name: str) -> bytes:
    return hashlib.new(name, K + N + D + K).digest()


def _pbkdf2_answer(salt: bytes, iterations: int, bits: int, key: bytes = K) -> bytes:
    derived = hashlib.pbkdf2_hmac("sha1", key, salt, iterations, bits // 8)
    mac = hmac.new(derived, N + D, "sha1").digest()
    encoded = struct.pack(">I", len(salt)) + salt + struct.pack(">III", iterations, bits, len(mac))
    return b"\x22" + encoded + mac


ANSWERS = {
    "protocol 2.0, untagged MD5": _wrapped("md5"),
    "0x01 MD5": b"\x01" + _wrapped("md5"),
    "0x02 SHA-1 (Handle.Net 2.1-2.6)": b"\x02" + _wrapped("sha1"),
    "0x03 SHA-256": b"\x03" + _wrapped("sha256"),
    "0x12 HMAC-SHA1": b"\x12" + hmac.new(K, N + D, "sha1").digest(),
    "0x13 HMAC-SHA256 (Taihu's client)": b"\x13" + hmac.new(K, N + D, "sha256").digest(),
    "0x22 PBKDF2-HMAC-SHA1 (Handle.Net 2.7+)": _pbkdf2_answer(b"salt-of-16-bytes", 10_000, 160),
}


@pytest.mark.parametrize("answer", ANSWERS.values(), ids=ANSWERS.keys())
def test_every_form_verifies_and_a_wrong_key_does_not(answer: bytes) -> None:
    assert verify_secret_key_response(K, N, D, answer)
    assert not verify_secret_key_response(b"other-key", N, D, answer)
    assert not verify_secret_key_response(K, N[::-1], D, answer)  # another challenge


@pytest.mark.parametrize(
    "scheme",
    [s for s in SecretKeyScheme if s is not SecretKeyScheme.PBKDF2_HMAC_SHA1],
)
def test_the_client_computes_the_documented_forms(scheme: SecretKeyScheme) -> None:
    expected = {
        SecretKeyScheme.LEGACY_MD5: ANSWERS["protocol 2.0, untagged MD5"],
        SecretKeyScheme.MD5: ANSWERS["0x01 MD5"],
        SecretKeyScheme.SHA1: ANSWERS["0x02 SHA-1 (Handle.Net 2.1-2.6)"],
        SecretKeyScheme.SHA256: ANSWERS["0x03 SHA-256"],
        SecretKeyScheme.HMAC_SHA1: ANSWERS["0x12 HMAC-SHA1"],
        SecretKeyScheme.HMAC_SHA256: ANSWERS["0x13 HMAC-SHA256 (Taihu's client)"],
    }[scheme]
    assert secret_key_response(K, N, D, scheme) == expected


def test_pbkdf2_answers_carry_their_own_salt() -> None:
    first = secret_key_response(K, N, D, SecretKeyScheme.PBKDF2_HMAC_SHA1)
    second = secret_key_response(K, N, D, SecretKeyScheme.PBKDF2_HMAC_SHA1)
    assert first != second  # a fresh salt each time
    assert verify_secret_key_response(K, N, D, first)
    assert verify_secret_key_response(K, N, D, second)


@pytest.mark.parametrize(
    "answer",
    [
        b"",
        b"\x04" + hmac.new(K, N + D, "sha256").digest(),  # Taihu's earlier private tag
        b"\x00" + _wrapped("md5"),  # tag 0 is the untagged form, never sent with a tag
        _pbkdf2_answer(b"salt", 100_001, 160),  # a work factor over the server's cap
        _pbkdf2_answer(b"salt", 1_000, 100),  # a key length no client uses
        _pbkdf2_answer(b"salt", 1_000, 160)[:-1],  # cut short
    ],
    ids=["empty", "old 0x04", "tag 0", "too many iterations", "odd key bits", "truncated"],
)
def test_malformed_or_unknown_answers_are_refused(answer: bytes) -> None:
    assert not verify_secret_key_response(K, N, D, answer)
