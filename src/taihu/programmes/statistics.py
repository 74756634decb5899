"""Award holders per township, industry class or chain: the district's figures by group.

An enterprise counts once per programme in each of its groups: its township, its four-digit
industry class, and every chain it is confirmed in through a segment of the chain's current
template (as the operation monitor counts chain members). Enterprises without a township or
class count under the empty group, so the totals add up to the registry's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from taihu.accounts import Principal, Role
from taihu.chains import SegmentTag, TagStatus, TemplateStore
from taihu.core import N_, InvalidInput
from taihu.enterprises import Enterprise, industry_classes, townships
from taihu.programmes.models import Award, Programme

__all__ = ["BREAKDOWNS", "HolderCount", "holders_by", "holders_per_programme", "titles_held"]

BREAKDOWNS = ("township", "industry", "chain")


@dataclass(frozen=True, slots=True)
class HolderCount:
    """How many enterprises of one group hold one programme's title."""

    group: str  # township code, industry class, chain key; "" for enterprises without one
    name_zh: str
    name_en: str
    programme: str
    count: int


async def _group_names(session: AsyncSession, by: str) -> dict[str, tuple[str, str]]:
    if by == "township":
        return {code: (t.name_zh, t.name_en or t.name_zh) for code, t in townships().items()}
    if by == "industry":
        return {
            code: (c.name_zh, c.name_en or c.name_zh)
            for code, c in industry_classes().items()
            if len(code) == 4
        }
    return {c.key: (c.name, c.name_en or c.name) for c in await TemplateStore(session).current()}


async def _groups_of(session: AsyncSession, by: str, ids: set[int]) -> dict[int, set[str]]:
    """Each enterprise's groups of the kind ``by``."""
    if by in ("township", "industry"):
        column = Enterprise.township_code if by == "township" else Enterprise.industry_code
        # The whole registry's column rather than an IN list of every holder (SQLite's limit).
        rows = await session.execute(sa.select(Enterprise.id, column))
        return {enterprise_id: {code or ""} for enterprise_id, code in rows if enterprise_id in ids}
    chain_of = {s.key: c.key for c in await TemplateStore(session).current() for s in c.segments}
    groups: dict[int, set[str]] = {enterprise_id: set() for enterprise_id in ids}
    tags = await session.execute(
        sa.select(SegmentTag.enterprise_id, SegmentTag.segment_key).where(
            SegmentTag.status == TagStatus.CONFIRMED
        )
    )
    for enterprise_id, segment in tags:
        if enterprise_id in groups and segment in chain_of:
            groups[enterprise_id].add(chain_of[segment])
    return {e: found or {""} for e, found in groups.items()}


def _in_force(today: date) -> sa.ColumnElement[bool]:
    """Awards valid on ``today``."""
    return sa.and_(Award.since <= today, sa.or_(Award.until.is_(None), Award.until >= today))


async def holders_per_programme(
    session: AsyncSession, actor: Principal, *, today: date
) -> dict[str, int]:
    """Enterprises holding each programme's title today, by programme key (staff roles)."""
    actor.require_role(Role.BUREAU, Role.AUDITOR)
    rows = await session.execute(
        sa.select(Programme.key, sa.func.count(sa.distinct(Award.enterprise_id)))
        .join(Programme, Programme.id == Award.programme_id)
        .where(_in_force(today))
        .group_by(Programme.key)
    )
    return {key: int(count) for key, count in rows}


async def titles_held(
    session: AsyncSession, actor: Principal, *, today: date
) -> list[dict[str, object]]:
    """Per programme held: enterprises holding it today per level, and ever (累计), by key order.

    What the wall display shows: ``{key, name_zh, name_en, levels: {level: n}, current, total}``;
    an enterprise counts once per programme and level (a 小巨人 at national level, the other
    专精特新 holders at provincial).
    """
    actor.require_role(Role.BUREAU, Role.AUDITOR)
    held = sa.func.count(sa.distinct(Award.enterprise_id))
    per_level = await session.execute(
        sa.select(Award.programme_id, Award.level, held)
        .where(_in_force(today))
        .group_by(Award.programme_id, Award.level)
    )
    current = await session.execute(
        sa.select(Award.programme_id, held).where(_in_force(today)).group_by(Award.programme_id)
    )
    ever = await session.execute(
        sa.select(Award.programme_id, held).where(Award.since <= today).group_by(Award.programme_id)
    )
    levels: dict[int, dict[str, int]] = {}
    for programme_id, level, count in per_level:
        levels.setdefault(programme_id, {})[level] = int(count)
    now = {programme_id: int(count) for programme_id, count in current}
    programmes = await session.scalars(sa.select(Programme).order_by(Programme.id))
    total = {programme_id: int(count) for programme_id, count in ever}
    return [
        {
            "key": p.key,
            "name_zh": p.name_zh,
            "name_en": p.name_en,
            "levels": levels.get(p.id, {}),
            "current": now.get(p.id, 0),
            "total": total[p.id],
        }
        for p in programmes
        if p.id in total
    ]


async def holders_by(
    session: AsyncSession,
    actor: Principal,
    by: str,
    *,
    today: date,
    programme_id: int | None = None,
    current: bool = True,
) -> list[HolderCount]:
    """Holders per group and programme (staff roles); ``current``: only awards in force today."""
    actor.require_role(Role.BUREAU, Role.AUDITOR)
    if by not in BREAKDOWNS:
        raise InvalidInput(
            N_("no breakdown {by} (one of {choices})"),
            code="bad_breakdown",
            by=by[:40],
            choices=", ".join(BREAKDOWNS),
        )
    query = sa.select(Award.enterprise_id, Programme.key).join(
        Programme, Programme.id == Award.programme_id
    )
    if programme_id is not None:
        query = query.where(Award.programme_id == programme_id)
    if current:
        query = query.where(_in_force(today))
    held = {(enterprise_id, key) for enterprise_id, key in await session.execute(query)}
    groups = await _groups_of(session, by, {enterprise_id for enterprise_id, _ in held})
    counts: dict[tuple[str, str], int] = {}
    for enterprise_id, key in held:
        for group in groups.get(enterprise_id, {""}):
            counts[group, key] = counts.get((group, key), 0) + 1
    names = await _group_names(session, by)
    return [
        HolderCount(group, *names.get(group, (group, group)), programme, count)
        for (group, programme), count in sorted(counts.items())
    ]
