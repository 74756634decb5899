"""Industry application guides (行业应用指南): per industry class, solutions with their cases.

The bureau writes and publishes them; a published guide is public (anonymous readers too).
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from taihu.accounts import Principal, Role, record_audit
from taihu.core import N_, Clock, InvalidInput, NotFound, SystemClock
from taihu.enterprises import industry_classes
from taihu.solutions.models import Guide, Solution

__all__ = ["GuideService", "GuideSpec"]


@dataclass(frozen=True, slots=True)
class GuideSpec:
    """A guide's industry class, titles, text and linked solutions."""

    industry_code: str
    title_zh: str
    title_en: str
    body: str = ""
    solution_ids: tuple[int, ...] = ()
    published: bool = False


class GuideService:
    """Guides within one unit of work."""

    def __init__(self, session: AsyncSession, clock: Clock | None = None) -> None:
        self.session = session
        self.clock = clock or SystemClock()

    async def published(self) -> list[Guide]:
        """The published guides (anyone reads them)."""
        rows = await self.session.scalars(
            sa.select(Guide).where(Guide.published.is_(True)).order_by(Guide.industry_code)
        )
        return list(rows)

    async def all(self, actor: Principal) -> list[Guide]:
        """Every guide, drafts too for the bureau."""
        if not actor.sees_all_enterprises:
            return await self.published()
        return list(await self.session.scalars(sa.select(Guide).order_by(Guide.industry_code)))

    async def get(self, guide_id: int, actor: Principal | None = None) -> Guide:
        """One guide; a draft only for staff."""
        row = await self.session.get(Guide, guide_id)
        if row is None or not (row.published or (actor and actor.sees_all_enterprises)):
            raise NotFound(N_("no guide {guide}"), code="guide_not_found", guide=guide_id)
        return row

    async def solutions(self, guide: Guide) -> list[Solution]:
        """A guide's solutions in its order (those since deleted left out)."""
        rows = await self.session.scalars(
            sa.select(Solution).where(Solution.id.in_(guide.solution_ids))
        )
        by_id = {s.id: s for s in rows}
        return [by_id[i] for i in guide.solution_ids if i in by_id]

    async def _values(self, spec: GuideSpec) -> dict[str, object]:
        code = spec.industry_code.strip().upper()
        if code not in industry_classes():
            raise InvalidInput(
                N_("{raw!r} is not a code of GB/T 4754-2017"), code="bad_industry", raw=code
            )
        if not spec.title_zh.strip() or not spec.title_en.strip():
            raise InvalidInput(N_("a guide needs a title in both languages"), code="bad_guide")
        ids = list(dict.fromkeys(spec.solution_ids))
        known = set(await self.session.scalars(sa.select(Solution.id).where(Solution.id.in_(ids))))
        if set(ids) - known:
            raise InvalidInput(
                N_("no solution {solution}"), code="bad_guide", solution=min(set(ids) - known)
            )
        return {
            "industry_code": code,
            "title_zh": spec.title_zh.strip()[:200],
            "title_en": spec.title_en.strip()[:200],
            "body": spec.body[:8000],
            "solution_ids": ids,
            "published": spec.published,
        }

    async def save(self, actor: Principal, spec: GuideSpec, guide_id: int | None = None) -> Guide:
        """Write a new guide, or rewrite one (bureau)."""
        actor.require_role(Role.BUREAU)
        values = await self._values(spec)
        now = self.clock.now()
        if guide_id is None:
            row = Guide(created_at=now, updated_at=now, **values)
            self.session.add(row)
            before = None
        else:
            row = await self.get(guide_id, actor)
            before = {k: getattr(row, k) for k in values}
            for key, value in values.items():
                setattr(row, key, value)
            row.updated_at = now
        await self.session.flush()
        action = "solution_guide.create" if before is None else "solution_guide.update"
        await record_audit(
            self.session,
            actor,
            action,
            "solution_guide",
            row.id,
            before=before,
            after=values,
            at=now,
        )
        return row
