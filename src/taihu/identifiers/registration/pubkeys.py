"""Handle.Net public keys: HS_PUBKEY encodings, challenge signatures and this server's own key.

HS_PUBKEY data (and a server's key in HS_SITE) uses Handle.Net's binary layout; every number is
a length-prefixed big-endian two's-complement integer, as Java's ``BigInteger.toByteArray``::

    DSA  blob "DSA_PUB_KEY"  u16 flags (0)  blob q  blob p  blob g  blob y
    RSA  blob "RSA_PUB_KEY"  u16 flags (0)  blob e  blob n
    DH   blob "DH_PUB_KEY"   u16 flags (0)  blob y  blob p  blob g     (session key exchange)

A public-key answer to a challenge (CHALLENGE_RESPONSE of type HS_PUBKEY) is
``blob hash-name + blob signature`` over nonce + request digest. Handle.Net 2.11 clients sign
with SHA256withRSA / SHA256withDSA (hash name "SHA-256"), 2.7-2.10 DSA clients with
SHA1withDSA ("SHA1"); DSA signatures are DER (r, s), RSA ones PKCS #1 v1.5. MD5 is refused.

The server signs certified replies (``OpFlag.CERT``) with a DSA key derived from the platform
secret (``server_key``): every worker and every restart has the same key, so the HS_SITE that
publishes it stays valid without storing a private key anywhere.
"""

from __future__ import annotations

import functools
import hashlib
import warnings
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, padding, rsa
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.utils import CryptographyDeprecationWarning

from taihu.identifiers.wire.buffer import Reader, WireDecodeError, Writer

__all__ = [
    "PUBKEY_TYPE",
    "DSAPrivateKey",
    "DSAPublicKey",
    "DhPublicKey",
    "PublicKey",
    "SigningKey",
    "decode_public_key",
    "encode_dh_public_key",
    "encode_public_key",
    "generate_dsa_key",
    "java_int",
    "server_key",
    "sign",
    "sign_challenge",
    "verify",
    "verify_challenge",
]

with warnings.catch_warnings():
    # cryptography 51 deprecates DSA, but Handle.Net admin keys (admpriv.bin) and servers are
    # DSA as often as RSA: the names are taken once here, without the warning.
    warnings.simplefilter("ignore", CryptographyDeprecationWarning)
    DSAPrivateKey = dsa.DSAPrivateKey
    DSAPublicKey = dsa.DSAPublicKey
    _DSAParameterNumbers = dsa.DSAParameterNumbers
    _DSAPublicNumbers = dsa.DSAPublicNumbers
    _DSAPrivateNumbers = dsa.DSAPrivateNumbers
    _generate_dsa = dsa.generate_private_key

PUBKEY_TYPE = "HS_PUBKEY"
_DSA, _RSA, _DH = "DSA_PUB_KEY", "RSA_PUB_KEY", "DH_PUB_KEY"
_MAX_NUMBER = 2048  # bytes: a 16,384-bit number is past any key in use
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "SHA1": hashes.SHA1,
    "SHA-1": hashes.SHA1,
    "SHA-256": hashes.SHA256,
    "SHA256": hashes.SHA256,
}
# Handle.Net may also name the hash by its request-digest code byte (2 SHA-1, 3 SHA-256).
_HASH_CODES = {b"\x02": "SHA1", b"\x03": "SHA-256"}

# A fixed, public 2048-bit DSA group (q of 256 bits), generated once for Taihu with
# ``openssl genpkey -genparam -algorithm DSA -pkeyopt dsa_paramgen_bits:2048
# -pkeyopt dsa_paramgen_q_bits:256``; only the private number is secret.
_GROUP = _DSAParameterNumbers(
    p=int(
        "f3f16777a814893d40c375b8658673973104cffb3adb4b1a307dc3676d84f42d8d0ca7ec496c0f3487c10d"
        "ce858630fd0a97c3291598f3d9512c14f408f7bebb97e2926e563e02a26a9c3a75f719412e545410e7eaff"
        "78c28e360cbaba140284af38260d42567a9d5afdb8a92be6afbdbfef63c0fbe1d6a6002de78da0f34fa1aa"
        "372611ec6f6948478a6e3e4d2e94ab86c932bb4326cc1c34276671b90afde49b526c09313d42d01ebfbfaf"
        "2fc240e29e0f5dd99187bf56025f7dbc3abf2657eb907ed7613cbca0536c560be2e6933c8b6dc1a2ce7073"
        "e41c69f2ae650633b2918d3bf7c28d9ba6060c19dee487d4416209525579a67e4bebc71f9347a0e915",
        16,
    ),
    q=int("f2057283747458160a14e23c51a31630ee8091234bfd3213385274c8dfd42f7b", 16),
    g=int(
        "830d457c6b571f4193bf1d92ada75bfdd498c93d53941fd0edc9ea317e62dd4c7b2edeb8f502c1c6c59da6"
        "a2d65f6ca6a4166bf42f47330c58013892416adb12f0f110ae151b7ee1a9bf69409daf617796a08f6583c8"
        "3bbe891cd20b62210b4398cdda53475f07a87e885c4939b85e7bc3ea06be1af255e36d7b6937885dcdd633"
        "1e4dbc3b04ebd44d58c000e7894db680eae0019596db93eea2d54c81bdfe7443da7772437798bbe0840e9e"
        "67816931d45a474aeb4a31db5745bc5290484b6f12b9a152186d334ba8640a12d28005e8aa3628c61c946c"
        "012fe69e0445d1adad1d5fdbb2017fd39e23c9b5b6647964af9b67a71feaa7c9ca08871f794229cfd0",
        16,
    ),
)


