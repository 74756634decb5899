"""The checks of a batch's items: syntax, prefix and rights, values, template, default HS_ADMIN.

Each item is checked in memory; what depends on the prefix only (its state, the caller's
prefix-level rights, a template, the default HS_ADMIN value) is looked up once per batch, so a
batch of 2,000 items under one prefix reads the prefix once. An item that fails a check gets its
``ItemResult`` and fails alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from taihu.core import N_, InvalidInput, Message, PermissionDenied, TaihuError
from taihu.identifiers.handle import (
    ADMIN_PERMISSIONS_ALL,
    ADMIN_TYPE,
    DEFAULT_ADMIN_INDEX,
    SECKEY_INDEX,
    SECKEY_TYPE,
    TEMPLATE_TYPE,
    AdminPermission,
    AdminRef,
    Handle,
    HandleValue,
    HandleValueError,
    TemplateError,
    TemplateSpec,
    encode_admin,
)
from taihu.identifiers.models import Prefix
from taihu.identifiers.registration.callers import status_word
from taihu.identifiers.registration.service import (
    Caller,
    HandleAdmin,
    IdentifierService,
    unique_indexes,
)

__all__ = ["MAX_BATCH", "BatchChecks", "BatchItem", "Checked", "ItemCode", "ItemResult", "failure"]

MAX_BATCH = 2000


class ItemCode(IntEnum):
    """Per-item outcome codes (Handle response codes where one fits)."""

    OK = 1
    EXISTS_SAME = 2
    NOT_FOUND = 100
    EXISTS_DIFFERENT = 101
    INVALID_HANDLE = 102
    INVALID_VALUE = 202
    PREFIX_NOT_SERVED = 301
    FORBIDDEN = 701


@dataclass(frozen=True, slots=True)
class BatchItem:
    """One identifier of a batch: its handle text and values (empty for deletes)."""

    handle: str
    values: list[HandleValue] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ItemResult:
    """What happened to one item."""

    handle: str
    code: ItemCode
    message: Message  # shown in the reader's language (an import report, a form)
    key: str = ""  # the normalized handle, when it parsed

    @property
    def msg(self) -> str:
        """The message in English, as the batch answers' ``msg`` carries it."""
        return self.message.render()

    @property
    def ok(self) -> bool:
        """Whether the item is in the requested state now."""
        return self.code in (ItemCode.OK, ItemCode.EXISTS_SAME)

    def as_json(self) -> dict[str, Any]:
        """``{"handle", "code", "msg"}``."""
        return {"handle": self.handle, "code": int(self.code), "msg": self.msg}


# Value types the checks of an item treat specially (sealed, checked against its template, the
# default admin added when absent).
_SPECIAL_TYPES = frozenset({ADMIN_TYPE, SECKEY_TYPE, TEMPLATE_TYPE})
_ERROR_CODES = {
    "invalid_handle": ItemCode.INVALID_HANDLE,
    "prefix_not_served": ItemCode.PREFIX_NOT_SERVED,
    "handle_not_found": ItemCode.NOT_FOUND,
    "insufficient_permissions": ItemCode.FORBIDDEN,
    "prefix_not_active": ItemCode.FORBIDDEN,
}
# An item that passed: its handle, admitted prefix, values to store, and template version.
Checked = tuple[Handle, Prefix, list[HandleValue], str | None]


def failure(handle: str, exc: TaihuError) -> ItemResult:
    """The result of an item refused with ``exc``."""
    code = _ERROR_CODES.get(exc.code, ItemCode.INVALID_VALUE)
    return ItemResult(handle, code, Message(exc.template, **exc.details))


