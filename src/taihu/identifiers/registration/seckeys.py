"""HS_SECKEY secrets at rest: sealed with AES-256-GCM, so the server can answer challenges.

RFC 3652 secret-key authentication needs the server to compute a MAC with the key itself, which
a password hash cannot give. A secret is therefore stored as ``aesgcm1:`` + base64(nonce +
ciphertext), under a key derived with HKDF-SHA256 from ``TAIHU_SECRET_KEY``; the handle and
index are bound in as associated data, so a sealed value copied to another handle does not open.

Keys stored by earlier versions as Argon2 hashes keep working for REST Basic authentication
(the password is checked against the hash) but cannot answer a wire challenge: re-set them with
``taihu id prefix reset-key``. Comparisons are constant-time.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from taihu.core import verify_password
from taihu.settings import Settings

__all__ = [
    "SEALED_MARK",
    "SecretKeyBox",
    "is_hashed",
    "is_sealed",
    "seckeys_for",
    "verify_stored_secret",
]

SEALED_MARK = b"aesgcm1:"
_HASH_MARK = b"$argon2"
_NONCE = 12


def is_sealed(data: bytes) -> bool:
    """Whether stored HS_SECKEY data is a sealed secret."""
    return data.startswith(SEALED_MARK)


def is_hashed(data: bytes) -> bool:
    """Whether stored HS_SECKEY data is a legacy Argon2 hash."""
    return data.startswith(_HASH_MARK)


def _context(handle_key: str, index: int) -> bytes:
    return f"{index}:{handle_key}".encode()


class SecretKeyBox:
    """Seals and opens HS_SECKEY secrets with a key derived from the platform secret."""

    __slots__ = ("_aead",)

    def __init__(self, master_secret: str) -> None:
        key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=b"taihu", info=b"taihu HS_SECKEY v1"
        ).derive(master_secret.encode("utf-8"))
        self._aead = AESGCM(key)

    def seal(self, secret: bytes, *, handle_key: str, index: int) -> bytes:
        """The stored form of ``secret`` for value ``index`` of ``handle_key``."""
        nonce = os.urandom(_NONCE)
        sealed = self._aead.encrypt(nonce, secret, _context(handle_key, index))
        return SEALED_MARK + base64.b64encode(nonce + sealed)

    def open(self, stored: bytes, *, handle_key: str, index: int) -> bytes | None:
        """The secret, or ``None`` when ``stored`` is not a secret sealed here for that value."""
        if not is_sealed(stored):
            return None
        try:
            raw = base64.b64decode(stored[len(SEALED_MARK) :], validate=True)
            return self._aead.decrypt(raw[:_NONCE], raw[_NONCE:], _context(handle_key, index))
        except (binascii.Error, InvalidTag, ValueError):
            return None


def verify_stored_secret(
    stored: bytes, password: str, *, box: SecretKeyBox | None, handle_key: str, index: int
) -> bool:
    """Whether ``password`` is the secret stored (sealed, or hashed by an earlier version)."""
    if is_hashed(stored):
        return verify_password(stored.decode("ascii", "replace"), password)
    secret = box.open(stored, handle_key=handle_key, index=index) if box is not None else None
    return secret is not None and hmac.compare_digest(secret, password.encode("utf-8"))


@functools.cache
def _box(master_secret: str) -> SecretKeyBox:
    return SecretKeyBox(master_secret)


def seckeys_for(settings: Settings) -> SecretKeyBox:
    """The process's box for ``TAIHU_SECRET_KEY`` (in dev, the kept generated key); derived once."""
    return _box(settings.secret_key.decode("utf-8"))
