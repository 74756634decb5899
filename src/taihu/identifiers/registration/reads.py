"""Reading prefixes and handles, and deciding who may write them (the service's read half).

Who may write under a prefix:

- a platform ``admin``, or an ``enterprise`` user who is a member of the prefix's owner;
- a Handle admin authenticated with the HS_SECKEY of ``PREFIX/ADMIN`` (index 300) for that prefix
  or one of its ancestors (a node admin administers its enterprise prefixes);
- a Handle admin that an HS_ADMIN value of the handle names, with the needed permission bit.
"""

from __future__ import annotations

import fnmatch
from datetime import date

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from taihu.accounts import Principal, Role
from taihu.core import N_, Clock, InvalidInput, NotFound, PermissionDenied, SystemClock
from taihu.identifiers.handle import (
    SECKEY_TYPE,
    TEMPLATE_TYPE,
    AdminPermission,
    Handle,
    HandleValue,
    TemplateError,
    TemplateSpec,
)
from taihu.identifiers.models import HandleRow, Prefix, StatsDaily, Template
from taihu.identifiers.records import load_record
from taihu.identifiers.registration.admins import in_admin_group
from taihu.identifiers.registration.callers import (
    Caller,
    HandleAdmin,
    admin_handle,
    grants,
    parse_prefix,
)
from taihu.identifiers.registration.seckeys import SecretKeyBox

__all__ = ["HandleReader"]


def _matches(pattern: str, text: str | None) -> bool:
    """Whether a value matches a reverse-lookup term (``*`` wildcard, case-insensitive)."""
    return text is not None and fnmatch.fnmatchcase(text.lower(), pattern.lower())


class HandleReader:
    """Prefixes and handles within one unit of work: reads and authorization."""

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
            raise NotFound(N_("That prefix doesn't live here"), code="prefix_not_served")
        return row

    async def _parent_of(self, prefix: str) -> Prefix | None:
        parts = prefix.split(".")
        candidates = [".".join(parts[:n]) for n in range(len(parts) - 1, 0, -1)]
        if not candidates:
            return None
        rows = await self.session.scalars(sa.select(Prefix).where(Prefix.prefix.in_(candidates)))
        found = sorted(rows, key=lambda p: len(p.prefix), reverse=True)
        return found[0] if found else None

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
                N_("{caller} may not write under prefix {prefix}"),
                code="insufficient_permissions",
                caller=caller.name,
                prefix=prefix.prefix,
            )
        admin_prefix, _, local = caller.handle.partition("/")
        if local == "ADMIN" and (
            prefix.prefix == admin_prefix or prefix.prefix.startswith(admin_prefix + ".")
        ):
            return
        if grants(caller, values, needed):
            return
        raise PermissionDenied(
            N_("{caller} is not an admin of this handle under {prefix}"),
            code="insufficient_permissions",
            caller=str(caller),
            prefix=prefix.prefix,
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
                if grants(caller, values, needed):
                    return
            refs = [v.admin for v in values if v.admin is not None]
            if not await in_admin_group(self.session, (caller.index, caller.handle), refs, needed):
                raise

    async def _prefix_admin_values(self, prefix: str) -> list[HandleValue]:
        parts = prefix.split(".")
        keys = [admin_handle(".".join(parts[:n])) for n in range(len(parts), 0, -1)]
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
            raise NotFound(
                N_("handle {handle} not found"), code="handle_not_found", handle=str(handle)
            )
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
                N_("no template {version} for prefix {prefix} or its parents"),
                code="template_violation",
                version=repr(version),
                prefix=prefix,
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
            raise InvalidInput(exc.message, code="template_violation") from exc
        return version
