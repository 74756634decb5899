"""Prefixes and handles: creation, Handle-semantics writes, authorization and audit.

Who may write under a prefix:

- a platform ``admin``, or an ``enterprise`` user who is a member of the prefix's owner;
- a Handle admin authenticated with the HS_SECKEY of ``PREFIX/ADMIN`` (index 300) for that prefix
  or one of its ancestors (a node admin administers its enterprise prefixes);
- a Handle admin that an HS_ADMIN value of the handle names, with the needed permission bit.

Every write records an audit entry (before/after values) and a change-log row, in the same unit
of work; the change log is how other worker processes learn to drop their cached copy.
"""

from __future__ import annotations

import fnmatch
import uuid
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from taihu.accounts import Principal, Role, record_audit
from taihu.core import (
    Clock,
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    Runtime,
    SystemClock,
    hash_password,
)
from taihu.identifiers.handle.templates import TEMPLATE_TYPE, TemplateError, TemplateSpec
from taihu.identifiers.handle.values import (
    ADMIN_PERMISSIONS_ALL,
    ADMIN_TYPE,
    DEFAULT_ADMIN_INDEX,
    SECKEY_INDEX,
    SECKEY_TYPE,
    AdminPermission,
    AdminRef,
    Handle,
    HandleValue,
    HandleValueError,
    encode_admin,
    normalize_prefix,
)
from taihu.identifiers.models import HandleChange, HandleRow, Prefix, StatsDaily, Template
from taihu.identifiers.records.stored import dump_record, load_record
from taihu.identifiers.records.wire_values import stored_columns
from taihu.identifiers.registration.admins import in_admin_group
from taihu.identifiers.registration.seckeys import (
    SecretKeyBox,
    is_hashed,
    is_sealed,
    seckeys_for,
)
from taihu.identifiers.resolution.resolver import REGISTRATIONS

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
        raise InvalidInput(str(exc), code="invalid_handle") from exc


def parse_prefix(text: str) -> str:
    """A normalized prefix such as ``88.118.8``, or ``InvalidInput``."""
    prefix = normalize_prefix(text.strip())
    if not prefix or set(prefix) - _PREFIX_CHARS or prefix.startswith(".") or ".." in prefix:
        raise InvalidInput(
            f"{text!r} is not a prefix (digits, letters, '.', '-', '_'; e.g. 88.118.8)",
            code="invalid_prefix",
        )
    if prefix.startswith("0.NA") or prefix == "0":
        raise InvalidInput("0.NA prefixes belong to the global registry", code="invalid_prefix")
    return prefix


def unique_indexes(values: list[HandleValue]) -> None:
    """``InvalidInput`` when an index appears twice among the values of one handle."""
    seen: set[int] = set()
    for value in values:
        if value.index in seen:
            raise InvalidInput(
                f"index {value.index} appears twice; each value needs its own index",
                code="invalid_value",
            )
        seen.add(value.index)


def _values_json(values: list[HandleValue]) -> list[dict[str, Any]]:
    loaded: list[dict[str, Any]] = orjson.loads(dump_record(values))
    return loaded


def _matches(pattern: str, text: str | None) -> bool:
    """Whether a value matches a reverse-lookup term (``*`` wildcard, case-insensitive)."""
    return text is not None and fnmatch.fnmatchcase(text.lower(), pattern.lower())


def _grants(caller: HandleAdmin, values: list[HandleValue] | None, needed: AdminPermission) -> bool:
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


def _admin_handle(prefix: str) -> str:
    return f"{prefix}/ADMIN"


