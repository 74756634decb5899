"""Key-enterprise lists (重点企业名单): create, read and change their members."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from taihu.accounts import Principal, Role, record_audit
from taihu.core import N_, Clock, Conflict, InvalidInput, NotFound
from taihu.enterprises import CreditCode, Enterprise
from taihu.monitor.models import KeyList, KeyListMember

__all__ = ["KeyLists"]


class KeyLists:
    """The list methods of ``MonitorService`` (a mixin: it sets ``session`` and ``clock``)."""

    session: AsyncSession
    clock: Clock

    async def create_list(self, actor: Principal, name: str, description: str = "") -> KeyList:
        """Create a named list (bureau or admin)."""
        actor.require_role(Role.BUREAU)
        name = " ".join(name.split())
        if not name or len(name) > 100:
            raise InvalidInput(N_("a list name needs 1 to 100 characters"), code="bad_list_name")
        if await self.session.scalar(sa.select(KeyList.id).where(KeyList.name == name)):
            raise Conflict(N_("a list named {name} exists already"), code="list_exists", name=name)
        row = KeyList(name=name, description=description[:300], created_at=self.clock.now())
        self.session.add(row)
        await self.session.flush()
        await record_audit(self.session, actor, "key_list.create", "key_list", row.id,
                           after={"name": name}, at=self.clock.now())  # fmt: skip
        return row

    async def get_list(self, actor: Principal, ref: str | int) -> KeyList:
        """A list by id or name (staff roles)."""
        actor.require_role(Role.BUREAU, Role.AUDITOR)
        if isinstance(ref, int) or ref.isdigit():
            row = await self.session.get(KeyList, int(ref))
        else:
            row = await self.session.scalar(sa.select(KeyList).where(KeyList.name == ref))
        if row is None:
            raise NotFound(N_("no key-enterprise list {ref}"), code="list_not_found", ref=str(ref))
        return row

    async def lists(self, actor: Principal) -> list[tuple[KeyList, int]]:
        """Every list with its member count (staff roles)."""
        actor.require_role(Role.BUREAU, Role.AUDITOR)
        counts = dict(list(await self.session.execute(
            sa.select(KeyListMember.list_id, sa.func.count()).group_by(KeyListMember.list_id)
        )))  # fmt: skip
        rows = await self.session.scalars(sa.select(KeyList).order_by(KeyList.id))
        return [(row, int(counts.get(row.id, 0))) for row in rows]

    async def members(self, actor: Principal, list_id: int) -> list[Enterprise]:
        """A list's member enterprises, by name (staff roles)."""
        actor.require_role(Role.BUREAU, Role.AUDITOR)
        rows = await self.session.scalars(
            sa.select(Enterprise).join(KeyListMember, KeyListMember.enterprise_id == Enterprise.id)
            .where(KeyListMember.list_id == list_id).order_by(Enterprise.name)
        )  # fmt: skip
        return list(rows)

    async def set_members(
        self, actor: Principal, list_id: int, codes: list[str], *, remove: bool = False
    ) -> int:
        """Add (or remove) enterprises by credit code; all codes must be registered."""
        actor.require_role(Role.BUREAU)
        key_list = await self.get_list(actor, list_id)
        wanted = {CreditCode(code).value for code in codes}
        found = dict(list(await self.session.execute(
            sa.select(Enterprise.credit_code, Enterprise.id).where(
                Enterprise.credit_code.in_(sorted(wanted)))
        )))  # fmt: skip
        unknown = sorted(wanted - set(found))
        if unknown:
            raise InvalidInput(N_("no enterprise {credit_code} is registered"),
                               credit_code=", ".join(unknown),
                               code="unknown_enterprise")  # fmt: skip
        current = set(await self.session.scalars(
            sa.select(KeyListMember.enterprise_id).where(KeyListMember.list_id == key_list.id)
        ))  # fmt: skip
        ids = set(found.values())
        if remove:
            changed = sorted(ids & current)
            await self.session.execute(
                sa.delete(KeyListMember).where(
                    KeyListMember.list_id == key_list.id, KeyListMember.enterprise_id.in_(changed)
                )
            )
        else:
            changed = sorted(ids - current)
            self.session.add_all(
                KeyListMember(list_id=key_list.id, enterprise_id=e, added_at=self.clock.now())
                for e in changed
            )
        await self.session.flush()
        await record_audit(
            self.session,
            actor,
            "key_list.remove" if remove else "key_list.add",
            "key_list",
            key_list.id,
            after={"enterprise_ids": changed},
            at=self.clock.now(),
        )
        return len(changed)
