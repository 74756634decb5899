"""Batch registration: up to 2,000 identifiers per call, per-item results, safe to re-send.

A batch is checked item by item in memory first (handle syntax, prefix, permission, template),
then the existing rows of all its keys are read, and the new rows, change-log rows and audit
entries are written with one statement per table (``bulk_rows``: COPY on PostgreSQL, a prepared
executemany on SQLite; no ORM object per item; each record is serialized once and the audit row
embeds that same text), all in the caller's unit of work. An item that already exists
with the same values reports ``exists`` (code 2) instead of failing, so re-sending a batch after
a timeout creates no duplicates. Items that fail a check fail alone; the others are written. A
database error (such as another client registering one of the handles meanwhile) rolls the
whole batch back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from typing import Any, cast

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from taihu.accounts import AuditEntry, Principal, record_audit
from taihu.core import (
    N_,
    Clock,
    InvalidInput,
    Message,
    PermissionDenied,
    SystemClock,
    TaihuError,
    current_request_id,
)
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
from taihu.identifiers.models import HandleChange, HandleRow, Prefix
from taihu.identifiers.records import load_record, stored_columns
from taihu.identifiers.registration.bulk_rows import bound, insert_rows
from taihu.identifiers.registration.callers import status_word
from taihu.identifiers.registration.seckeys import SecretKeyBox
from taihu.identifiers.registration.service import (
    Caller,
    HandleAdmin,
    IdentifierService,
    unique_indexes,
)

__all__ = ["MAX_BATCH", "BatchItem", "BatchService", "ItemCode", "ItemResult"]

MAX_BATCH = 2000

_HANDLES = cast("sa.Table", HandleRow.__table__)
_AUDIT = cast("sa.Table", AuditEntry.__table__)
_CHANGES = cast("sa.Table", HandleChange.__table__)
_KEY_ARRAY = postgresql.ARRAY(sa.String())
_SQLITE_EXISTING = (
    f"SELECT key, id, record FROM {_HANDLES.name} WHERE key IN (SELECT value FROM json_each(?))"  # noqa: S608 - a table name
)
_HANDLE_COLUMNS = (
    "key", "handle", "prefix_id", "record", "wire", "template", "created_at", "updated_at",
)  # fmt: skip
_AUDIT_COLUMNS = (
    "at", "actor_user_id", "actor", "action", "entity_type", "entity_id", "before", "after",
    "request_id",
)  # fmt: skip


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


_SUCCESS = Message(N_("success"))
_NO_SUCH = Message(N_("no such identifier"))
_SAME = Message(N_("exists, same values"))
_OTHER = Message(N_("exists with other values"))
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


def _comparable(values: list[HandleValue]) -> list[tuple[Any, ...]]:
    return sorted(
        (v.index, v.type, v.data, v.ttl, v.ttl_type, v.permission_bits, v.references)
        for v in values
    )


class BatchService:
    """Batch create, update and delete within one unit of work."""

    def __init__(
        self,
        session: AsyncSession,
        clock: Clock | None = None,
        *,
        seckeys: SecretKeyBox | None = None,
    ) -> None:
        self.session = session
        self.clock = clock or SystemClock()
        # With the box, HS_SECKEY values in a batch are sealed like single writes seal them.
        self.identifiers = IdentifierService(session, self.clock, seckeys=seckeys)
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

    async def _existing(self, keys: list[str]) -> dict[str, tuple[int, str]]:
        """``key → (row id, stored record)`` of the keys that exist."""
        if not keys:
            return {}
        if self.session.get_bind().dialect.name == "postgresql":
            # One array parameter: one statement, planned once, whatever the batch's size.
            found = await self.session.execute(
                sa.select(_HANDLES.c.key, _HANDLES.c.id, _HANDLES.c.record).where(
                    _HANDLES.c.key == sa.any_(sa.bindparam("keys", keys, type_=_KEY_ARRAY))
                )
            )
            return {key: (id_, record) for key, id_, record in found}
        # Likewise on SQLite, as the resolver reads a batch of misses: json_each keeps the text
        # the same whatever the number of keys, and SQLite walks the key index in key order.
        # (An expanding IN made SQLAlchemy render and bind every key, 500 per statement.)
        connection = await self.session.connection()
        result = await connection.exec_driver_sql(_SQLITE_EXISTING, (orjson.dumps(keys).decode(),))
        known = cast("Sequence[tuple[str, int, str]]", result.all())
        return {key: (id_, record) for key, id_, record in known}

    def _begin(self, items: list[BatchItem]) -> None:
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

    async def _check(
        self, caller: Caller, item: BatchItem, needed: AdminPermission
    ) -> tuple[Handle, Prefix]:
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

    @staticmethod
    def _failure(handle: str, exc: TaihuError) -> ItemResult:
        code = _ERROR_CODES.get(exc.code, ItemCode.INVALID_VALUE)
        return ItemResult(handle, code, Message(exc.template, **exc.details))

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

    async def _check_all(
        self,
        caller: Caller,
        items: list[BatchItem],
        results: list[ItemResult | None],
        *,
        update: bool,
    ) -> dict[int, tuple[Handle, Prefix, list[HandleValue], str | None]]:
        """The items that pass the checks, by position; ``results`` gets the others' failures."""
        checked: dict[int, tuple[Handle, Prefix, list[HandleValue], str | None]] = {}
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
                results[n] = self._failure(item.handle, exc)
        return checked

    async def write(
        self, caller: Caller, items: list[BatchItem], *, update: bool
    ) -> list[ItemResult]:
        """Create (``update=False``) or replace (``update=True``) identifiers; per-item results."""
        self._begin(items)
        actor = caller.principal if isinstance(caller, HandleAdmin) else caller
        now = self.clock.now()
        results: list[ItemResult | None] = [None] * len(items)
        checked = await self._check_all(caller, items, results, update=update)
        existing = await self._existing([c[0].key for c in checked.values()])
        inserts: list[tuple[Any, ...]] = []
        updates: list[dict[str, Any]] = []
        audits: list[tuple[Any, ...]] = []
        per_prefix: dict[Prefix, int] = {}
        last: Prefix | None = None
        prefix_id = 0
        stamp = bound(self.session, _HANDLES.c.created_at, now)
        audit = self._auditor(now)
        for n, (handle, prefix, values, template) in checked.items():
            found = existing.get(handle.key)
            if found is None and update:
                results[n] = ItemResult(handle.text, ItemCode.NOT_FOUND, _NO_SUCH, handle.key)
                continue
            if found is not None:
                row_id, stored = found
                if _comparable(load_record(stored)) == _comparable(values):
                    results[n] = ItemResult(handle.text, ItemCode.EXISTS_SAME, _SAME, handle.key)
                    continue
                if not update:
                    results[n] = ItemResult(
                        handle.text, ItemCode.EXISTS_DIFFERENT, _OTHER, handle.key,
                    )  # fmt: skip
                    continue
                record, wire = stored_columns(values, at=now)
                updates.append({"row_id": row_id, "record": record, "wire": wire,
                                "updated_at": now, "template": template})  # fmt: skip
                audits.append(audit(actor, "handle.update", handle.key, stored, record))
            else:
                record, wire = stored_columns(values, at=now)
                if prefix is not last:  # a batch's items mostly share one prefix
                    last, prefix_id = prefix, prefix.id  # (an ORM attribute read costs)
                inserts.append(
                    (handle.key, handle.text, prefix_id, record, wire, template, stamp, stamp)
                )
                audits.append(audit(actor, "handle.create", handle.key, None, record))
                per_prefix[prefix] = per_prefix.get(prefix, 0) + 1
            results[n] = ItemResult(handle.text, ItemCode.OK, _SUCCESS, handle.key)
        await self._bulk(inserts, audits, stamp, updates)
        for counted, count in per_prefix.items():
            await self.identifiers.count_registrations(counted.prefix, count)
        return [r for r in results if r is not None]

    async def delete(self, caller: Caller, handles: list[str]) -> list[ItemResult]:
        """Delete identifiers; one already gone reports code 100."""
        self._begin([BatchItem(h) for h in handles])
        actor = caller.principal if isinstance(caller, HandleAdmin) else caller
        now = self.clock.now()
        results: list[ItemResult | None] = [None] * len(handles)
        checked: dict[int, Handle] = {}
        for n, text in enumerate(handles):
            try:
                checked[n] = (
                    await self._check(caller, BatchItem(text), AdminPermission.DELETE_HANDLE)
                )[0]
            except TaihuError as exc:
                results[n] = self._failure(text, exc)
        existing = await self._existing([h.key for h in checked.values()])
        audits = []
        gone = []
        audit = self._auditor(now)
        for n, handle in checked.items():
            found = existing.get(handle.key)
            if found is None:
                results[n] = ItemResult(handle.text, ItemCode.NOT_FOUND, _NO_SUCH, handle.key)
                continue
            audits.append(audit(actor, "handle.delete", handle.key, found[1], None))
            gone.append(found[0])
            results[n] = ItemResult(handle.text, ItemCode.OK, _SUCCESS, handle.key)
        for start in range(0, len(gone), 500):
            await self.session.execute(
                sa.delete(_HANDLES).where(_HANDLES.c.id.in_(gone[start : start + 500]))
            )
        await self._bulk([], audits, bound(self.session, _HANDLES.c.created_at, now))
        return [r for r in results if r is not None]

    async def load(
        self,
        actor: Principal,
        prefix: str,
        records: Sequence[tuple[str, list[HandleValue], str | None, datetime]],
    ) -> int:
        """Bulk-load trusted ``(suffix, values, template, created_at)`` records (demo, migration).

        No per-item checks; one audit entry for the whole load.
        """
        actor.require_role()
        row = await self.identifiers.get_prefix(prefix)
        rows = []
        for suffix, values, template, at in records:
            record, wire = stored_columns(values)
            rows.append({"key": f"{row.prefix}/{suffix}", "handle": f"{row.prefix}/{suffix}",
                         "prefix_id": row.id, "record": record, "wire": wire,
                         "template": template, "created_at": at, "updated_at": at})  # fmt: skip
        for start in range(0, len(rows), 5000):
            await self.session.execute(sa.insert(_HANDLES), rows[start : start + 5000])
        await record_audit(
            self.session, actor, "handle.bulk_load", "prefix", row.prefix,
            after={"count": len(rows)}, at=self.clock.now(),
        )  # fmt: skip
        return len(rows)

    def _auditor(self, now: datetime) -> Callable[..., tuple[Any, ...]]:
        """A maker of audit rows (in ``_AUDIT_COLUMNS`` order) for writes at ``now``."""
        at = bound(self.session, _AUDIT.c.at, now)
        request_id = current_request_id()

        def audit(
            actor: Principal, action: str, key: str, before: str | None, after: str | None
        ) -> tuple[Any, ...]:
            # The stored record text goes into the audit row as it is: the same
            # {"values": [...]} record_audit writes, without parsing and serializing it again
            # (and JSON null for "none", as the ORM stores None in a JSON column).
            return (
                at, actor.user_id, actor.name, action, "handle", key,
                "null" if before is None else f'{{"values":{before}}}',
                "null" if after is None else f'{{"values":{after}}}',
                request_id,
            )  # fmt: skip

        return audit

    async def _bulk(
        self,
        inserts: list[tuple[Any, ...]],
        audits: list[tuple[Any, ...]],
        stamp: object,
        updates: list[dict[str, Any]] | None = None,
    ) -> None:
        # The audit rows are the rows record_audit would add, written in the same unit of work;
        # new rows go in with one COPY (PostgreSQL) or one prepared statement (SQLite) per table.
        if updates:
            await self.session.execute(
                sa.update(_HANDLES)
                .where(_HANDLES.c.id == sa.bindparam("row_id"))
                .values(
                    record=sa.bindparam("record"),
                    wire=sa.bindparam("wire"),
                    updated_at=sa.bindparam("updated_at"),
                    template=sa.bindparam("template"),
                ),
                updates,
            )
        await insert_rows(self.session, _HANDLES, _HANDLE_COLUMNS, inserts)
        await insert_rows(self.session, _AUDIT, _AUDIT_COLUMNS, audits)
        await insert_rows(self.session, _CHANGES, ("key", "at"), [(a[5], stamp) for a in audits])
