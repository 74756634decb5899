"""The groups the indices are computed for: townships, industry classes, chains, segments, lists."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from taihu.chains import SegmentTag, TagStatus, chain_templates
from taihu.core import InvalidInput
from taihu.enterprises import Enterprise, industry_classes, townships
from taihu.monitor.indices import Grouping
from taihu.monitor.models import KeyList, KeyListMember

__all__ = ["GROUP_KINDS", "Registry", "group_names", "groupings", "load_registry"]

GROUP_KINDS = ("township", "industry", "chain", "segment", "list")


@dataclass(frozen=True, slots=True)
class Registry:
    """The enterprises the monitor counts, as parallel tuples (row i is one enterprise)."""

    ids: tuple[int, ...]
    codes: tuple[str, ...]
    names: tuple[str, ...]
    townships: tuple[str | None, ...]
    industries: tuple[str | None, ...]


async def load_registry(session: AsyncSession) -> Registry:
    """Every registered enterprise, ordered by id."""
    rows = list(await session.execute(
        sa.select(Enterprise.id, Enterprise.credit_code, Enterprise.name,
                  Enterprise.township_code, Enterprise.industry_code).order_by(Enterprise.id)
    ))  # fmt: skip
    return (
        Registry(*(tuple(column) for column in zip(*rows, strict=True)))
        if rows
        else (Registry((), (), (), (), ()))
    )


async def groupings(session: AsyncSession, registry: Registry, kinds: list[str]) -> list[Grouping]:
    """The memberships of the asked kinds, with group names."""
    out = []
    row = {key: i for i, key in enumerate(registry.ids)}
    for kind in kinds:
        members: dict[int, set[str]] = defaultdict(set)
        if kind in ("township", "industry"):
            codes = registry.townships if kind == "township" else registry.industries
            for i, code in enumerate(codes):
                if code:
                    members[i].add(code)
        elif kind in ("chain", "segment"):
            chain_of = {s.key: c.key for c in chain_templates() for s in c.segments}
            for enterprise_id, segment in await session.execute(
                sa.select(SegmentTag.enterprise_id, SegmentTag.segment_key).where(
                    SegmentTag.status == TagStatus.CONFIRMED
                )
            ):
                if enterprise_id in row and segment in chain_of:
                    members[row[enterprise_id]].add(
                        chain_of[segment] if kind == "chain" else segment
                    )
        elif kind == "list":
            for list_id, enterprise_id in await session.execute(
                sa.select(KeyListMember.list_id, KeyListMember.enterprise_id)
            ):
                if enterprise_id in row:
                    members[row[enterprise_id]].add(str(list_id))
        else:
            raise InvalidInput(
                f"no grouping {kind!r} (one of {', '.join(GROUP_KINDS)})", code="bad_group"
            )
        out.append(Grouping.of(kind, members))
    return out


async def group_names(session: AsyncSession, kind: str) -> dict[str, str]:
    """Display names of the groups of one kind."""
    if kind == "township":
        return {code: t.name_zh for code, t in townships().items()}
    if kind == "industry":
        return {code: c.name_zh for code, c in industry_classes().items()}
    if kind == "chain":
        return {c.key: c.name for c in chain_templates()}
    if kind == "segment":
        return {s.key: s.name for c in chain_templates() for s in c.segments}
    return {str(i): n for i, n in await session.execute(sa.select(KeyList.id, KeyList.name))}
