"""The Handle System value model (RFC 3651 section 3.1), shared by the REST API and the wire codec.

A handle is ``PREFIX/SUFFIX``; its record is a set of values, each::

    HandleValue
    ├── index        unsigned 32-bit, unique within the handle (RFC 3651 3.1)
    ├── type         UTF-8 name, e.g. URL, EMAIL, HS_ADMIN, HS_SECKEY, HS_VLIST
    ├── data         bytes (text values are UTF-8); HS_ADMIN data is an ``AdminRef``
    ├── ttl_type     0 relative (seconds) | 1 absolute (POSIX time the value expires)
    ├── ttl          32-bit
    ├── timestamp    when the value was last changed
    ├── permissions  admin read, admin write, public read, public write
    └── references   (index, handle) pairs

This module knows nothing of HTTP or of the database: it validates and converts.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field, fields
from datetime import datetime
from enum import IntEnum, IntFlag
from functools import lru_cache
from typing import Any

from taihu.core.messages import N_, Message

__all__ = [
    "ADMIN_PERMISSIONS_ALL",
    "ADMIN_TYPE",
    "DEFAULT_ADMIN_INDEX",
    "DEFAULT_TTL",
    "MAX_HANDLE_BYTES",
    "MAX_VALUE_BYTES",
    "SECKEY_INDEX",
    "SECKEY_TYPE",
    "AdminPermission",
    "AdminRef",
    "Handle",
    "HandleValue",
    "HandleValueError",
    "TtlType",
    "case_sensitive",
    "decode_admin",
    "encode_admin",
    "normalize_prefix",
    "plain_key",
    "set_case_sensitive",
    "text_value",
]

MAX_HANDLE_BYTES = 2048
MAX_VALUE_BYTES = 64 * 1024
DEFAULT_TTL = 86400
ADMIN_TYPE = "HS_ADMIN"
SECKEY_TYPE = "HS_SECKEY"
DEFAULT_ADMIN_INDEX = 100
SECKEY_INDEX = 300
_MAX_INDEX = 2**32 - 1
_CONTROL = re.compile("[\x00-\x1f\x7f]")
_MAX_TYPE_BYTES = 256


_BITS = {
    (a, b, c, d): "".join("1" if f else "0" for f in (a, b, c, d))
    for a in (False, True) for b in (False, True) for c in (False, True) for d in (False, True)
}  # fmt: skip


class HandleValueError(ValueError):
    """A handle or a value breaks a rule of the Handle System.

    ``message`` says why as a message id with values (shown in the reader's language); the
    exception's own text is the English sentence, as Handle protocol answers carry it.
    """

    def __init__(self, message: str, /, **params: Any) -> None:
        self.message = Message(message, **params)
        super().__init__(self.message.render())


class TtlType(IntEnum):
    """How a value's TTL is read (RFC 3651 3.1)."""

    RELATIVE = 0
    ABSOLUTE = 1


class AdminPermission(IntFlag):
    """The twelve HS_ADMIN permission bits (RFC 3651 3.1.1), in the wire order, low bit first."""

    ADD_HANDLE = 0x0001
    DELETE_HANDLE = 0x0002
    ADD_NAMING_AUTH = 0x0004
    DELETE_NAMING_AUTH = 0x0008
    MODIFY_VALUE = 0x0010
    DELETE_VALUE = 0x0020
    ADD_VALUE = 0x0040
    MODIFY_ADMIN = 0x0080
    REMOVE_ADMIN = 0x0100
    ADD_ADMIN = 0x0200
    AUTHORIZED_READ = 0x0400
    LIST_HANDLE = 0x0800

    def to_bits(self) -> str:
        """The 12-character string the Handle.Net REST API uses, highest bit (LIST) first."""
        return format(int(self), "012b")

    @classmethod
    def from_bits(cls, bits: str) -> AdminPermission:
        """Parse ``"011111110011"`` (highest bit first), as pyhandle and Handle.Net send it."""
        if len(bits) != 12 or set(bits) - {"0", "1"}:
            raise HandleValueError(
                N_("admin permissions must be 12 characters 0/1, not {bits}"), bits=repr(bits)
            )
        return cls(int(bits, 2))


ADMIN_PERMISSIONS_ALL = AdminPermission(0x0FFF)


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _utf8(text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:  # lone surrogates from percent-decoding
        raise HandleValueError(N_("not valid UTF-8: {text}"), text=repr(text)) from exc


@dataclass(frozen=True, slots=True)
class Handle:
    """A handle ``PREFIX/SUFFIX``; refuses malformed input when constructed.

    Case rules follow the Handle.Net server's default: a handle is case-insensitive (ASCII letters
    compare upper-cased: 99.1/REF-1 names 99.1/ref-1). With ``TAIHU_HANDLE_CASE_SENSITIVE`` (see
    ``set_case_sensitive``) only the prefix is, the suffix compares as written. ``key`` is the
    normalized form every lookup and uniqueness check uses; ``text`` keeps what the registrant
    wrote.
    """

    text: str
    # Worked out once: a batch asks for the key of each of its handles several times.
    prefix: str = field(init=False, repr=False, compare=False)
    suffix: str = field(init=False, repr=False, compare=False)
    key: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        text = self.text
        slash = text.find("/")
        # The usual handle, ASCII without control characters (isprintable() refuses exactly
        # those in ASCII) nor spaces in its prefix, settled with a few C calls: a batch parses
        # 2,000 of them. Anything else takes the checks below, which say what is wrong.
        if (
            0 < slash < len(text) - 1
            and len(text) <= MAX_HANDLE_BYTES
            and text.isascii()
            and text.isprintable()
            and " " not in text[:slash]
        ):
            prefix = text[:slash].upper()
            object.__setattr__(self, "prefix", prefix)
            object.__setattr__(self, "suffix", text[slash + 1 :])
            object.__setattr__(
                self, "key", f"{prefix}{text[slash:]}" if _CASE.sensitive else text.upper()
            )
            return
        if "/" not in text:
            raise HandleValueError(
                N_("a handle is PREFIX/SUFFIX; {text} has no '/'"), text=repr(text)
            )
        prefix, suffix = text.split("/", 1)
        if not prefix or not suffix:
            raise HandleValueError(
                N_("a handle needs a prefix and a suffix, not {text}"), text=repr(text)
            )
        if len(_utf8(text)) > MAX_HANDLE_BYTES:
            raise HandleValueError(
                N_("a handle is at most {most} bytes of UTF-8"), most=MAX_HANDLE_BYTES
            )
        if _CONTROL.search(text):
            raise HandleValueError(N_("a handle may not contain control characters"))
        if prefix.strip() != prefix or " " in prefix:
            raise HandleValueError(
                N_("a prefix may not contain spaces: {prefix}"), prefix=repr(prefix)
            )
        normalized = normalize_prefix(prefix)
        # prefix: the naming authority as normalized (upper-cased ASCII); suffix: the local
        # name, case preserved; key: the normalized handle used for lookups and uniqueness.
        object.__setattr__(self, "prefix", normalized)
        object.__setattr__(self, "suffix", suffix)
        key_suffix = suffix if _CASE.sensitive else normalize_prefix(suffix)
        object.__setattr__(self, "key", f"{normalized}/{key_suffix}")

    def __str__(self) -> str:
        return self.text


class _CaseRule:
    """Whether handle suffixes compare as written (one per process, from the settings)."""

    sensitive = False


_CASE = _CaseRule()


def set_case_sensitive(sensitive: bool) -> None:
    """Set this process's case rule from ``TAIHU_HANDLE_CASE_SENSITIVE`` (default: insensitive).

    Keys are stored in the rule's form, so a node keeps one rule for its life; the server, the
    workers and the commands each set it from the same setting when they start.
    """
    _CASE.sensitive = sensitive


def case_sensitive() -> bool:
    """Whether handle suffixes compare as written in this process."""
    return _CASE.sensitive


def normalize_prefix(prefix: str) -> str:
    """A prefix with its ASCII letters upper-cased (non-ASCII characters are kept as they are)."""
    if prefix.isascii():  # the usual case, on every resolution: one C call
        return prefix.upper()
    return "".join(c.upper() if c.isascii() else c for c in prefix)


_CONTROL_BYTES = re.compile(rb"[\x00-\x1f\x7f]")


def plain_key(raw: bytes) -> str | None:
    """``Handle(raw.decode()).key`` of a plainly valid ASCII handle, else ``None``: ask ``Handle``.

    The resolution hot path's shortcut: no object, no question left open; anything unusual
    (non-ASCII, a space in the prefix, a control character, no prefix or suffix) is refused
    here and decided by ``Handle`` itself, with its error message.
    """
    slash = raw.find(b"/")
    if (
        slash < 1
        or slash == len(raw) - 1
        or len(raw) > MAX_HANDLE_BYTES
        or not raw.isascii()
        or b" " in raw[:slash]
        or _CONTROL_BYTES.search(raw)
    ):
        return None
    text = raw.decode("ascii")
    return text[:slash].upper() + text[slash:] if _CASE.sensitive else text.upper()


@dataclass(frozen=True, slots=True)
class AdminRef:
    """The data of an HS_ADMIN value: who administers the handle, and with which permissions."""

    handle: str
    index: int
    permissions: AdminPermission

    def __post_init__(self) -> None:
        if not 0 <= self.index <= _MAX_INDEX:
            raise HandleValueError(N_("admin index {index} is outside 0..2^32-1"), index=self.index)
        if not self.handle:
            raise HandleValueError(N_("an admin reference needs a handle"))


def encode_admin(ref: AdminRef) -> bytes:
    """HS_ADMIN data on the wire: 2-byte permissions, 4-byte length + handle, 4-byte index."""
    handle = _utf8(ref.handle)
    return struct.pack(f">HI{len(handle)}sI", int(ref.permissions), len(handle), handle, ref.index)


@lru_cache(maxsize=4096)  # a batch's identifiers share one HS_ADMIN value; AdminRef is frozen
def decode_admin(data: bytes) -> AdminRef:
    """Parse HS_ADMIN data (the inverse of ``encode_admin``)."""
    try:
        permissions, length = struct.unpack_from(">HI", data)
        (handle,) = struct.unpack_from(f">{length}s", data, 6)
        (index,) = struct.unpack_from(">I", data, 6 + length)
    except struct.error as exc:
        raise HandleValueError(N_("truncated HS_ADMIN data")) from exc
    if len(data) != 10 + length:
        raise HandleValueError(N_("HS_ADMIN data has trailing bytes"))
    return AdminRef(handle.decode("utf-8"), index, AdminPermission(permissions & 0x0FFF))


@dataclass(frozen=True, slots=True)
class HandleValue:
    """One typed value of a handle record (RFC 3651 3.1)."""

    index: int
    type: str
    data: bytes
    ttl: int = DEFAULT_TTL
    ttl_type: TtlType = TtlType.RELATIVE
    timestamp: datetime | None = None
    admin_read: bool = True
    admin_write: bool = True
    public_read: bool = True
    public_write: bool = False
    references: tuple[tuple[int, str], ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if not 0 < self.index <= _MAX_INDEX:
            raise HandleValueError(N_("value index {index} is outside 1..2^32-1"), index=self.index)
        type_bytes = _utf8(self.type)
        if len(type_bytes) > _MAX_TYPE_BYTES:
            raise HandleValueError(
                N_("value type is longer than {most} bytes"), most=_MAX_TYPE_BYTES
            )
        if len(self.data) > MAX_VALUE_BYTES:
            raise HandleValueError(
                N_("value {index} ({type}) holds {size} bytes; the limit is {most} (64 KiB)"),
                index=self.index, type=self.type or "untyped", size=len(self.data),
                most=MAX_VALUE_BYTES,
            )  # fmt: skip
        if not 0 <= self.ttl <= _MAX_INDEX:
            raise HandleValueError(N_("TTL {ttl} is outside 0..2^32-1"), ttl=self.ttl)
        if self.type == ADMIN_TYPE:
            decode_admin(self.data)  # refuses malformed admin data now, not at resolution

    def at(self, moment: datetime) -> HandleValue:
        """The same value time-stamped ``moment``."""
        # Not dataclasses.replace: that re-runs __init__ and the checks above for a value that
        # passed them already, and a batch stamps ten thousand values.
        clone = object.__new__(HandleValue)
        for name in _VALUE_FIELDS:
            object.__setattr__(clone, name, getattr(self, name))
        object.__setattr__(clone, "timestamp", moment)
        return clone

    @property
    def permission_bits(self) -> str:
        """The four permission flags as Handle.Net prints them: admin r/w, public r/w."""
        return _BITS[(self.admin_read, self.admin_write, self.public_read, self.public_write)]

    @property
    def text(self) -> str | None:
        """The data as text when it is valid UTF-8, else ``None``."""
        try:
            return self.data.decode("utf-8")
        except UnicodeDecodeError:
            return None

    @property
    def admin(self) -> AdminRef | None:
        """The admin reference of an HS_ADMIN value."""
        return decode_admin(self.data) if self.type == ADMIN_TYPE else None


_VALUE_FIELDS = tuple(f.name for f in fields(HandleValue))
# The slots' own setters (they do not go through the frozen class's __setattr__), bound once.
(
    _SET_INDEX, _SET_TYPE, _SET_DATA, _SET_TTL, _SET_TTL_TYPE, _SET_TIMESTAMP, _SET_ADMIN_READ,
    _SET_ADMIN_WRITE, _SET_PUBLIC_READ, _SET_PUBLIC_WRITE, _SET_REFERENCES,
) = (vars(HandleValue)[name].__set__ for name in _VALUE_FIELDS)  # fmt: skip
_NEW = object.__new__


def text_value(
    index: int,
    type_: str,
    data: bytes,
    ttl: int,
    timestamp: datetime | None,
    permissions: tuple[bool, bool, bool, bool],
) -> HandleValue:
    """``HandleValue`` with a relative TTL and no references, checked the same way.

    Built slot by slot: the dataclass's generated ``__init__`` (keyword arguments, a frozen
    ``object.__setattr__`` per field) costs twice as much, and a batch reads 8,000 such values.
    """
    value: HandleValue = _NEW(HandleValue)
    _SET_INDEX(value, index)
    _SET_TYPE(value, type_)
    _SET_DATA(value, data)
    _SET_TTL(value, ttl)
    _SET_TTL_TYPE(value, TtlType.RELATIVE)
    _SET_TIMESTAMP(value, timestamp)
    _SET_ADMIN_READ(value, permissions[0])
    _SET_ADMIN_WRITE(value, permissions[1])
    _SET_PUBLIC_READ(value, permissions[2])
    _SET_PUBLIC_WRITE(value, permissions[3])
    _SET_REFERENCES(value, ())
    value.__post_init__()
    return value
