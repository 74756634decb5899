"""The enterprise registry: create, find and list enterprises, scoped to what a principal sees."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from taihu.accounts import Principal, Role, record_audit
from taihu.core import Clock, Conflict, InvalidInput, NotFound, PermissionDenied, SystemClock
from taihu.enterprises.credit_code import CreditCode
from taihu.enterprises.models import Enterprise

__all__ = ["EnterpriseService"]


class EnterpriseService:
    """The enterprise registry within one unit of work."""

    def __init__(self, session: AsyncSession, clock: Clock | None = None) -> None:
        self.session = session
        self.clock = clock or SystemClock()

    async def create(self, actor: Principal, name: str, credit_code: str) -> Enterprise:
        """Register an enterprise (admin or bureau); the credit code must be valid and new."""
        actor.require_role(Role.BUREAU)
        code = CreditCode(credit_code)
        name = " ".join(name.split())
        if not name:
            raise InvalidInput("an enterprise needs a name", code="bad_name")
        if await self.session.scalar(
            sa.select(Enterprise.id).where(Enterprise.credit_code == code.value)
        ):
            raise Conflict(
                f"an enterprise with credit code {code} exists already", code="enterprise_exists"
            )
        enterprise = Enterprise(name=name, credit_code=code.value, created_at=self.clock.now())
        self.session.add(enterprise)
        await self.session.flush()
        await record_audit(
            self.session, actor, "enterprise.create", "enterprise", enterprise.id,
            after={"name": name, "credit_code": code.value}, at=self.clock.now(),
        )  # fmt: skip
        return enterprise

    async def get(self, actor: Principal, enterprise_id: int) -> Enterprise:
        """One enterprise the principal may see."""
        enterprise = await self.session.get(Enterprise, enterprise_id)
        if enterprise is None:
            raise NotFound(f"no enterprise {enterprise_id}", code="enterprise_not_found")
        if not actor.can_see_enterprise(enterprise.id):
            # The registry itself is public knowledge in the district; what is refused is
            # acting as or reading for an enterprise the user does not belong to.
            raise PermissionDenied(
                f"{actor.name} does not act for enterprise {enterprise_id}",
                code="enterprise_forbidden",
            )
        return enterprise

    async def get_by_credit_code(self, credit_code: str) -> Enterprise:
        """An enterprise by its credit code (validated first, so typos get a precise message)."""
        code = CreditCode(credit_code)
        enterprise = await self.session.scalar(
            sa.select(Enterprise).where(Enterprise.credit_code == code.value)
        )
        if enterprise is None:
            raise NotFound(f"no enterprise with credit code {code}", code="enterprise_not_found")
        return enterprise

    async def list(
        self, actor: Principal, *, search: str | None = None, limit: int = 100, offset: int = 0
    ) -> tuple[list[Enterprise], int]:
        """The enterprises a principal may see, by name, and their total count."""
        conditions: list[sa.ColumnElement[bool]] = []
        if not actor.sees_all_enterprises:
            conditions.append(Enterprise.id.in_(sorted(actor.enterprise_ids)))
        if search:
            term = search.strip()
            conditions.append(
                sa.or_(
                    Enterprise.name.contains(term, autoescape=True),
                    Enterprise.credit_code == term.upper(),
                )
            )
        total = await self.session.scalar(
            sa.select(sa.func.count()).select_from(Enterprise).where(*conditions)
        )
        rows = await self.session.scalars(
            sa.select(Enterprise).where(*conditions).order_by(Enterprise.name, Enterprise.id)
            .limit(limit).offset(offset)
        )  # fmt: skip
        return list(rows), int(total or 0)

    async def count(self) -> int:
        """How many enterprises are registered."""
        return int(
            await self.session.scalar(sa.select(sa.func.count()).select_from(Enterprise)) or 0
        )
