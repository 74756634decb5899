"""What the pool suggests: solutions for an enterprise, providers for a chain's missing segment.

An enterprise's suggestions come from three sources: its industry class, the gaps of the chains
it belongs to (the chains context's 补链/强链 analysis over confirmed segment tags), and what it
lacks on the platform (no device connected, no identifier prefix, no 星级上云 award).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from taihu.accounts import Principal
from taihu.chains import ChainService, SegmentTag, TagStatus
from taihu.core import N_, Clock, Message, NotFound, SystemClock
from taihu.devices import Device
from taihu.enterprises import Enterprise
from taihu.identifiers import Prefix
from taihu.programmes import Award, Programme
from taihu.solutions.catalogue import LACK_TAGS
from taihu.solutions.models import Provider, Solution

__all__ = ["Suggested", "SuggestionService"]

CLOUD_STARS = "cloud_stars"  # the programmes registry's 星级上云 programme key


@dataclass(slots=True)
class Suggested:
    """A suggested solution and why."""

    solution: Solution
    reasons: list[Message] = field(default_factory=list)


class SuggestionService:
    """Suggestions within one unit of work."""

    def __init__(self, session: AsyncSession, clock: Clock | None = None) -> None:
        self.session = session
        self.clock = clock or SystemClock()

    async def lacks(self, enterprise_id: int) -> list[str]:
        """What the enterprise lacks on the platform: devices, identifiers, cloud_stars."""
        out = []
        if not await self.session.scalar(
            sa.select(Device.id).where(Device.enterprise_id == enterprise_id).limit(1)
        ):
            out.append("devices")
        if not await self.session.scalar(
            sa.select(Prefix.id).where(Prefix.enterprise_id == enterprise_id).limit(1)
        ):
            out.append("identifiers")
        starred = (
            sa.select(Award.id)
            .join(Programme, Programme.id == Award.programme_id)
            .where(Award.enterprise_id == enterprise_id, Programme.key == CLOUD_STARS)
            .limit(1)
        )
        if not await self.session.scalar(starred):
            out.append("cloud_stars")
        return out

    async def chain_gaps(self, enterprise_id: int) -> dict[str, Message]:
        """Missing or weak segments of the enterprise's chains, with the analysis's reason."""
        keys = set(
            await self.session.scalars(
                sa.select(SegmentTag.segment_key).where(
                    SegmentTag.enterprise_id == enterprise_id,
                    SegmentTag.status == TagStatus.CONFIRMED,
                )
            )
        )
        if not keys:
            return {}
        chains = ChainService(self.session, self.clock)
        index = await chains.templates.segment_index()
        chain_keys = sorted({index[k][0].key for k in keys if k in index})
        # The analysis reads the district's whole graph: run it as the platform, and hand the
        # enterprise only the names of its chains' segments, nothing of other enterprises.
        system = Principal.system("solutions")
        out: dict[str, Message] = {}
        for chain_key in chain_keys:
            analysis, _graph = await chains.analyze(system, chain_key)
            for seg in analysis.segments:
                if seg.missing:
                    out[seg.key] = Message(
                        N_("fills a chain gap: no local enterprise in {segment}"),
                        segment=seg.name,
                    )
                elif seg.weak and seg.key not in out:
                    out[seg.key] = Message(
                        N_("strengthens the chain: weak local supply in {segment}"),
                        segment=seg.name,
                    )
        return out

    async def for_enterprise(self, actor: Principal, enterprise_id: int) -> list[Suggested]:
        """Solutions suggested for an enterprise, the best-founded first."""
        if not actor.can_see_enterprise(enterprise_id):
            raise NotFound(
                N_("no enterprise {enterprise}"),
                code="enterprise_not_found",
                enterprise=enterprise_id,
            )
        enterprise = await self.session.get(Enterprise, enterprise_id)
        if enterprise is None:
            raise NotFound(
                N_("no enterprise {enterprise}"),
                code="enterprise_not_found",
                enterprise=enterprise_id,
            )
        lacks = await self.lacks(enterprise_id)
        gaps = await self.chain_gaps(enterprise_id)
        code = enterprise.industry_code or ""
        found: dict[int, Suggested] = {}
        for s in await self.session.scalars(sa.select(Solution).order_by(Solution.id)):
            reasons: list[Message] = []
            if code and any(code.startswith(c) for c in s.industry_codes):
                reasons.append(Message(N_("fits its industry class {code}"), code=code))
            for key in s.segments:
                if key in gaps:
                    reasons.append(gaps[key])
            for lack in lacks:
                if LACK_TAGS[lack] in s.tags:
                    reasons.append(_LACK_REASONS[lack])
            if reasons:
                found[s.id] = Suggested(s, reasons)
        return sorted(found.values(), key=lambda x: (-len(x.reasons), x.solution.id))

    async def providers_for_segment(self, segment: str) -> list[Provider]:
        """Providers with a solution for a chain segment (the missing one a 补链 names)."""
        ids = {
            s.provider_id
            for s in await self.session.scalars(sa.select(Solution))
            if segment in s.segments
        }
        rows = await self.session.scalars(
            sa.select(Provider).where(Provider.id.in_(sorted(ids))).order_by(Provider.name)
        )
        return list(rows)


_LACK_REASONS = {
    "devices": Message(N_("no device connected to the platform yet")),
    "identifiers": Message(N_("no identifier prefix registered yet")),
    "cloud_stars": Message(N_("not yet a star-rated cloud enterprise")),
}
