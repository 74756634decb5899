"""Batch registration: up to 2,000 identifiers per call, per-item results, safe to re-send.

A batch is checked item by item in memory first (handle syntax, prefix, permission, template:
``batch_checks``), then the existing rows of all its keys are read, and the new rows, change-log
rows and audit entries are written with one statement per table (``bulk_rows``: COPY on
PostgreSQL, a prepared executemany on SQLite; no ORM object per item; each record is serialized
once and the audit row embeds that same text), all in the caller's unit of work. An item that
already exists with the same values reports ``exists`` (code 2) instead of failing, so
re-sending a batch after a timeout creates no duplicates. Items that fail a check fail alone;
the others are written. A database error (such as another client registering one of the handles
meanwhile) rolls the whole batch back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, cast

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from taihu.accounts import AuditEntry, Principal, record_audit
from taihu.core import N_, Clock, Message, SystemClock, TaihuError, current_request_id
from taihu.identifiers.handle import AdminPermission, Handle, HandleValue
from taihu.identifiers.models import HandleChange, HandleRow, Prefix
from taihu.identifiers.records import load_record, stored_columns
from taihu.identifiers.registration.batch_checks import (
    MAX_BATCH,
    BatchChecks,
    BatchItem,
    ItemCode,
    ItemResult,
    failure,
)
from taihu.identifiers.registration.bulk_rows import bound, insert_rows
from taihu.identifiers.registration.seckeys import SecretKeyBox
from taihu.identifiers.registration.service import Caller, HandleAdmin, IdentifierService

__all__ = ["MAX_BATCH", "BatchItem", "BatchService", "ItemCode", "ItemResult"]

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
_SUCCESS = Message(N_("success"))
_NO_SUCH = Message(N_("no such identifier"))
_SAME = Message(N_("exists, same values"))
_OTHER = Message(N_("exists with other values"))


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
        self.checks = BatchChecks(self.identifiers)

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

    async def write(
        self, caller: Caller, items: list[BatchItem], *, update: bool
    ) -> list[ItemResult]:
        """Create (``update=False``) or replace (``update=True``) identifiers; per-item results."""
        self.checks.begin(items)
        actor = caller.principal if isinstance(caller, HandleAdmin) else caller
        now = self.clock.now()
        results: list[ItemResult | None] = [None] * len(items)
        checked = await self.checks.check_all(caller, items, results, update=update)
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
        self.checks.begin([BatchItem(h) for h in handles])
        actor = caller.principal if isinstance(caller, HandleAdmin) else caller
        now = self.clock.now()
        results: list[ItemResult | None] = [None] * len(handles)
        checked: dict[int, Handle] = {}
        for n, text in enumerate(handles):
            try:
                checked[n] = (
                    await self.checks.check(caller, BatchItem(text), AdminPermission.DELETE_HANDLE)
                )[0]
            except TaihuError as exc:
                results[n] = failure(text, exc)
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
