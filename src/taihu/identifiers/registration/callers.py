"""Who writes and what names they write: Handle admin identities, handle and prefix parsing."""

from __future__ import annotations

from dataclasses import dataclass

from taihu.accounts import Principal, Role
from taihu.core import N_, InvalidInput, Message
from taihu.identifiers.handle import (
    AdminPermission,
    Handle,
    HandleValue,
    HandleValueError,
    normalize_prefix,
)

__all__ = [
    "Caller",
    "HandleAdmin",
    "WriteResult",
    "admin_handle",
    "grants",
    "parse_handle",
    "parse_prefix",
    "status_word",
    "unique_indexes",
]

# The statuses of prefixes and prefix applications, as a sentence names them.
_STATUS_WORDS = {
    "active": N_("active"), "suspended": N_("suspended"), "revoked": N_("revoked"),
    "pending": N_("pending"), "approved": N_("approved"), "rejected": N_("rejected"),
}  # fmt: skip
_PREFIX_CHARS = frozenset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-_")


@dataclass(frozen=True, slots=True)
class HandleAdmin:
    """A Handle admin identity ``INDEX:HANDLE`` that proved its HS_SECKEY."""

    index: int
    handle: str

    def __str__(self) -> str:
        return f"{self.index}:{self.handle}"

    @property
    def principal(self) -> Principal:
        """How the audit log names this admin."""
        return Principal(name=str(self), role=Role.ENTERPRISE)


Caller = Principal | HandleAdmin


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What a write did."""

    handle: str
    created: bool
    values: list[HandleValue]


def parse_handle(text: str) -> Handle:
    """A ``Handle`` or ``InvalidInput`` with code ``invalid_handle`` (Handle response code 102)."""
    try:
        return Handle(text)
    except HandleValueError as exc:
        raise InvalidInput(exc.message, code="invalid_handle") from exc


def parse_prefix(text: str) -> str:
    """A normalized prefix such as ``88.118.8``, or ``InvalidInput``."""
    prefix = normalize_prefix(text.strip())
    if not prefix or set(prefix) - _PREFIX_CHARS or prefix.startswith(".") or ".." in prefix:
        raise InvalidInput(
            N_("{text} is not a prefix (digits, letters, '.', '-', '_'; e.g. 88.118.8)"),
            code="invalid_prefix",
            text=repr(text),
        )
    if prefix.startswith("0.NA") or prefix == "0":
        raise InvalidInput(N_("0.NA prefixes belong to the global registry"), code="invalid_prefix")
    return prefix


def status_word(status: str) -> Message:
    """A prefix's or an application's status as a word in the reader's language."""
    return Message(_STATUS_WORDS.get(status, status))


def unique_indexes(values: list[HandleValue]) -> None:
    """``InvalidInput`` when an index appears twice among the values of one handle."""
    seen: set[int] = set()
    for value in values:
        if value.index in seen:
            raise InvalidInput(
                N_("index {index} appears twice; each value needs its own index"),
                code="invalid_value",
                index=value.index,
            )
        seen.add(value.index)


def grants(caller: HandleAdmin, values: list[HandleValue] | None, needed: AdminPermission) -> bool:
    """Whether an HS_ADMIN value among ``values`` names the caller with the ``needed`` right."""
    for value in values or []:
        ref = value.admin
        if (
            ref is not None
            and ref.index == caller.index
            and ref.handle == caller.handle
            and needed in ref.permissions
        ):
            return True
    return False


def admin_handle(prefix: str) -> str:
    """The admin handle of a prefix, ``PREFIX/ADMIN``."""
    return f"{prefix}/ADMIN"
