"""Who a notice is for: a kind and its references, checked when written, resolved when published.

=============  ===================================  ========================================
kind           references                           enterprises
=============  ===================================  ========================================
all            none                                 every registered enterprise
township       9-digit township codes               registered in one of them
industry       GB/T 4754 code prefixes (2-4 digits)  whose class starts with one of them
chain          chain template keys                  tagged (confirmed) on a current segment
list           key-enterprise list ids or names     members of one of the lists
enterprises    unified social credit codes          those enterprises
=============  ===================================  ========================================

The result is kept as the notice's recipients: an enterprise registered, tagged or listed after
publishing does not receive it, one removed later keeps it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from taihu.chains import SegmentTag, TagStatus, TemplateStore
from taihu.core import N_, InvalidInput
from taihu.enterprises import CreditCode, Enterprise, townships
from taihu.monitor import KeyList, KeyListMember

__all__ = ["AUDIENCE_KINDS", "Audience", "resolve_audience"]

AUDIENCE_KINDS = ("all", "township", "industry", "chain", "list", "enterprises")
_INDUSTRY = re.compile(r"^[0-9]{2,4}$")
_MAX_REFS = 2000


@dataclass(frozen=True, slots=True)
class Audience:
    """A notice's audience as the bureau asked for it; refuses unknown kinds and bad references."""

    kind: str
    refs: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in AUDIENCE_KINDS:
            raise InvalidInput(N_("no audience {kind} (one of {choices})"), code="bad_audience",
                               kind=self.kind[:20], choices=", ".join(AUDIENCE_KINDS))  # fmt: skip
        refs = tuple(dict.fromkeys(r.strip() for r in self.refs if r.strip()))
        if self.kind == "all":
            refs = ()
        elif not refs:
            raise InvalidInput(N_("name at least one {kind} for the audience"),
                               code="bad_audience", kind=self.kind)  # fmt: skip
        if len(refs) > _MAX_REFS:
            raise InvalidInput(N_("an audience names at most {limit} references"),
                               code="bad_audience", limit=_MAX_REFS)  # fmt: skip
        if self.kind == "township":
            known = townships()
            unknown = [r for r in refs if r not in known]
            if unknown:
                raise InvalidInput(N_("no township {township}"), code="bad_audience",
                                   township=", ".join(unknown[:5]))  # fmt: skip
        elif self.kind == "industry":
            bad = [r for r in refs if not _INDUSTRY.match(r)]
            if bad:
                raise InvalidInput(N_("{industry} is not a GB/T 4754 code prefix (2 to 4 digits)"),
                                   code="bad_audience", industry=", ".join(bad[:5]))  # fmt: skip
        elif self.kind == "enterprises":
            refs = tuple(dict.fromkeys(CreditCode(r).value for r in refs))
        object.__setattr__(self, "refs", refs)


async def resolve_audience(session: AsyncSession, audience: Audience) -> list[int]:
    """The ids of the enterprises the audience names now, ascending."""
    where: sa.ColumnElement[bool]
    if audience.kind == "all":
        where = sa.true()
    elif audience.kind == "township":
        where = Enterprise.township_code.in_(audience.refs)
    elif audience.kind == "industry":
        where = sa.or_(*(Enterprise.industry_code.startswith(r) for r in audience.refs))
    elif audience.kind == "enterprises":
        codes = set(audience.refs)
        found = dict(list(await session.execute(
            sa.select(Enterprise.credit_code, Enterprise.id)
            .where(Enterprise.credit_code.in_(sorted(codes)))
        )))  # fmt: skip
        unknown = sorted(codes - set(found))
        if unknown:
            raise InvalidInput(
                N_("no enterprise {credit_code} is registered"),
                code="unknown_enterprise",
                credit_code=", ".join(unknown[:5]),
            )
        return sorted(found.values())
    elif audience.kind == "chain":
        chains = {c.key: c for c in await TemplateStore(session).current()}
        unknown = [r for r in audience.refs if r not in chains]
        if unknown:
            raise InvalidInput(N_("no chain {chain}"), code="bad_audience",
                               chain=", ".join(unknown[:5]))  # fmt: skip
        segments = sorted({s for r in audience.refs for s in chains[r].segment_keys})
        where = Enterprise.id.in_(
            sa.select(SegmentTag.enterprise_id).where(
                SegmentTag.status == TagStatus.CONFIRMED, SegmentTag.segment_key.in_(segments)
            )
        )
    else:  # list
        lists = await _lists(session, audience.refs)
        where = Enterprise.id.in_(
            sa.select(KeyListMember.enterprise_id).where(KeyListMember.list_id.in_(lists))
        )
    return list(
        await session.scalars(sa.select(Enterprise.id).where(where).order_by(Enterprise.id))
    )


async def _lists(session: AsyncSession, refs: tuple[str, ...]) -> list[int]:
    ids = [int(r) for r in refs if r.isdigit()]
    names = [r for r in refs if not r.isdigit()]
    rows = list(await session.execute(
        sa.select(KeyList.id, KeyList.name)
        .where(sa.or_(KeyList.id.in_(ids), KeyList.name.in_(names)))
    ))  # fmt: skip
    known = {str(i) for i, _ in rows} | {n for _, n in rows}
    unknown = [r for r in refs if r not in known]
    if unknown:
        raise InvalidInput(N_("no key-enterprise list {ref}"), code="list_not_found",
                           ref=", ".join(unknown[:5]))  # fmt: skip
    return [i for i, _ in rows]
