"""Enterprise prefix applications through real-name review (实名审核).

    pending ──approve──► approved (the prefix is active, owned by the enterprise)
       └────reject(reason)──► rejected
    approved prefix: suspend ⇄ activate, revoke (final)

Every step is audited and appended to the application's timeline. On a node that has joined one
above, approval queues the prefix for filing upstream and revocation for unfiling (hierarchy.py),
in the same unit of work; the filing itself happens later, so the upstream node being down never
fails an approval.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from taihu.accounts import Principal, Role, record_audit
from taihu.core import N_, Clock, Conflict, InvalidInput, NotFound, SystemClock
from taihu.identifiers.handle import TemplateError, industry_levels
from taihu.identifiers.hierarchy import queue_filing
from taihu.identifiers.models import Prefix, PrefixApplication
from taihu.identifiers.registration import IdentifierService, parse_prefix, status_word

__all__ = ["ApplicationService"]


class ApplicationService:
    """Prefix applications within one unit of work."""

    def __init__(self, session: AsyncSession, clock: Clock | None = None) -> None:
        self.session = session
        self.clock = clock or SystemClock()
        self.identifiers = IdentifierService(session, self.clock)

    def _step(self, row: PrefixApplication, actor: Principal, action: str, note: str = "") -> None:
        entry: dict[str, Any] = {"at": self.clock.now().isoformat(), "actor": actor.name,
                                 "action": action}  # fmt: skip
        if note:
            entry["note"] = note
        row.timeline = [*row.timeline, entry]  # a new list, so the JSON column sees the change

    async def _node(self) -> Prefix:
        node = await self.session.scalar(
            sa.select(Prefix).where(Prefix.kind == "node", Prefix.status == "active")
            .order_by(Prefix.prefix).limit(1)
        )  # fmt: skip
        if node is None:
            raise Conflict(N_("this node has no node prefix yet"), code="no_node_prefix")
        return node

    async def next_free_prefix(self) -> str:
        """The next numbered enterprise prefix under the node prefix (``88.118.31``)."""
        node = await self._node()
        taken = set(await self.session.scalars(sa.select(Prefix.prefix)))
        taken |= set(
            await self.session.scalars(
                sa.select(PrefixApplication.prefix).where(PrefixApplication.status == "pending")
            )
        )
        numbers = [
            int(p.rsplit(".", 1)[1])
            for p in taken
            if p.startswith(node.prefix + ".") and p.rsplit(".", 1)[1].isdigit()
        ]
        return f"{node.prefix}.{max(numbers, default=0) + 1}"

    async def apply(
        self,
        actor: Principal,
        enterprise_id: int,
        *,
        contact: str,
        industry_class: str,
        prefix: str | None = None,
    ) -> PrefixApplication:
        """Apply for a prefix for an enterprise the actor acts for (requested or next free)."""
        actor.require_enterprise(enterprise_id)
        contact = " ".join(contact.split())
        if not 2 <= len(contact) <= 200:
            raise InvalidInput(N_("give a contact person and phone or e-mail"), code="bad_contact")
        try:
            industry_levels(industry_class)
        except TemplateError as exc:
            raise InvalidInput(exc.message, code="bad_industry_class") from exc
        node = await self._node()
        wanted = parse_prefix(prefix) if prefix else await self.next_free_prefix()
        if not wanted.startswith(node.prefix + "."):
            raise InvalidInput(
                N_("prefixes here start with {node}."), code="invalid_prefix", node=node.prefix
            )
        if await self.session.scalar(sa.select(Prefix.id).where(Prefix.prefix == wanted)):
            raise Conflict(N_("prefix {prefix} is taken"), code="prefix_exists", prefix=wanted)
        if await self.session.scalar(
            sa.select(PrefixApplication.id).where(
                PrefixApplication.prefix == wanted, PrefixApplication.status == "pending"
            )
        ):
            raise Conflict(
                N_("prefix {prefix} is already applied for"), code="prefix_pending", prefix=wanted
            )
        row = PrefixApplication(
            enterprise_id=enterprise_id, prefix=wanted, contact=contact,
            industry_class=industry_class, status="pending", timeline=[],
            created_at=self.clock.now(),
        )  # fmt: skip
        self._step(row, actor, "applied")
        self.session.add(row)
        await self.session.flush()
        await record_audit(
            self.session, actor, "prefix_application.apply", "prefix_application", row.id,
            after={"prefix": wanted, "enterprise_id": enterprise_id,
                   "industry_class": industry_class}, at=self.clock.now(),
        )  # fmt: skip
        return row

    async def get(self, actor: Principal, application_id: int) -> PrefixApplication:
        """One application the actor may see."""
        row = await self.session.get(PrefixApplication, application_id)
        if row is None or not actor.can_see_enterprise(row.enterprise_id):
            raise NotFound(
                N_("no application {application}"),
                code="application_not_found",
                application=application_id,
            )
        return row

    async def all(self, actor: Principal, *, status: str | None = None) -> list[PrefixApplication]:
        """Applications the actor may see, newest first."""
        query = sa.select(PrefixApplication).order_by(PrefixApplication.id.desc())
        if status:
            query = query.where(PrefixApplication.status == status)
        if not actor.sees_all_enterprises:
            query = query.where(PrefixApplication.enterprise_id.in_(sorted(actor.enterprise_ids)))
        return list(await self.session.scalars(query))

    async def _pending(self, actor: Principal, application_id: int) -> PrefixApplication:
        actor.require_role(Role.AUDITOR)
        row = await self.get(actor, application_id)
        if row.status != "pending":
            raise Conflict(
                N_("application {application} is {status} already"), code="not_pending",
                application=row.id, status=status_word(row.status),
            )  # fmt: skip
        return row

    async def approve(self, actor: Principal, application_id: int) -> PrefixApplication:
        """Approve (auditor): the prefix becomes active, owned by the enterprise."""
        row = await self._pending(actor, application_id)
        await self.identifiers.create_prefix(actor, row.prefix, enterprise_id=row.enterprise_id)
        row.status = "approved"
        self._step(row, actor, "approved")
        await queue_filing(self.session, row.prefix, "file", self.clock.now())
        await record_audit(
            self.session, actor, "prefix_application.approve", "prefix_application", row.id,
            before={"status": "pending"}, after={"status": "approved", "prefix": row.prefix},
            at=self.clock.now(),
        )  # fmt: skip
        return row

    async def reject(self, actor: Principal, application_id: int, reason: str) -> PrefixApplication:
        """Reject (auditor) with a reason the applicant sees."""
        reason = " ".join(reason.split())
        if len(reason) < 2:
            raise InvalidInput(N_("a rejection needs a reason"), code="reason_required")
        row = await self._pending(actor, application_id)
        row.status, row.reason = "rejected", reason[:500]
        self._step(row, actor, "rejected", reason[:500])
        await record_audit(
            self.session, actor, "prefix_application.reject", "prefix_application", row.id,
            before={"status": "pending"}, after={"status": "rejected", "reason": row.reason},
            at=self.clock.now(),
        )  # fmt: skip
        return row

    async def set_status(self, actor: Principal, prefix: str, status: str) -> Prefix:
        """Suspend, reactivate or revoke an enterprise prefix; noted on its application."""
        actor.require_role(Role.AUDITOR, Role.BUREAU)
        row = await self.session.scalar(
            sa.select(Prefix).where(Prefix.prefix == parse_prefix(prefix))
        )
        if row is not None and row.status == "revoked":
            raise Conflict(
                N_("prefix {prefix} is revoked for good"), code="prefix_revoked", prefix=row.prefix
            )
        changed = await self.identifiers.set_prefix_status(actor, prefix, status)
        if status == "revoked":
            await queue_filing(self.session, changed.prefix, "unfile", self.clock.now())
        application = await self.session.scalar(
            sa.select(PrefixApplication).where(
                PrefixApplication.prefix == changed.prefix, PrefixApplication.status == "approved"
            )
        )
        if application is not None:
            self._step(application, actor, {"active": "activated"}.get(status, status))
        return changed
