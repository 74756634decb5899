"""The enterprise registry: create, find and list enterprises, scoped to what a principal sees."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from taihu.accounts import Principal, Role, record_audit
from taihu.core import N_, Clock, Conflict, InvalidInput, NotFound, PermissionDenied, SystemClock
from taihu.enterprises.credit_code import CreditCode
from taihu.enterprises.industry import industry_classes
from taihu.enterprises.models import Enterprise
from taihu.enterprises.profile import Profile

__all__ = ["EnterpriseFilter", "EnterpriseService"]


@dataclass(frozen=True, slots=True)
class EnterpriseFilter:
    """Search and filters of the registry; ``None`` leaves a criterion out."""

    search: str | None = None
    township_code: str | None = None
    industry: str | None = None  # a section letter, or a 2-, 3- or 4-digit code prefix
    above_size: bool | None = None
    key_enterprise: bool | None = None
    chain_leader: bool | None = None

    def conditions(self) -> list[sa.ColumnElement[bool]]:
        """The filter as SQL conditions."""
        where: list[sa.ColumnElement[bool]] = []
        if self.search and self.search.strip():
            term = self.search.strip()
            where.append(
                sa.or_(
                    Enterprise.name.contains(term, autoescape=True),
                    Enterprise.name_en.contains(term, autoescape=True),
                    Enterprise.credit_code == term.upper(),
                )
            )
        if self.township_code:
            where.append(Enterprise.township_code == self.township_code)
        if self.industry:
            code = self.industry.strip().upper()
            if code.isalpha():
                classes = [
                    c.code
                    for c in industry_classes().values()
                    if c.level == "class" and c.section == code
                ]
                where.append(Enterprise.industry_code.in_(classes))
            else:
                where.append(Enterprise.industry_code.startswith(code, autoescape=True))
        for flag in ("above_size", "key_enterprise", "chain_leader"):
            value = getattr(self, flag)
            if value is not None:
                where.append(getattr(Enterprise, flag).is_(value))
        return where


def _set(facts: dict[str, object], synthetic: bool) -> dict[str, object]:
    """The facts given a value (what a creation's audit entry records)."""
    given = {k: v for k, v in facts.items() if v is not None and v is not False}
    return {**given, "synthetic": True} if synthetic else given


class EnterpriseService:
    """The enterprise registry within one unit of work."""

    def __init__(self, session: AsyncSession, clock: Clock | None = None) -> None:
        self.session = session
        self.clock = clock or SystemClock()

    async def create(
        self,
        actor: Principal,
        name: str,
        credit_code: str,
        profile: Profile | None = None,
        *,
        synthetic: bool = False,
    ) -> Enterprise:
        """Register an enterprise (admin or bureau); the credit code must be valid and new."""
        actor.require_role(Role.BUREAU)
        code = CreditCode(credit_code)
        name = " ".join(name.split())
        if not name:
            raise InvalidInput(N_("an enterprise needs a name"), code="bad_name")
        if await self.session.scalar(
            sa.select(Enterprise.id).where(Enterprise.credit_code == code.value)
        ):
            raise Conflict(
                N_("an enterprise with credit code {credit_code} exists already"),
                credit_code=code,
                code="enterprise_exists",
            )
        facts = (profile or Profile()).as_dict()
        enterprise = Enterprise(
            name=name, credit_code=code.value, created_at=self.clock.now(), synthetic=synthetic,
            **facts,
        )  # fmt: skip
        self.session.add(enterprise)
        await self.session.flush()
        await record_audit(
            self.session, actor, "enterprise.create", "enterprise", enterprise.id,
            after={"name": name, "credit_code": code.value, **_set(facts, synthetic)},
            at=self.clock.now(),
        )  # fmt: skip
        return enterprise

    async def update(
        self,
        actor: Principal,
        enterprise_id: int,
        name: str | None,
        profile: Profile,
        *,
        source: str | None = None,
    ) -> Enterprise:
        """Replace an enterprise's registry facts (admin or bureau); audited with the change.

        ``source`` names where the facts came from (a survey submission) in the audit entry.
        """
        actor.require_role(Role.BUREAU)
        enterprise = await self.get(actor, enterprise_id)
        after = profile.as_dict()
        if name is not None:
            after["name"] = " ".join(name.split())
            if not after["name"]:
                raise InvalidInput(N_("an enterprise needs a name"), code="bad_name")
        before = {k: getattr(enterprise, k) for k in after}
        changed = {k: v for k, v in after.items() if before[k] != v}
        if changed:
            for key, value in changed.items():
                setattr(enterprise, key, value)
            enterprise.updated_at = self.clock.now()
            await record_audit(
                self.session, actor, "enterprise.update", "enterprise", enterprise.id,
                before={k: before[k] for k in changed},
                after={**changed, **({"source": source} if source else {})}, at=self.clock.now(),
            )  # fmt: skip
        return enterprise

    async def get(self, actor: Principal, enterprise_id: int) -> Enterprise:
        """One enterprise the principal may see."""
        enterprise = await self.session.get(Enterprise, enterprise_id)
        if enterprise is None:
            raise NotFound(
                N_("no enterprise {enterprise_id}"),
                enterprise_id=enterprise_id,
                code="enterprise_not_found",
            )
        if not actor.can_see_enterprise(enterprise.id):
            # The registry itself is public knowledge in the district; what is refused is
            # acting as or reading for an enterprise the user does not belong to.
            raise PermissionDenied(
                N_("{name} does not act for enterprise {enterprise_id}"),
                name=actor.name,
                enterprise_id=enterprise_id,
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
            raise NotFound(
                N_("no enterprise with credit code {credit_code}"),
                credit_code=code,
                code="enterprise_not_found",
            )
        return enterprise

    async def list(
        self,
        actor: Principal,
        *,
        search: str | None = None,
        where: EnterpriseFilter | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> tuple[list[Enterprise], int]:
        """The enterprises a principal may see, by name, and their total count."""
        where = where or EnterpriseFilter(search=search)
        conditions = where.conditions()
        if not actor.sees_all_enterprises:
            conditions.append(Enterprise.id.in_(sorted(actor.enterprise_ids)))
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
