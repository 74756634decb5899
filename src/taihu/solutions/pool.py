"""The pool: scenario tags, providers and their solutions with cases; search in both languages.

Reading the pool is open to every signed-in user. The bureau adds providers; a provider that is
an enterprise of the registry (by credit code) edits its own solutions through its users.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from taihu.accounts import Principal, Role, record_audit
from taihu.core import N_, Clock, Conflict, InvalidInput, NotFound, PermissionDenied, SystemClock
from taihu.enterprises import CreditCode, Enterprise, industry_classes
from taihu.solutions.catalogue import BUILTIN_TAGS, KINDS
from taihu.solutions.models import Provider, Solution, SolutionCase, SolutionTag

__all__ = ["CaseSpec", "PoolService", "ProviderSpec", "SearchQuery", "SolutionSpec"]


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    """What the bureau says of a provider."""

    name: str
    kind: str
    name_en: str = ""
    credit_code: str | None = None
    description: str = ""
    website: str = ""


@dataclass(frozen=True, slots=True)
class SolutionSpec:
    """A solution's text and classification."""

    title_zh: str
    title_en: str
    summary: str = ""
    tags: tuple[str, ...] = ()
    industry_codes: tuple[str, ...] = ()
    segments: tuple[str, ...] = ()
    price_min: int | None = None
    price_max: int | None = None


@dataclass(frozen=True, slots=True)
class CaseSpec:
    """A reference case."""

    enterprise_name: str
    change: str
    results: str
    year: int | None = None
    credit_code: str | None = None


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """Filters of a search: text (either language), tag, industry class prefix, segment."""

    text: str = ""
    tag: str = ""
    industry: str = ""
    segment: str = ""
    provider_id: int | None = None


def _industry(code: str) -> str:
    code = code.strip().upper()
    classes = industry_classes()
    if code not in classes:
        raise InvalidInput(
            N_("{raw!r} is not a code of GB/T 4754-2017"), code="bad_industry", raw=code
        )
    return code


