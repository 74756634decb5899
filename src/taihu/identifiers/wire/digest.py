"""Request digests and the secret-key challenge-response (RFC 3652 2.2.2.2, 3.5).

A request digest is one algorithm byte (1 MD5, 2 SHA-1, 3 SHA-256) and the digest of the
request's header and body. A server that needs authentication answers with a challenge: the
digest of the request and a nonce. With a secret key the client answers with one of:

- ``MD5(key + nonce + digest + key)``, 16 bytes, untagged: the form RFC 3652 describes;
- ``0x04 + HMAC-SHA256(key, nonce + digest)``, 33 bytes: Taihu's stronger form, and the
  default of Taihu's client. The leading byte tells the forms apart (their lengths differ too).

``digest`` here is the digest value without its algorithm byte. Comparison is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
from enum import IntEnum

__all__ = [
    "DigestAlgorithm",
    "SecretKeyScheme",
    "compute_digest",
    "secret_key_response",
    "verify_secret_key_response",
]


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
    """How a secret-key challenge response is computed."""

    MD5 = 1
    HMAC_SHA256 = 4


_HASHES = {
    DigestAlgorithm.MD5: hashlib.md5,
    DigestAlgorithm.SHA1: hashlib.sha1,
    DigestAlgorithm.SHA256: hashlib.sha256,
}


def compute_digest(algorithm: DigestAlgorithm, data: bytes) -> bytes:
    """The digest value of ``data`` (header and body of the request)."""
    return _HASHES[algorithm](data, usedforsecurity=False).digest()


def secret_key_response(
    secret: bytes,
    nonce: bytes,
    digest: bytes,
    scheme: SecretKeyScheme = SecretKeyScheme.HMAC_SHA256,
) -> bytes:
    """The challenge response proving knowledge of ``secret``."""
    if scheme is SecretKeyScheme.MD5:
        return hashlib.md5(secret + nonce + digest + secret, usedforsecurity=False).digest()
    return (
        bytes((SecretKeyScheme.HMAC_SHA256,)) + hmac.new(secret, nonce + digest, "sha256").digest()
    )


def verify_secret_key_response(secret: bytes, nonce: bytes, digest: bytes, response: bytes) -> bool:
    """Whether ``response`` answers the challenge with ``secret`` (either form, constant-time)."""
    scheme = SecretKeyScheme.HMAC_SHA256 if len(response) == 33 else SecretKeyScheme.MD5
    if scheme is SecretKeyScheme.HMAC_SHA256 and response[0] != SecretKeyScheme.HMAC_SHA256:
        return False
    return hmac.compare_digest(secret_key_response(secret, nonce, digest, scheme), response)
