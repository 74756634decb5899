"""Prefixes and handles: creation and Handle-semantics writes, with audit (the write half).

Reads and the rules of who may write live in ``reads.py`` (``HandleReader``); this class adds
the writes. Every write records an audit entry (before/after values) and a change-log row, in
the same unit of work; the change log is how other worker processes learn to drop their copy.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date, datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from taihu.accounts import Principal, Role, record_audit
from taihu.core import (
    N_,
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    Runtime,
    hash_password,
)
from taihu.identifiers.handle import (
    ADMIN_PERMISSIONS_ALL,
    ADMIN_TYPE,
    DEFAULT_ADMIN_INDEX,
    SECKEY_INDEX,
    SECKEY_TYPE,
    AdminPermission,
    AdminRef,
    Handle,
    HandleValue,
    encode_admin,
)
from taihu.identifiers.models import HandleChange, HandleRow, Prefix, StatsDaily
from taihu.identifiers.records import dump_record, load_record, stored_columns
from taihu.identifiers.registration.callers import (
    Caller,
    HandleAdmin,
    WriteResult,
    admin_handle,
    parse_handle,
    parse_prefix,
    status_word,
    unique_indexes,
)
from taihu.identifiers.registration.reads import HandleReader
from taihu.identifiers.registration.seckeys import (
    is_hashed,
    is_sealed,
    seckeys_for,
)
from taihu.identifiers.resolution import REGISTRATIONS

__all__ = [
    "Caller",
    "HandleAdmin",
    "IdentifierService",
    "WriteResult",
    "identifier_service",
    "parse_handle",
    "parse_prefix",
    "unique_indexes",
]


def _values_json(values: list[HandleValue]) -> list[dict[str, Any]]:
    loaded: list[dict[str, Any]] = orjson.loads(dump_record(values))
    return loaded


class IdentifierService(HandleReader):
    """Prefixes and handles within one unit of work: reads (``HandleReader``) and writes."""

    # -- prefixes ------------------------------------------------------------------------------

    async def create_prefix(
        self,
        actor: Principal,
        prefix: str,
        *,
        enterprise_id: int | None = None,
        admin_password: str | None = None,
    ) -> Prefix:
        """Create an active prefix and, given a password, its admin handle ``PREFIX/ADMIN``."""
        actor.require_role(Role.BUREAU, Role.AUDITOR)
        prefix = parse_prefix(prefix)
        if await self.session.scalar(sa.select(Prefix.id).where(Prefix.prefix == prefix)):
            raise Conflict(
                N_("prefix {prefix} exists already"), code="prefix_exists", prefix=prefix
            )
        if admin_password is not None and len(admin_password) < 8:
            raise InvalidInput(
                N_("the admin password needs at least 8 characters"), code="weak_key"
            )
        parent = await self._parent_of(prefix)
        now = self.clock.now()
        row = Prefix(
            prefix=prefix,
            parent_id=parent.id if parent else None,
            kind="enterprise" if enterprise_id is not None else "node",
            enterprise_id=enterprise_id,
            status="active",
            created_at=now,
        )
        self.session.add(row)
        await self.session.flush()
        await record_audit(
            self.session, actor, "prefix.create", "prefix", prefix,
            after={"kind": row.kind, "enterprise_id": enterprise_id,
                   "parent": parent.prefix if parent else None},
            at=now,
        )  # fmt: skip
        if admin_password is not None:
            await self._createadmin_handle(actor, row, admin_password)
        return row

    async def _createadmin_handle(self, actor: Principal, prefix: Prefix, password: str) -> None:
        handle = admin_handle(prefix.prefix)
        now = self.clock.now()
        values = [
            HandleValue(
                index=DEFAULT_ADMIN_INDEX,
                type=ADMIN_TYPE,
                data=encode_admin(AdminRef(handle, SECKEY_INDEX, ADMIN_PERMISSIONS_ALL)),
                timestamp=now,
                public_write=False,
            ),
            # Never stored in clear: sealed with the platform key (see seckeys.py).
            HandleValue(
                index=SECKEY_INDEX,
                type=SECKEY_TYPE,
                data=self._stored_secret(password, Handle(handle).key, SECKEY_INDEX),
                timestamp=now,
                public_read=False,
            ),
        ]
        await self._insert(actor, prefix, Handle(handle), values, template=None)

    def _stored_secret(self, secret: str, handle_key: str, index: int) -> bytes:
        if self.seckeys is None:
            return hash_password(secret).encode("ascii")
        return self.seckeys.seal(secret.encode("utf-8"), handle_key=handle_key, index=index)

    async def reset_admin_key(self, actor: Principal, prefix: str, password: str) -> None:
        """Set the secret key of ``PREFIX/ADMIN`` (index 300), sealed; creates it if missing."""
        actor.require_role(Role.BUREAU, Role.AUDITOR)
        if len(password) < 8:
            raise InvalidInput(
                N_("the admin password needs at least 8 characters"), code="weak_key"
            )
        row = await self.get_prefix(parse_prefix(prefix))
        handle = Handle(admin_handle(row.prefix))
        if await self.get_row(handle) is None:
            await self._createadmin_handle(actor, row, password)
            return
        value = HandleValue(
            index=SECKEY_INDEX,
            type=SECKEY_TYPE,
            data=password.encode("utf-8"),  # sealed by put(), like any HS_SECKEY written
            public_read=False,
        )
        await self.put(actor, handle, [value], indexes=[SECKEY_INDEX])

    async def set_prefix_status(self, actor: Principal, prefix: str, status: str) -> Prefix:
        """Suspend, reactivate or revoke a prefix (admin, bureau and auditors)."""
        actor.require_role(Role.BUREAU, Role.AUDITOR)
        if status not in {"active", "suspended", "revoked"}:
            raise InvalidInput(
                N_("unknown prefix status {status}"), code="bad_status", status=repr(status)
            )
        row = await self.session.scalar(
            sa.select(Prefix).where(Prefix.prefix == parse_prefix(prefix))
        )
        if row is None:
            raise NotFound(N_("no prefix {prefix}"), code="prefix_not_found", prefix=prefix)
        before = row.status
        row.status = status
        await record_audit(
            self.session, actor, f"prefix.{status}", "prefix", row.prefix,
            before={"status": before}, after={"status": status}, at=self.clock.now(),
        )  # fmt: skip
        return row

    async def home_prefix(self, caller: Caller, prefix: str, *, homed: bool) -> Prefix:
        """HOME_NA / UNHOME_NA: serve a prefix here (created under its parent if new) or stop.

        Allowed to whoever may add (remove) naming authorities under the nearest parent prefix
        served here, e.g. ``300:88.118/ADMIN`` for ``88.118.9``; unhoming revokes the prefix.
        """
        prefix = parse_prefix(prefix)
        row = await self.session.scalar(sa.select(Prefix).where(Prefix.prefix == prefix))
        parent = await self._parent_of(prefix)
        scope = parent or row
        if scope is None:
            raise NotFound(N_("That prefix doesn't live here"), code="prefix_not_served")
        needed = AdminPermission.ADD_NAMING_AUTH if homed else AdminPermission.DELETE_NAMING_AUTH
        await self.check_admin(caller, scope, None, needed)
        actor = caller.principal if isinstance(caller, HandleAdmin) else caller
        now = self.clock.now()
        before = row.status if row is not None else None
        if row is None:
            if not homed:
                raise NotFound(
                    N_("prefix {prefix} is not homed here"), code="handle_not_found", prefix=prefix
                )
            row = Prefix(prefix=prefix, parent_id=scope.id, kind="node", status="active",
                         created_at=now)  # fmt: skip
            self.session.add(row)
            await self.session.flush()
        else:
            row.status = "active" if homed else "revoked"
        await record_audit(
            self.session, actor, "prefix.home" if homed else "prefix.unhome", "prefix", prefix,
            before={"status": before}, after={"status": row.status}, at=now,
        )  # fmt: skip
        return row

    # -- writes --------------------------------------------------------------------------------

    async def _writable_prefix(self, handle: Handle) -> Prefix:
        prefix = await self.get_prefix(handle.prefix)
        if prefix.status != "active":
            raise PermissionDenied(
                N_("prefix {prefix} is {status}; writes are refused"),
                code="prefix_not_active",
                prefix=prefix.prefix,
                status=status_word(prefix.status),
            )
        return prefix

    def stamped(
        self, values: list[HandleValue], now: datetime, handle_key: str | None = None
    ) -> list[HandleValue]:
        """The values time-stamped ``now`` (HS_SECKEY sealed for ``handle_key``).

        ``InvalidInput`` when an index appears twice.
        """
        unique_indexes(values)
        stamped = [v.at(now) for v in values]
        if handle_key is None:
            return stamped
        return self.sealed(stamped, handle_key)

    def sealed(self, values: list[HandleValue], handle_key: str) -> list[HandleValue]:
        """The values with every HS_SECKEY written in clear sealed for ``handle_key``."""
        if all(v.type != SECKEY_TYPE for v in values):  # nearly every identifier of a batch
            return list(values)
        return [self._sealed(v, handle_key) for v in values]

    def _sealed(self, value: HandleValue, handle_key: str) -> HandleValue:
        """An HS_SECKEY value written in clear, stored sealed (hashed without a box), private."""
        if value.type != SECKEY_TYPE or is_sealed(value.data) or is_hashed(value.data):
            return value
        try:
            secret = value.data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidInput(
                N_("an HS_SECKEY secret must be UTF-8 text"), code="invalid_value"
            ) from exc
        data = self._stored_secret(secret, handle_key, value.index)
        return replace(value, data=data, public_read=False)

    def _default_admin(self, caller: Caller, prefix: Prefix, values: list[HandleValue]) -> None:
        if any(v.type == ADMIN_TYPE for v in values):
            return
        taken = {v.index for v in values}
        index = DEFAULT_ADMIN_INDEX
        while index in taken:
            index += 1
        owner = (
            AdminRef(caller.handle, caller.index, ADMIN_PERMISSIONS_ALL)
            if isinstance(caller, HandleAdmin)
            else AdminRef(admin_handle(prefix.prefix), SECKEY_INDEX, ADMIN_PERMISSIONS_ALL)
        )
        values.append(HandleValue(index=index, type=ADMIN_TYPE, data=encode_admin(owner)))

    async def _insert(
        self,
        actor: Principal,
        prefix: Prefix,
        handle: Handle,
        values: list[HandleValue],
        *,
        template: str | None,
    ) -> HandleRow:
        now = self.clock.now()
        record, wire = stored_columns(values)
        row = HandleRow(
            key=handle.key,
            handle=handle.text,
            prefix_id=prefix.id,
            record=record,
            wire=wire,
            template=template,
            created_at=now,
            updated_at=now,
        )
        self.session.add(row)
        self.session.add(HandleChange(key=handle.key, at=now))
        await self.session.flush()
        await record_audit(
            self.session, actor, "handle.create", "handle", handle.key,
            after={"values": _values_json(values)}, at=now,
        )  # fmt: skip
        await self.count_registrations(prefix.prefix, 1)
        return row

    async def count_registrations(self, prefix: str, count: int) -> None:
        """Add to today's registration counter of a prefix (and to the Prometheus counter)."""
        await self._bump(prefix, registrations=count, resolutions=0)
        REGISTRATIONS.inc(count)

    async def count_resolutions(self, counts: dict[tuple[str, str], int]) -> None:
        """Add resolution counts keyed by (ISO day, prefix)."""
        for (day, prefix), count in counts.items():
            await self._bump(prefix, registrations=0, resolutions=count, day=day)

    async def add_stats(
        self, day: date, prefix: str, *, registrations: int = 0, resolutions: int = 0
    ) -> None:
        """Add to a day's counters of a prefix (history imports, demo data)."""
        await self._bump(prefix, registrations=registrations, resolutions=resolutions,
                         day=day.isoformat())  # fmt: skip

    async def _bump(
        self, prefix: str, *, registrations: int, resolutions: int, day: str | None = None
    ) -> None:
        when = datetime.fromisoformat(day).date() if day else self.clock.now().date()
        dialect = self.session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        stmt = insert(StatsDaily).values(
            day=when, prefix=prefix, registrations=registrations, resolutions=resolutions
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[StatsDaily.day, StatsDaily.prefix],
            set_={
                "registrations": StatsDaily.registrations + registrations,
                "resolutions": StatsDaily.resolutions + resolutions,
            },
        )
        await self.session.execute(stmt)

    async def put(
        self,
        caller: Caller,
        handle: Handle,
        values: list[HandleValue],
        *,
        overwrite: bool = False,
        indexes: list[int] | None = None,
        template: str | None = None,
    ) -> WriteResult:
        """Create a handle, replace it (``overwrite``) or add/replace only the given ``indexes``."""
        prefix = await self._writable_prefix(handle)
        now = self.clock.now()
        values = self.stamped(values, now, handle.key)
        row = await self.get_row(handle)
        if not indexes:
            template = await self.check_template(prefix.prefix, values) or template
        actor = caller.principal if isinstance(caller, HandleAdmin) else caller
        if row is None:
            if indexes:
                raise NotFound(
                    N_("handle {handle} not found"), code="handle_not_found", handle=str(handle)
                )
            creators = await self._record_admins(handle)
            await self.check_admin(caller, prefix, creators, AdminPermission.ADD_HANDLE)
            if not values:
                raise InvalidInput(
                    N_("a new handle needs at least one value"), code="invalid_value"
                )
            self._default_admin(caller, prefix, values)
            await self._insert(actor, prefix, handle, values, template=template)
            return WriteResult(handle.text, created=True, values=values)
        before = load_record(row.record)
        if indexes:
            await self.check_admin(caller, prefix, before, AdminPermission.MODIFY_VALUE)
            wanted = set(indexes)
            stray = sorted({v.index for v in values} - wanted)
            if stray:
                raise InvalidInput(
                    N_("the body holds index {index}, which the index= parameters do not name"),
                    code="invalid_value",
                    index=stray[0],
                )
            after = [v for v in before if v.index not in wanted] + values
            template = await self.check_template(prefix.prefix, after) or template
        else:
            if not overwrite:
                raise Conflict(
                    N_("handle {handle} exists already"), code="handle_exists", handle=str(handle)
                )
            await self.check_admin(caller, prefix, before, AdminPermission.MODIFY_VALUE)
            after = values
            self._default_admin(caller, prefix, after)
        after.sort(key=lambda v: v.index)
        row.record, row.wire = stored_columns(after)
        row.updated_at = now
        if template is not None:
            row.template = template
        self.session.add(HandleChange(key=handle.key, at=now))
        await record_audit(
            self.session, actor, "handle.update", "handle", handle.key,
            before={"values": _values_json(before)}, after={"values": _values_json(after)}, at=now,
        )  # fmt: skip
        return WriteResult(row.handle, created=False, values=after)

    async def _record_admins(self, handle: Handle) -> list[HandleValue] | None:
        """For a prefix record ``0.NA/X.Y``, the values of the nearest parent record ``0.NA/X``.

        Its HS_ADMIN may create records of derived prefixes, as at the Global Handle Registry:
        the node filing as ``300:0.NA/88.118`` files ``0.NA/88.118.8`` (see hierarchy.py).
        """
        if handle.prefix != "0.NA":
            return None
        parts = handle.suffix.split(".")
        keys = [Handle(f"0.NA/{'.'.join(parts[:n])}").key for n in range(len(parts) - 1, 0, -1)]
        rows = list(await self.session.scalars(sa.select(HandleRow).where(HandleRow.key.in_(keys))))
        if not rows:
            return None
        return load_record(max(rows, key=lambda row: len(row.key)).record)

    async def mint(self, caller: Caller, prefix: str, values: list[HandleValue]) -> WriteResult:
        """Create a handle with a new random suffix under a prefix (``mintNewSuffix``)."""
        handle = parse_handle(f"{parse_prefix(prefix)}/{uuid.uuid4()}")
        return await self.put(caller, handle, values)

    async def delete(
        self, caller: Caller, handle: Handle, indexes: list[int] | None = None
    ) -> None:
        """Delete a handle, or only the values at ``indexes``."""
        prefix = await self._writable_prefix(handle)
        row = await self.get_row(handle)
        if row is None:
            raise NotFound(
                N_("handle {handle} not found"), code="handle_not_found", handle=str(handle)
            )
        before = load_record(row.record)
        actor = caller.principal if isinstance(caller, HandleAdmin) else caller
        now = self.clock.now()
        if indexes:
            await self.check_admin(caller, prefix, before, AdminPermission.DELETE_VALUE)
            missing = sorted(set(indexes) - {v.index for v in before})
            if missing:
                raise NotFound(
                    N_("handle {handle} has no value at index {index}"),
                    code="values_not_found",
                    handle=str(handle),
                    index=missing[0],
                )
            after = [v for v in before if v.index not in set(indexes)]
            row.record, row.wire = stored_columns(after)
            row.updated_at = now
            action, after_audit = "handle.remove_values", {"values": _values_json(after)}
        else:
            await self.check_admin(caller, prefix, before, AdminPermission.DELETE_HANDLE)
            await self.session.delete(row)
            action, after_audit = "handle.delete", None
        self.session.add(HandleChange(key=handle.key, at=now))
        await record_audit(
            self.session, actor, action, "handle", handle.key,
            before={"values": _values_json(before)}, after=after_audit, at=now,
        )  # fmt: skip


def identifier_service(session: AsyncSession, runtime: Runtime) -> IdentifierService:
    """The service for a request or a server: the runtime's clock, HS_SECKEY sealed with its key."""
    return IdentifierService(session, runtime.clock, seckeys=seckeys_for(runtime.settings))
