"""The groups the indices are computed for: townships, industry classes, chains, segments, lists.

Chains and segments are those of the district's current chain templates (``TemplateStore``,
read once per request): an enterprise counts in a chain through its confirmed tags on the
chain's current segments, so a template the district made is a group like the built-ins, and a
new version of a template regroups its enterprises at once. A tag on a segment that no current
template has any more counts in no chain.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from taihu.chains import SegmentTag, TagStatus, TemplateStore
from taihu.core import N_, InvalidInput
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
    # Core rows through the session's connection: the ORM's row processing doubled the time
    # of reading 10,000 enterprises, and nothing here is an ORM object.
    connection = await session.connection()
    rows = list(await connection.execute(
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
    connection = await session.connection()  # Core rows: see load_registry
    tags: list[tuple[int, str]] | None = None  # read once for both chains and segments
    for kind in kinds:
        rows: list[int] = []
        keys: list[str] = []
        if kind in ("township", "industry"):
            codes = registry.townships if kind == "township" else registry.industries
            for i, code in enumerate(codes):
                if code:
                    rows.append(i)
                    keys.append(code)
        elif kind in ("chain", "segment"):
            chain_of = {s.key: c.key for c in await TemplateStore(session).current()
                        for s in c.segments}  # fmt: skip
            if tags is None:
                tags = [(e, k) for e, k in await connection.execute(
                    sa.select(SegmentTag.enterprise_id, SegmentTag.segment_key).where(
                        SegmentTag.status == TagStatus.CONFIRMED)
                )]  # fmt: skip
            for enterprise_id, segment in tags:
                if enterprise_id in row and segment in chain_of:
                    rows.append(row[enterprise_id])
                    keys.append(chain_of[segment] if kind == "chain" else segment)
        elif kind == "list":
            for list_id, enterprise_id in await connection.execute(
                sa.select(KeyListMember.list_id, KeyListMember.enterprise_id)
            ):
                if enterprise_id in row:
                    rows.append(row[enterprise_id])
                    keys.append(str(list_id))
        else:
            raise InvalidInput(N_("no grouping {kind} (one of {choices})"), code="bad_group",
                               kind=kind, choices=", ".join(GROUP_KINDS))  # fmt: skip
        out.append(Grouping.of_pairs(kind, rows, keys))
    return out


async def group_names(session: AsyncSession, kind: str) -> dict[str, str]:
    """Display names of the groups of one kind."""
    if kind == "township":
        return {code: t.name_zh for code, t in townships().items()}
    if kind == "industry":
        return {code: c.name_zh for code, c in industry_classes().items()}
    if kind == "chain":
        return {c.key: c.name for c in await TemplateStore(session).current()}
    if kind == "segment":
        return {s.key: s.name for c in await TemplateStore(session).current() for s in c.segments}
    return {str(i): n for i, n in await session.execute(sa.select(KeyList.id, KeyList.name))}
