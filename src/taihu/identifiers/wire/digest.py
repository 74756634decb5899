"""Request digests and the secret-key challenge-response (RFC 3652 2.2.2.2, 3.5).

A request digest is one algorithm byte (1 MD5, 2 SHA-1, 3 SHA-256) and the digest of the
request's header and body. A server that needs authentication answers with a challenge: the
digest of the request and a nonce. With a secret key ``K`` the client proves itself over
``N + D`` (nonce, then the digest value without its algorithm byte)::

    protocol 2.0       MD5(K + N + D + K)                         16 bytes, untagged
    0x01 / 0x02 / 0x03 tag + MD5 / SHA-1 / SHA-256 (K + N + D + K)
    0x12 / 0x13        tag + HMAC-SHA1 / HMAC-SHA256 (key K, N + D)
    0x22               tag + salt (u32 + bytes) + iterations u32 + key bits u32
                       + u32 + HMAC-SHA1(PBKDF2-HMAC-SHA1(K, salt, iterations, bits), N + D)

RFC 3652 names the hashed form; the tags and the HMAC/PBKDF2 forms are those the Handle.Net
software sends (2.1 to 2.6 clients send 0x02, 2.7 and later 0x22). Taihu accepts every form and
its own client sends 0x13. Comparison is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
from enum import IntEnum

__all__ = [
    "MAX_PBKDF2_ITERATIONS",
    "DigestAlgorithm",
    "SecretKeyScheme",
    "compute_digest",
    "secret_key_response",
    "verify_secret_key_response",
]

# A client chooses the work factor; a guess must not be able to cost the server seconds.
MAX_PBKDF2_ITERATIONS = 100_000
_PBKDF2_ITERATIONS = 10_000
_PBKDF2_BITS = 160
_LEGACY_MD5_SIZE = 16


class DigestAlgorithm(IntEnum):
    """The algorithm byte in front of a request digest."""

    MD5 = 1
    SHA1 = 2
    SHA256 = 3

    @property
    def size(self) -> int:
        """Bytes of digest that follow the algorithm byte."""
        return {DigestAlgorithm.MD5: 16, DigestAlgorithm.SHA1: 20, DigestAlgorithm.SHA256: 32}[self]


class SecretKeyScheme(IntEnum):
    """How a secret-key challenge response is computed; the value is its leading tag byte."""

    LEGACY_MD5 = 0  # protocol 2.0: no tag byte at all
    MD5 = 0x01
    SHA1 = 0x02
    SHA256 = 0x03
    HMAC_SHA1 = 0x12
    HMAC_SHA256 = 0x13
    PBKDF2_HMAC_SHA1 = 0x22


_HASHES = {
    DigestAlgorithm.MD5: hashlib.md5,
    DigestAlgorithm.SHA1: hashlib.sha1,
    DigestAlgorithm.SHA256: hashlib.sha256,
}
_WRAPPED = {
    SecretKeyScheme.LEGACY_MD5: "md5",
    SecretKeyScheme.MD5: "md5",
    SecretKeyScheme.SHA1: "sha1",
    SecretKeyScheme.SHA256: "sha256",
}
_HMAC = {SecretKeyScheme.HMAC_SHA1: "sha1", SecretKeyScheme.HMAC_SHA256: "sha256"}
_U32 = struct.Struct(">I")


def compute_digest(algorithm: DigestAlgorithm, data: bytes) -> bytes:
    """The digest value of ``data`` (header and body of the request)."""
    return _HASHES[algorithm](data, usedforsecurity=False).digest()


def _pbkdf2_password(secret: bytes) -> bytes:
    # The Java client turns each key byte into a char, which the JCE then encodes as UTF-8.
    return secret.decode("latin-1").encode("utf-8")


def _pbkdf2(secret: bytes, salt: bytes, iterations: int, bits: int, signed: bytes) -> bytes:
    derived = hashlib.pbkdf2_hmac("sha1", _pbkdf2_password(secret), salt, iterations, bits // 8)
    return hmac.new(derived, signed, "sha1").digest()


def _pbkdf2_encoding(salt: bytes, iterations: int, bits: int, mac: bytes) -> bytes:
    head = _U32.pack(len(salt)) + salt + struct.pack(">III", iterations, bits, len(mac))
    return head + mac


def _mac(scheme: SecretKeyScheme, secret: bytes, signed: bytes) -> bytes:
    if scheme in _HMAC:
        return hmac.new(secret, signed, _HMAC[scheme]).digest()
    return hashlib.new(_WRAPPED[scheme], secret + signed + secret, usedforsecurity=False).digest()


def secret_key_response(
    secret: bytes,
    nonce: bytes,
    digest: bytes,
    scheme: SecretKeyScheme = SecretKeyScheme.HMAC_SHA256,
) -> bytes:
    """The challenge response proving knowledge of ``secret``."""
    signed = nonce + digest
    if scheme is SecretKeyScheme.LEGACY_MD5:
        return _mac(scheme, secret, signed)
    if scheme is SecretKeyScheme.PBKDF2_HMAC_SHA1:
        salt = os.urandom(16)
        mac = _pbkdf2(secret, salt, _PBKDF2_ITERATIONS, _PBKDF2_BITS, signed)
        return bytes((scheme,)) + _pbkdf2_encoding(salt, _PBKDF2_ITERATIONS, _PBKDF2_BITS, mac)
    return bytes((scheme,)) + _mac(scheme, secret, signed)


def _verify_pbkdf2(secret: bytes, signed: bytes, encoded: bytes) -> bool:
    try:
        (salt_size,) = _U32.unpack_from(encoded)
        salt = encoded[4 : 4 + salt_size]
        iterations, bits, mac_size = struct.unpack_from(">III", encoded, 4 + salt_size)
    except struct.error:
        return False
    mac = encoded[16 + salt_size :]
    if (
        len(salt) != salt_size
        or len(mac) != mac_size
        or not 0 < iterations <= MAX_PBKDF2_ITERATIONS
        or bits not in (128, 160, 256)
    ):
        return False
    return hmac.compare_digest(_pbkdf2(secret, salt, iterations, bits, signed), mac)


def verify_secret_key_response(secret: bytes, nonce: bytes, digest: bytes, response: bytes) -> bool:
    """Whether ``response`` answers the challenge with ``secret`` (any form, constant-time)."""
    signed = nonce + digest
    if len(response) == _LEGACY_MD5_SIZE:
        return hmac.compare_digest(_mac(SecretKeyScheme.LEGACY_MD5, secret, signed), response)
    if not response:
        return False
    try:
        scheme = SecretKeyScheme(response[0])
    except ValueError:
        return False
    if scheme is SecretKeyScheme.PBKDF2_HMAC_SHA1:
        return _verify_pbkdf2(secret, signed, response[1:])
    if scheme is SecretKeyScheme.LEGACY_MD5:
        return False
    return hmac.compare_digest(_mac(scheme, secret, signed), response[1:])