class IdentifierService:
    """Prefixes and handles within one unit of work."""

    def __init__(
        self,
        session: AsyncSession,
        clock: Clock | None = None,
        *,
        seckeys: SecretKeyBox | None = None,
    ) -> None:
        self.session = session
        self.clock = clock or SystemClock()
        # Without a box (tests, legacy callers) new admin keys are stored as Argon2 hashes,
        # which verify over REST but cannot answer a Handle wire challenge.
        self.seckeys = seckeys

    # -- prefixes ------------------------------------------------------------------------------

    async def get_prefix(self, prefix: str) -> Prefix:
        """A prefix this node serves; ``NotFound`` with code ``prefix_not_served`` otherwise."""
        row = await self.session.scalar(sa.select(Prefix).where(Prefix.prefix == prefix))
        if row is None or row.status == "revoked":
            raise NotFound("That prefix doesn't live here", code="prefix_not_served")
        return row

    async def _parent_of(self, prefix: str) -> Prefix | None:
        parts = prefix.split(".")
        candidates = [".".join(parts[:n]) for n in range(len(parts) - 1, 0, -1)]
        if not candidates:
            return None
        rows = await self.session.scalars(sa.select(Prefix).where(Prefix.prefix.in_(candidates)))
        found = sorted(rows, key=lambda p: len(p.prefix), reverse=True)
        return found[0] if found else None

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
            raise Conflict(f"prefix {prefix} exists already", code="prefix_exists")
        if admin_password is not None and len(admin_password) < 8:
            raise InvalidInput("the admin password needs at least 8 characters", code="weak_key")
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
            await self._create_admin_handle(actor, row, admin_password)
        return row

    async def _create_admin_handle(self, actor: Principal, prefix: Prefix, password: str) -> None:
        handle = _admin_handle(prefix.prefix)
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
            raise InvalidInput("the admin password needs at least 8 characters", code="weak_key")
        row = await self.get_prefix(parse_prefix(prefix))
        handle = Handle(_admin_handle(row.prefix))
        if await self.get_row(handle) is None:
            await self._create_admin_handle(actor, row, password)
            return
        value = HandleValue(
            index=SECKEY_INDEX,
            type=SECKEY_TYPE,
            data=password.encode("utf-8"),  # sealed by put(), like any HS_SECKEY written
            public_read=False,
        )
        await self.put(actor, handle, [value], indexes=[SECKEY_INDEX])

    async def secret_key_of(self, handle: Handle, index: int) -> bytes | None:
        """The clear secret of an HS_SECKEY value, for challenge-response; ``None`` if unusable.

        ``None`` when the value is absent, is a legacy Argon2 hash, or no box is configured.
        """
        row = await self.get_row(handle)
        if row is None or self.seckeys is None:
            return None
        stored = next(
            (v for v in load_record(row.record) if v.index == index and v.type == SECKEY_TYPE),
            None,
        )
        if stored is None:
            return None
        return self.seckeys.open(stored.data, handle_key=handle.key, index=index)

    async def set_prefix_status(self, actor: Principal, prefix: str, status: str) -> Prefix:
        """Suspend, reactivate or revoke a prefix (admin, bureau and auditors)."""
        actor.require_role(Role.BUREAU, Role.AUDITOR)
        if status not in {"active", "suspended", "revoked"}:
            raise InvalidInput(f"unknown prefix status {status!r}", code="bad_status")
        row = await self.session.scalar(
            sa.select(Prefix).where(Prefix.prefix == parse_prefix(prefix))
        )
        if row is None:
            raise NotFound(f"no prefix {prefix}", code="prefix_not_found")
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
            raise NotFound("That prefix doesn't live here", code="prefix_not_served")
        needed = AdminPermission.ADD_NAMING_AUTH if homed else AdminPermission.DELETE_NAMING_AUTH
        await self.check_admin(caller, scope, None, needed)
        actor = caller.principal if isinstance(caller, HandleAdmin) else caller
        now = self.clock.now()
        before = row.status if row is not None else None
        if row is None:
            if not homed:
                raise NotFound(f"prefix {prefix} is not homed here", code="handle_not_found")
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

    async def homed_prefixes(self) -> list[str]:
        """The prefixes served here (not revoked), sorted."""
        rows = await self.session.scalars(
            sa.select(Prefix.prefix).where(Prefix.status != "revoked").order_by(Prefix.prefix)
        )
        return list(rows)

    async def daily_stats(
        self, since: date, *, prefixes: list[str] | None = None
    ) -> dict[date, tuple[int, int]]:
        """Registrations and resolutions per day since a day (of some prefixes, or all)."""
        query = (
            sa.select(StatsDaily.day, sa.func.sum(StatsDaily.registrations),
                      sa.func.sum(StatsDaily.resolutions))
            .where(StatsDaily.day >= since).group_by(StatsDaily.day)
        )  # fmt: skip
        if prefixes is not None:
            query = query.where(StatsDaily.prefix.in_(prefixes))
        rows = await self.session.execute(query)
        return {day: (int(r or 0), int(q or 0)) for day, r, q in rows}

    async def count_handles(self, prefixes: list[str] | None = None) -> int:
        """How many identifiers are registered (under some prefixes, or all)."""
        query = sa.select(sa.func.count()).select_from(HandleRow)
        if prefixes is not None:
            query = query.join(Prefix, Prefix.id == HandleRow.prefix_id).where(
                Prefix.prefix.in_(prefixes)
            )
        return int(await self.session.scalar(query) or 0)

    async def list_prefixes(self, actor: Principal) -> list[Prefix]:
        """Prefixes the principal may see, by prefix."""
        query = sa.select(Prefix).order_by(Prefix.prefix)
        if not actor.sees_all_enterprises:
            query = query.where(Prefix.enterprise_id.in_(sorted(actor.enterprise_ids)))
        return list(await self.session.scalars(query))

    # -- authentication and authorization ------------------------------------------------------

    def authorize(
        self,
        caller: Caller,
        prefix: Prefix,
        values: list[HandleValue] | None,
        needed: AdminPermission,
    ) -> None:
        """Raise ``PermissionDenied`` unless the caller may do ``needed`` under the prefix."""
        if isinstance(caller, Principal):
            if caller.is_admin or (
                caller.role is Role.ENTERPRISE
                and prefix.enterprise_id is not None
                and prefix.enterprise_id in caller.enterprise_ids
            ):
                return
            raise PermissionDenied(
                f"{caller.name} may not write under prefix {prefix.prefix}",
                code="insufficient_permissions",
            )
        admin_prefix, _, local = caller.handle.partition("/")
        if local == "ADMIN" and (
            prefix.prefix == admin_prefix or prefix.prefix.startswith(admin_prefix + ".")
        ):
            return
        if _grants(caller, values, needed):
            return
        raise PermissionDenied(
            f"{caller} is not an admin of this handle under {prefix.prefix}",
            code="insufficient_permissions",
        )

    async def check_admin(
        self,
        caller: Caller,
        prefix: Prefix,
        values: list[HandleValue] | None,
        needed: AdminPermission,
    ) -> None:
        """``authorize``, also granting admin groups (HS_VLIST) and prefix admin handles' admins."""
        # For prefix-level rights (values is None) the HS_ADMIN values of the prefix admin handles
        # count, as those of the prefix handle 0.NA/PREFIX do in the Handle System.
        try:
            self.authorize(caller, prefix, values, needed)
        except PermissionDenied:
            if not isinstance(caller, HandleAdmin):
                raise
            if values is None:
                values = await self._prefix_admin_values(prefix.prefix)
                if _grants(caller, values, needed):
                    return
            refs = [v.admin for v in values if v.admin is not None]
            if not await in_admin_group(self.session, (caller.index, caller.handle), refs, needed):
                raise

    async def _prefix_admin_values(self, prefix: str) -> list[HandleValue]:
        parts = prefix.split(".")
        keys = [_admin_handle(".".join(parts[:n])) for n in range(len(parts), 0, -1)]
        records = await self.session.scalars(
            sa.select(HandleRow.record).where(HandleRow.key.in_(keys))
        )
        return [value for record in records for value in load_record(record)]

    # -- reads ---------------------------------------------------------------------------------

    async def get_row(self, handle: Handle) -> HandleRow | None:
        """The stored row of a handle."""
        return await self.session.scalar(sa.select(HandleRow).where(HandleRow.key == handle.key))

    async def values(self, handle: Handle) -> list[HandleValue]:
        """Every value of a handle (no permission filtering); ``NotFound`` when absent."""
        await self.get_prefix(handle.prefix)
        row = await self.get_row(handle)
        if row is None:
            raise NotFound(f"handle {handle} not found", code="handle_not_found")
        return load_record(row.record)

    async def is_admin_of(self, caller: Caller, handle: Handle) -> bool:
        """Whether the caller may read non-public values of the handle."""
        prefix = await self.get_prefix(handle.prefix)
        row = await self.get_row(handle)
        values = load_record(row.record) if row else []
        try:
            await self.check_admin(caller, prefix, values, AdminPermission.AUTHORIZED_READ)
        except PermissionDenied:
            return False
        return True

    async def list_handles(
        self, caller: Caller, prefix: str, *, limit: int, offset: int
    ) -> tuple[list[str], int]:
        """The handles under a prefix (admins of the prefix only), ordered, and their count."""
        row = await self.get_prefix(parse_prefix(prefix))
        await self.check_admin(caller, row, None, AdminPermission.LIST_HANDLE)
        where = HandleRow.prefix_id == row.id
        total = await self.session.scalar(sa.select(sa.func.count()).where(where))
        handles = await self.session.scalars(
            sa.select(HandleRow.handle).where(where).order_by(HandleRow.key)
            .limit(limit).offset(offset)
        )  # fmt: skip
        return list(handles), int(total or 0)

    async def prefixes_of(self, caller: Caller) -> list[Prefix]:
        """The prefixes a caller administers (may list and search)."""
        rows = await self.session.scalars(
            sa.select(Prefix).where(Prefix.status != "revoked").order_by(Prefix.prefix)
        )
        mine = []
        for row in rows:
            try:
                await self.check_admin(caller, row, None, AdminPermission.LIST_HANDLE)
            except PermissionDenied:
                continue
            mine.append(row)
        return mine

    async def search(
        self, caller: Caller, prefix: str, terms: dict[str, str], *, limit: int = 1000
    ) -> list[str]:
        """Reverse lookup under a prefix: handles whose values match every ``TYPE=pattern``."""
        row = await self.get_prefix(parse_prefix(prefix))
        await self.check_admin(caller, row, None, AdminPermission.LIST_HANDLE)
        conditions = [HandleRow.prefix_id == row.id]
        for pattern in terms.values():
            # The longest literal piece narrows the scan in SQL; matching is on parsed values.
            literal = max(pattern.split("*"), key=len)
            if literal:
                conditions.append(HandleRow.record.icontains(literal, autoescape=True))
        candidates = await self.session.execute(
            sa.select(HandleRow.handle, HandleRow.record).where(*conditions).order_by(HandleRow.key)
        )
        found = []
        for handle, record in candidates:
            values = load_record(record)
            if all(
                any(v.type == t and _matches(p, v.text) for v in values) for t, p in terms.items()
            ):
                found.append(handle)
                if len(found) >= limit:
                    break
        return found

    # -- writes --------------------------------------------------------------------------------

    async def _writable_prefix(self, handle: Handle) -> Prefix:
        prefix = await self.get_prefix(handle.prefix)
        if prefix.status != "active":
            raise PermissionDenied(
                f"prefix {prefix.prefix} is {prefix.status}; writes are refused",
                code="prefix_not_active",
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
                "an HS_SECKEY secret must be UTF-8 text", code="invalid_value"
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
            else AdminRef(_admin_handle(prefix.prefix), SECKEY_INDEX, ADMIN_PERMISSIONS_ALL)
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

    async def template_for(self, prefix: str, version: str) -> TemplateSpec:
        """The template ``version`` of a prefix or of its nearest ancestor that has it."""
        parts = prefix.split(".")
        candidates = [".".join(parts[:n]) for n in range(len(parts), 0, -1)]
        rows = await self.session.scalars(
            sa.select(Template).where(Template.version == version, Template.prefix.in_(candidates))
        )
        found = sorted(rows, key=lambda t: len(t.prefix), reverse=True)
        if not found:
            raise InvalidInput(
                f"no template {version!r} for prefix {prefix} or its parents",
                code="template_violation",
            )
        row = found[0]
        return TemplateSpec.from_json(
            {"version": row.version, "name": row.name, "industryClass": row.industry_class,
             "description": row.description, "items": row.items}
        )  # fmt: skip

    async def check_template(self, prefix: str, values: list[HandleValue]) -> str | None:
        """Validate values against the template their TEMPLATE value names; its version."""
        named = [v for v in values if v.type == TEMPLATE_TYPE]
        if not named:
            return None
        version = named[0].text or ""
        spec = await self.template_for(prefix, version)
        try:
            spec.validate(values)
        except TemplateError as exc:
            raise InvalidInput(str(exc), code="template_violation") from exc
        return version

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
                raise NotFound(f"handle {handle} not found", code="handle_not_found")
            creators = await self._record_admins(handle)
            await self.check_admin(caller, prefix, creators, AdminPermission.ADD_HANDLE)
            if not values:
                raise InvalidInput("a new handle needs at least one value", code="invalid_value")
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
                    f"the body holds index {stray[0]}, which the index= parameters do not name",
                    code="invalid_value",
                )
            after = [v for v in before if v.index not in wanted] + values
            template = await self.check_template(prefix.prefix, after) or template
        else:
            if not overwrite:
                raise Conflict(f"handle {handle} exists already", code="handle_exists")
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
            raise NotFound(f"handle {handle} not found", code="handle_not_found")
        before = load_record(row.record)
        actor = caller.principal if isinstance(caller, HandleAdmin) else caller
        now = self.clock.now()
        if indexes:
            await self.check_admin(caller, prefix, before, AdminPermission.DELETE_VALUE)
            missing = sorted(set(indexes) - {v.index for v in before})
            if missing:
                raise NotFound(
                    f"handle {handle} has no value at index {missing[0]}", code="values_not_found"
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