@dataclass(frozen=True, slots=True)
class DhPublicKey:
    """A Diffie-Hellman public value with its group, as a session setup carries it."""

    y: int
    p: int
    g: int


PublicKey = rsa.RSAPublicKey | DSAPublicKey | DhPublicKey
SigningKey = rsa.RSAPrivateKey | DSAPrivateKey


def java_int(number: int) -> bytes:
    """``number`` (not negative) as Java's ``BigInteger.toByteArray`` writes it."""
    return number.to_bytes(number.bit_length() // 8 + 1, "big")


def _number(reader: Reader, what: str) -> int:
    return int.from_bytes(reader.blob(what, _MAX_NUMBER), "big")  # Java reads them unsigned


def generate_dsa_key(bits: int = 2048) -> DSAPrivateKey:
    """A new DSA private key (for tests and tools; Handle.Net's ``hdl-keygen`` makes them too)."""
    return _generate_dsa(bits)


def encode_public_key(key: rsa.RSAPublicKey | DSAPublicKey) -> bytes:
    """The HS_PUBKEY data of an RSA or DSA public key."""
    if isinstance(key, rsa.RSAPublicKey):
        numbers = key.public_numbers()
        out = Writer().text(_RSA).u16(0).blob(java_int(numbers.e)).blob(java_int(numbers.n))
        return out.getvalue()
    dsa_numbers = key.public_numbers()
    group = dsa_numbers.parameter_numbers
    out = Writer().text(_DSA).u16(0)
    for number in (group.q, group.p, group.g, dsa_numbers.y):
        out.blob(java_int(number))
    return out.getvalue()


def encode_dh_public_key(key: DhPublicKey) -> bytes:
    """The DH_PUB_KEY encoding of a Diffie-Hellman public value."""
    out = Writer().text(_DH).u16(0)
    for number in (key.y, key.p, key.g):
        out.blob(java_int(number))
    return out.getvalue()


def decode_public_key(data: bytes) -> PublicKey:
    """The key in HS_PUBKEY (or session setup) data; ``WireDecodeError`` if it is not one."""
    reader = Reader(data)
    kind = reader.text("key type", 64)
    reader.u16("key flags")
    try:
        if kind == _RSA:
            e, n = _number(reader, "exponent"), _number(reader, "modulus")
            key: PublicKey = rsa.RSAPublicNumbers(e, n).public_key()
        elif kind == _DSA:
            q, p, g, y = (_number(reader, name) for name in ("q", "p", "g", "y"))
            key = _DSAPublicNumbers(y, _DSAParameterNumbers(p, q, g)).public_key()
        elif kind == _DH:
            y, p, g = (_number(reader, name) for name in ("y", "p", "g"))
            if p.bit_length() < 1024 or not 1 < y < p - 1 or not 1 < g < p - 1:
                raise WireDecodeError("a Diffie-Hellman key needs a group of 1024 bits or more")
            key = DhPublicKey(y, p, g)
        else:
            raise WireDecodeError(f"unknown public key encoding {kind!r}")
    except ValueError as exc:  # cryptography refuses numbers that make no key
        raise WireDecodeError(f"not a valid {kind} key: {exc}") from exc
    reader.end("public key")
    return key


def _hash(name: str) -> hashes.HashAlgorithm:
    try:
        return _HASHES[name]()
    except KeyError:
        raise WireDecodeError(f"signature hash {name!r} is not accepted") from None


def sign(key: SigningKey, data: bytes, hash_name: str = "SHA-256") -> bytes:
    """A Java-compatible signature of ``data``: DER (r, s) for DSA, PKCS #1 v1.5 for RSA."""
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PKCS1v15(), _hash(hash_name))
    return key.sign(data, _hash(hash_name))


def verify(key: PublicKey, signature: bytes, data: bytes, hash_name: str) -> bool:
    """Whether ``signature`` signs ``data`` with ``key`` and the named hash."""
    try:
        algorithm = _hash(hash_name)
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, data, padding.PKCS1v15(), algorithm)
        elif isinstance(key, DSAPublicKey):
            key.verify(signature, data, algorithm)
        else:
            return False  # a Diffie-Hellman value signs nothing
    except (InvalidSignature, WireDecodeError, ValueError):
        return False
    return True


def sign_challenge(
    key: SigningKey, nonce: bytes, digest: bytes, hash_name: str = "SHA-256"
) -> bytes:
    """The HS_PUBKEY answer to a challenge (nonce, request digest value), as Handle.Net sends."""
    return Writer().text(hash_name).blob(sign(key, nonce + digest, hash_name)).getvalue()


def verify_challenge(key_data: bytes, nonce: bytes, digest: bytes, response: bytes) -> bool:
    """Whether ``response`` answers the challenge with the key stored as ``key_data``."""
    try:
        key = decode_public_key(key_data)
        reader = Reader(response)
        hash_id = reader.blob("hash name", 64)
        signature = reader.blob("signature", 4096)
        reader.end("public-key answer")
    except WireDecodeError:
        return False
    name = _HASH_CODES.get(hash_id) or hash_id.decode("utf-8", "replace")
    return verify(key, signature, nonce + digest, name)


@functools.cache
def server_key(master_secret: str) -> DSAPrivateKey:
    """This node's signing key: the fixed group, the private number derived from the secret."""
    seed = HKDF(
        algorithm=hashes.SHA256(), length=64, salt=b"taihu", info=b"taihu handle server DSA v1"
    ).derive(master_secret.encode("utf-8"))
    x = int.from_bytes(hashlib.sha512(seed).digest(), "big") % (_GROUP.q - 1) + 1
    y = pow(_GROUP.g, x, _GROUP.p)
    return _DSAPrivateNumbers(x, _DSAPublicNumbers(y, _GROUP)).private_key()
