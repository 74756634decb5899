"""Auth primitives: password hashing, opaque tokens, HMAC signatures. No users, no roles here."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

__all__ = [
    "hash_password",
    "hash_token",
    "new_token",
    "password_needs_rehash",
    "sign",
    "verify_password",
    "verify_signature",
]

_hasher = PasswordHasher()
# Verifying against this when a user does not exist keeps the timing of "no such user" and
# "wrong password" alike, so login cannot be used to enumerate accounts.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    """An argon2id hash of a password."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether a password matches its hash (constant work when there is no hash)."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def password_needs_rehash(password_hash: str) -> bool:
    """Whether a stored hash uses outdated parameters."""
    return _hasher.check_needs_rehash(password_hash)


def new_token(prefix: str) -> tuple[str, str]:
    """A fresh opaque token and the hash to store: ``(plain, sha256 hex)``."""
    plain = f"{prefix}_{secrets.token_urlsafe(32)}"
    return plain, hash_token(plain)


def hash_token(plain: str) -> str:
    """The stored form of an opaque token; tokens are random, so an unsalted hash is enough."""
    return hashlib.sha256(plain.encode()).hexdigest()


def sign(key: bytes, message: str) -> str:
    """An HMAC-SHA256 signature of a message, hex."""
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def verify_signature(key: bytes, message: str, signature: str) -> bool:
    """Whether a signature matches, compared in constant time."""
    return hmac.compare_digest(sign(key, message), signature)