class PoolService:
    """The pool within one unit of work."""

    def __init__(self, session: AsyncSession, clock: Clock | None = None) -> None:
        self.session = session
        self.clock = clock or SystemClock()

    # -- tags -------------------------------------------------------------------------------

    async def _seed(self) -> None:
        if await self.session.scalar(sa.select(SolutionTag.id).limit(1)) is not None:
            return
        try:
            async with self.session.begin_nested():
                for key, zh, en in BUILTIN_TAGS:
                    self.session.add(
                        SolutionTag(
                            key=key,
                            name_zh=zh,
                            name_en=en,
                            builtin=True,
                            created_at=self.clock.now(),
                        )
                    )
                await self.session.flush()
        except sa.exc.IntegrityError:
            return  # another request seeded them at the same moment: theirs stand

    async def tags(self) -> list[SolutionTag]:
        """The vocabulary, built-ins first."""
        await self._seed()
        rows = await self.session.scalars(sa.select(SolutionTag).order_by(SolutionTag.id))
        return list(rows)

    async def add_tag(self, actor: Principal, key: str, name_zh: str, name_en: str) -> SolutionTag:
        """Add a scenario to the vocabulary (admin)."""
        actor.require_role()
        key = key.strip()
        if not key.isascii() or not key.replace("_", "").isalnum() or not 2 <= len(key) <= 32:
            raise InvalidInput(N_("a tag key is 2-32 letters, digits or _"), code="bad_tag")
        if not name_zh.strip() or not name_en.strip():
            raise InvalidInput(N_("a tag needs names in both languages"), code="bad_tag")
        await self._seed()
        if await self.session.scalar(sa.select(SolutionTag.id).where(SolutionTag.key == key)):
            raise Conflict(N_("tag {tag} exists already"), code="tag_exists", tag=key)
        row = SolutionTag(
            key=key,
            name_zh=name_zh.strip()[:64],
            name_en=name_en.strip()[:64],
            builtin=False,
            created_at=self.clock.now(),
        )
        self.session.add(row)
        await self.session.flush()
        await record_audit(
            self.session,
            actor,
            "solution_tag.create",
            "solution_tag",
            row.id,
            after={"key": key, "name_zh": row.name_zh},
            at=self.clock.now(),
        )
        return row

    async def _check_tags(self, keys: tuple[str, ...]) -> list[str]:
        known = {t.key for t in await self.tags()}
        unknown = [k for k in keys if k not in known]
        if unknown:
            raise InvalidInput(N_("unknown tag {tag}"), code="bad_tag", tag=unknown[0])
        return list(dict.fromkeys(keys))

    # -- providers --------------------------------------------------------------------------

    async def providers(self) -> list[Provider]:
        """Every provider by name."""
        return list(await self.session.scalars(sa.select(Provider).order_by(Provider.name)))

    async def provider(self, provider_id: int) -> Provider:
        """One provider."""
        row = await self.session.get(Provider, provider_id)
        if row is None:
            raise NotFound(
                N_("no provider {provider}"), code="provider_not_found", provider=provider_id
            )
        return row

    async def _provider_values(self, spec: ProviderSpec, provider_id: int | None) -> dict[str, Any]:
        if spec.kind not in KINDS:
            raise InvalidInput(
                N_("a provider is one of {kinds}"), code="bad_provider", kinds=", ".join(KINDS)
            )
        if not spec.name.strip():
            raise InvalidInput(N_("a provider needs a name"), code="bad_provider")
        code = CreditCode(spec.credit_code).value if spec.credit_code else None
        taken = sa.select(Provider.id).where(
            Provider.name == spec.name.strip()[:200], Provider.id != (provider_id or 0)
        )
        if await self.session.scalar(taken):
            raise Conflict(
                N_("provider {provider} exists already"), code="provider_exists", provider=spec.name
            )
        enterprise_id = None
        if code is not None:
            enterprise_id = await self.session.scalar(
                sa.select(Enterprise.id).where(Enterprise.credit_code == code)
            )
        return {
            "name": spec.name.strip()[:200],
            "name_en": spec.name_en.strip()[:200],
            "kind": spec.kind,
            "credit_code": code,
            "enterprise_id": enterprise_id,
            "description": spec.description[:2000],
            "website": spec.website.strip()[:200],
        }

    async def create_provider(self, actor: Principal, spec: ProviderSpec) -> Provider:
        """Add a provider (bureau); an enterprise's credit code links it to the registry."""
        actor.require_role(Role.BUREAU)
        values = await self._provider_values(spec, None)
        row = Provider(created_at=self.clock.now(), **values)
        self.session.add(row)
        await self.session.flush()
        await record_audit(
            self.session,
            actor,
            "solution_provider.create",
            "solution_provider",
            row.id,
            after={"name": row.name, "kind": row.kind, "credit_code": row.credit_code},
            at=self.clock.now(),
        )
        return row

    async def update_provider(
        self, actor: Principal, provider_id: int, spec: ProviderSpec
    ) -> Provider:
        """Rewrite a provider (bureau): its names, kind, credit code, description, website."""
        actor.require_role(Role.BUREAU)
        row = await self.provider(provider_id)
        values = await self._provider_values(spec, row.id)
        before = {k: getattr(row, k) for k in values}
        for key, value in values.items():
            setattr(row, key, value)
        await self.session.flush()
        await record_audit(
            self.session,
            actor,
            "solution_provider.update",
            "solution_provider",
            row.id,
            before=before,
            after=values,
            at=self.clock.now(),
        )
        return row

    def may_edit(self, actor: Principal, provider: Provider) -> bool:
        """Whether the actor edits the provider's solutions: bureau, or the provider's users."""
        if actor.is_admin or actor.role is Role.BUREAU:
            return True
        return provider.enterprise_id is not None and provider.enterprise_id in actor.enterprise_ids

    def require_edit(self, actor: Principal, provider: Provider) -> None:
        """``PermissionDenied`` unless the actor edits the provider's solutions."""
        if not self.may_edit(actor, provider):
            raise PermissionDenied(
                N_("{name} does not edit the solutions of {provider}"),
                code="provider_forbidden",
                name=actor.name,
                provider=provider.name,
            )

    # -- solutions --------------------------------------------------------------------------

    async def _check(self, spec: SolutionSpec) -> dict[str, Any]:
        if not spec.title_zh.strip() or not spec.title_en.strip():
            raise InvalidInput(
                N_("a solution needs a title in both languages"), code="bad_solution"
            )
        low, high = spec.price_min, spec.price_max
        if (low is not None and low < 0) or (low is not None and high is not None and high < low):
            raise InvalidInput(
                N_("the price range runs from a low to a higher figure"), code="bad_price"
            )
        return {
            "title_zh": spec.title_zh.strip()[:200],
            "title_en": spec.title_en.strip()[:200],
            "summary": spec.summary[:4000],
            "tags": await self._check_tags(spec.tags),
            "industry_codes": list(dict.fromkeys(_industry(c) for c in spec.industry_codes)),
            "segments": list(dict.fromkeys(s.strip() for s in spec.segments if s.strip())),
            "price_min": low,
            "price_max": high,
        }

    async def solution(self, solution_id: int) -> Solution:
        """One solution."""
        row = await self.session.get(Solution, solution_id)
        if row is None:
            raise NotFound(
                N_("no solution {solution}"), code="solution_not_found", solution=solution_id
            )
        return row

    async def create_solution(
        self, actor: Principal, provider_id: int, spec: SolutionSpec
    ) -> Solution:
        """Add a solution to a provider (bureau or the provider's users)."""
        provider = await self.provider(provider_id)
        self.require_edit(actor, provider)
        values = await self._check(spec)
        now = self.clock.now()
        row = Solution(provider_id=provider.id, created_at=now, updated_at=now, **values)
        self.session.add(row)
        await self.session.flush()
        await record_audit(
            self.session, actor, "solution.create", "solution", row.id, after=values, at=now
        )
        return row

    async def update_solution(
        self, actor: Principal, solution_id: int, spec: SolutionSpec
    ) -> Solution:
        """Rewrite a solution (bureau or the provider's users)."""
        row = await self.solution(solution_id)
        self.require_edit(actor, await self.provider(row.provider_id))
        values = await self._check(spec)
        before = {k: getattr(row, k) for k in values}
        for key, value in values.items():
            setattr(row, key, value)
        row.updated_at = self.clock.now()
        await record_audit(
            self.session,
            actor,
            "solution.update",
            "solution",
            row.id,
            before=before,
            after=values,
            at=row.updated_at,
        )
        return row

    async def add_case(self, actor: Principal, solution_id: int, spec: CaseSpec) -> SolutionCase:
        """Add a reference case to a solution (bureau or the provider's users)."""
        solution = await self.solution(solution_id)
        self.require_edit(actor, await self.provider(solution.provider_id))
        if not spec.enterprise_name.strip() or not spec.change.strip() or not spec.results.strip():
            raise InvalidInput(
                N_("a case names the enterprise, what changed and the results"), code="bad_case"
            )
        enterprise_id = None
        if spec.credit_code:
            code = CreditCode(spec.credit_code).value
            enterprise_id = await self.session.scalar(
                sa.select(Enterprise.id).where(Enterprise.credit_code == code)
            )
        row = SolutionCase(
            solution_id=solution.id,
            enterprise_name=spec.enterprise_name.strip()[:200],
            enterprise_id=enterprise_id,
            change=spec.change[:2000],
            results=spec.results[:2000],
            year=spec.year,
            created_at=self.clock.now(),
        )
        self.session.add(row)
        await self.session.flush()
        await record_audit(
            self.session,
            actor,
            "solution_case.create",
            "solution_case",
            row.id,
            after={"solution_id": solution.id, "enterprise_name": row.enterprise_name},
            at=self.clock.now(),
        )
        return row

    async def cases(self, solution_ids: list[int]) -> dict[int, list[SolutionCase]]:
        """The reference cases of solutions, by solution."""
        out: dict[int, list[SolutionCase]] = {i: [] for i in solution_ids}
        rows = await self.session.scalars(
            sa.select(SolutionCase)
            .where(SolutionCase.solution_id.in_(solution_ids))
            .order_by(SolutionCase.id)
        )
        for row in rows:
            out[row.solution_id].append(row)
        return out

    async def search(self, query: SearchQuery) -> list[Solution]:
        """Solutions matching every filter given; text in titles, summary, provider or tag names."""
        rows = list(await self.session.scalars(sa.select(Solution).order_by(Solution.id)))
        names = {p.id: f"{p.name} {p.name_en}" for p in await self.providers()}
        tag_names = {t.key: f"{t.name_zh} {t.name_en}" for t in await self.tags()}
        text = query.text.strip().casefold()
        industry = query.industry.strip().upper()

        def hit(s: Solution) -> bool:
            if query.tag and query.tag not in s.tags:
                return False
            if query.segment and query.segment not in s.segments:
                return False
            if query.provider_id is not None and s.provider_id != query.provider_id:
                return False
            # A solution for class 3832 answers a search for 38; one for 38 answers 3832.
            if industry and not any(
                c.startswith(industry) or industry.startswith(c) for c in s.industry_codes
            ):
                return False
            if text:
                hay = " ".join(
                    [
                        s.title_zh,
                        s.title_en,
                        s.summary,
                        names.get(s.provider_id, ""),
                        *(tag_names.get(t, t) for t in s.tags),
                    ]
                )
                return all(word in hay.casefold() for word in text.split())
            return True

        return [s for s in rows if hit(s)]