class BatchChecks:
    """The checks of one batch service's items, with what they look up once per batch."""

    def __init__(self, identifiers: IdentifierService) -> None:
        self.identifiers = identifiers
        self._prefixes: dict[str, Prefix | TaihuError] = {}
        self._templates: dict[tuple[str, str], TemplateSpec | TaihuError] = {}
        self._admins: dict[tuple[str, int], HandleValue] = {}
        self._denied: dict[tuple[str, AdminPermission], PermissionDenied | None] = {}
        # (prefix as the handle names it, right) -> the prefix, active and allowed: the checks
        # below done once per prefix and batch, not once per item.
        self._allowed: dict[tuple[str, AdminPermission], Prefix] = {}

    async def _prefix(self, name: str) -> Prefix:
        cached = self._prefixes.get(name)
        if cached is None:
            try:
                cached = await self.identifiers.get_prefix(name)
            except TaihuError as exc:
                cached = exc
            self._prefixes[name] = cached
        if isinstance(cached, TaihuError):
            raise cached
        return cached

    def begin(self, items: list[BatchItem]) -> None:
        """Refuse an empty or too large batch; forget the last call's caller-bound checks."""
        self._refuse_size(items)
        # Rights and default HS_ADMIN values depend on the caller: kept for one call only.
        self._denied.clear()
        self._allowed.clear()
        self._admins.clear()

    @staticmethod
    def _refuse_size(items: list[BatchItem]) -> None:
        if not items:
            raise InvalidInput(N_("a batch needs at least one item"), code="invalid_value")
        if len(items) > MAX_BATCH:
            raise InvalidInput(
                N_("a batch holds at most {most} items, not {count}"), code="batch_too_big",
                most=MAX_BATCH, count=len(items),
            )  # fmt: skip

    async def check(
        self, caller: Caller, item: BatchItem, needed: AdminPermission
    ) -> tuple[Handle, Prefix]:
        """One item's handle and its prefix, admitted for ``needed``."""
        handle = self._parse(item)
        allowed = self._allowed.get((handle.prefix, needed))
        if allowed is None:
            allowed = await self._admit(caller, handle, needed)
        return handle, allowed

    @staticmethod
    def _parse(item: BatchItem) -> Handle:
        try:
            return Handle(item.handle)
        except HandleValueError as exc:
            raise InvalidInput(exc.message, code="invalid_handle") from exc

    async def _admit(self, caller: Caller, handle: Handle, needed: AdminPermission) -> Prefix:
        """The handle's prefix, active and allowed to the caller (then kept for the batch)."""
        prefix = await self._prefix(handle.prefix)
        if prefix.status != "active":
            raise InvalidInput(
                N_("prefix {prefix} is {status}"), code="prefix_not_active",
                prefix=prefix.prefix, status=status_word(prefix.status),
            )  # fmt: skip
        # Prefix-level rights depend on the prefix only: checked once per prefix and batch.
        if (prefix.prefix, needed) not in self._denied:
            try:
                await self.identifiers.check_admin(caller, prefix, None, needed)
                self._denied[(prefix.prefix, needed)] = None
            except PermissionDenied as exc:
                self._denied[(prefix.prefix, needed)] = exc
        denied = self._denied[(prefix.prefix, needed)]
        if denied is not None:
            raise denied
        self._allowed[(handle.prefix, needed)] = prefix
        return prefix

    def _with_admin(
        self, caller: Caller, prefix: Prefix, values: list[HandleValue], taken: set[int]
    ) -> None:
        """Add the default HS_ADMIN value to ``values`` (holding none; ``taken``: their indexes)."""
        index = DEFAULT_ADMIN_INDEX
        while index in taken:
            index += 1
        # The same HS_ADMIN value for every item of the batch under a prefix: made once.
        admin = self._admins.get((prefix.prefix, index))
        if admin is None:
            owner = (
                AdminRef(caller.handle, caller.index, ADMIN_PERMISSIONS_ALL)
                if isinstance(caller, HandleAdmin)
                else AdminRef(f"{prefix.prefix}/ADMIN", SECKEY_INDEX, ADMIN_PERMISSIONS_ALL)
            )
            admin = HandleValue(index=index, type=ADMIN_TYPE, data=encode_admin(owner))
            self._admins[(prefix.prefix, index)] = admin
        values.append(admin)

    async def _check_template(self, prefix: str, values: list[HandleValue]) -> str:
        """The version of the template the values name (a TEMPLATE value), checked against it."""
        named = next(v for v in values if v.type == TEMPLATE_TYPE)
        version = named.text or ""
        spec = self._templates.get((prefix, version))
        if spec is None:
            try:
                spec = await self.identifiers.template_for(prefix, version)
            except TaihuError as exc:
                spec = exc
            self._templates[(prefix, version)] = spec
        if isinstance(spec, TaihuError):
            raise spec
        try:
            spec.validate(values)
        except TemplateError as exc:
            raise InvalidInput(exc.message, code="template_violation") from exc
        return version

    async def check_all(
        self,
        caller: Caller,
        items: list[BatchItem],
        results: list[ItemResult | None],
        *,
        update: bool,
    ) -> dict[int, Checked]:
        """The items that pass the checks, by position; ``results`` gets the others' failures."""
        checked: dict[int, Checked] = {}
        seen: set[str] = set()
        needed = AdminPermission.MODIFY_VALUE if update else AdminPermission.ADD_HANDLE
        allowed = self._allowed
        for n, item in enumerate(items):
            try:
                # The common item (a prefix already admitted in this batch, plain values) is
                # checked without awaiting anything: a coroutine per item and check adds up
                # over 2,000 items.
                handle = self._parse(item)
                prefix = allowed.get((handle.prefix, needed)) or await self._admit(
                    caller, handle, needed
                )
                if handle.key in seen:
                    raise InvalidInput(
                        N_("the handle appears twice in this batch"), code="duplicate"
                    )
                seen.add(handle.key)
                # One pass over the values for what the checks below need to know of them:
                # unique indexes (as unique_indexes checks), and which special types occur.
                taken: set[int] = set()
                kinds: set[str] = set()
                for value in item.values:
                    if value.index in taken:
                        unique_indexes(item.values)  # raises, with the service's message
                    taken.add(value.index)
                    if value.type in _SPECIAL_TYPES:
                        kinds.add(value.type)
                # Time-stamped when serialized (stored_columns(at=now)), not copied here.
                values = (
                    self.identifiers.sealed(item.values, handle.key)
                    if SECKEY_TYPE in kinds
                    else list(item.values)
                )
                if not values:
                    raise InvalidInput(
                        N_("an identifier needs at least one value"), code="no_values"
                    )
                template = (
                    await self._check_template(prefix.prefix, values)
                    if TEMPLATE_TYPE in kinds
                    else None
                )
                if ADMIN_TYPE not in kinds:
                    self._with_admin(caller, prefix, values, taken)
                checked[n] = (handle, prefix, values, template)
            except TaihuError as exc:
                results[n] = failure(item.handle, exc)
        return checked
