"""Statistics and listings of the node: counts per day, prefix and enterprise; pages of handles.

The counts are those of ``id_stats_daily``: registrations are added in the writing transaction
(one upsert per prefix and batch), resolutions are gathered in each worker's memory and added
every few seconds (see ``resolver.py``), so reading them never touches the resolution path.
Who sees what: the platform's staff roles see every prefix, an enterprise user the prefixes of
the enterprises they act for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from taihu.accounts import Principal
from taihu.core import N_, InvalidInput, PermissionDenied
from taihu.enterprises import Enterprise
from taihu.identifiers.models import HandleRow, Prefix, StatsDaily
from taihu.identifiers.registration import IdentifierService, parse_prefix

__all__ = ["MAX_STATS_DAYS", "DayCount", "HandleEntry", "StatisticsService"]

MAX_STATS_DAYS = 366


@dataclass(frozen=True, slots=True)
class DayCount:
    """Registrations and resolutions of one prefix on one day."""

    day: date
    prefix: str
    enterprise_id: int | None
    enterprise: str | None
    registrations: int
    resolutions: int


@dataclass(frozen=True, slots=True)
class HandleEntry:
    """One identifier of a listing."""

    handle: str
    template: str | None
    created_at: datetime
    updated_at: datetime


class StatisticsService:
    """Read-only reports over prefixes, handles and the daily counters."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _visible(self, actor: Principal, prefix: Prefix) -> None:
        if actor.sees_all_enterprises or (
            prefix.enterprise_id is not None and prefix.enterprise_id in actor.enterprise_ids
        ):
            return
        raise PermissionDenied(
            N_("{actor} may not read the figures of prefix {prefix}"),
            code="insufficient_permissions",
            actor=actor.name,
            prefix=prefix.prefix,
        )

    async def daily(
        self, actor: Principal, since: date, until: date, *, prefix: str | None = None
    ) -> list[DayCount]:
        """Counts per day and prefix (with its enterprise) the actor may see, by day and prefix."""
        if until < since:
            raise InvalidInput(N_("the period ends before it starts"), code="bad_period")
        if (until - since).days >= MAX_STATS_DAYS:
            raise InvalidInput(
                N_("at most {days} days at a time"), code="bad_period", days=MAX_STATS_DAYS
            )
        query = (
            sa.select(
                StatsDaily.day, StatsDaily.prefix, Prefix.enterprise_id, Enterprise.name,
                StatsDaily.registrations, StatsDaily.resolutions,
            )
            .join(Prefix, Prefix.prefix == StatsDaily.prefix)
            .outerjoin(Enterprise, Enterprise.id == Prefix.enterprise_id)
            .where(StatsDaily.day >= since, StatsDaily.day <= until)
            .order_by(StatsDaily.day, StatsDaily.prefix)
        )  # fmt: skip
        if prefix is not None:
            row = await IdentifierService(self.session).get_prefix(parse_prefix(prefix))
            self._visible(actor, row)
            query = query.where(StatsDaily.prefix == row.prefix)
        elif not actor.sees_all_enterprises:
            query = query.where(Prefix.enterprise_id.in_(sorted(actor.enterprise_ids)))
        rows = await self.session.execute(query)
        return [
            DayCount(day, name, enterprise_id, enterprise, int(reg or 0), int(res or 0))
            for day, name, enterprise_id, enterprise, reg, res in rows
        ]

    async def handles(
        self, actor: Principal, prefix: str, *, page: int, size: int
    ) -> tuple[list[HandleEntry], int]:
        """One page (from 1) of the identifiers under a prefix, by handle, and their count."""
        row = await IdentifierService(self.session).get_prefix(parse_prefix(prefix))
        self._visible(actor, row)
        where = HandleRow.prefix_id == row.id
        total = await self.session.scalar(sa.select(sa.func.count()).where(where))
        found = await self.session.execute(
            sa.select(HandleRow.handle, HandleRow.template, HandleRow.created_at,
                      HandleRow.updated_at)
            .where(where).order_by(HandleRow.key).limit(size).offset((page - 1) * size)
        )  # fmt: skip
        return [HandleEntry(*r) for r in found], int(total or 0)
