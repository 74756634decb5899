"""Matchmaking (供需对接): an enterprise's need, matched by the bureau, tracked to its outcome.

An enterprise's users post and follow their own needs and may withdraw them; the bureau sees
every need, matches it with a provider (and a solution), and closes it with an outcome. Each
step leaves an event in the need's history and an entry in the audit log.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from taihu.accounts import Principal, Role, record_audit
from taihu.core import N_, Clock, Conflict, InvalidInput, NotFound, SystemClock
from taihu.enterprises import Enterprise
from taihu.solutions.catalogue import NEED_ACTIONS, OUTCOMES
from taihu.solutions.models import Need, NeedEvent, Provider, Solution
from taihu.solutions.pool import PoolService

__all__ = ["NeedService"]


class NeedService:
    """Needs within one unit of work."""

    def __init__(self, session: AsyncSession, clock: Clock | None = None) -> None:
        self.session = session
        self.clock = clock or SystemClock()

    async def post(
        self,
        actor: Principal,
        enterprise_id: int,
        title: str,
        description: str = "",
        tags: tuple[str, ...] = (),
    ) -> Need:
        """An enterprise's users post a need for it."""
        actor.require_enterprise(enterprise_id)
        if not title.strip():
            raise InvalidInput(N_("a need needs a title"), code="bad_need")
        if await self.session.get(Enterprise, enterprise_id) is None:  # an admin may name any id
            raise NotFound(
                N_("no enterprise {enterprise}"),
                code="enterprise_not_found",
                enterprise=enterprise_id,
            )
        known = {t.key for t in await PoolService(self.session, self.clock).tags()}
        if any(t not in known for t in tags):
            raise InvalidInput(
                N_("unknown tag {tag}"), code="bad_tag", tag=next(t for t in tags if t not in known)
            )
        now = self.clock.now()
        row = Need(
            enterprise_id=enterprise_id,
            title=title.strip()[:200],
            description=description[:4000],
            tags=list(dict.fromkeys(tags)),
            status="open",
            outcome="",
            created_at=now,
            updated_at=now,
        )
        self.session.add(row)
        await self.session.flush()
        await self._event(actor, row, "post", "")
        return row

    async def all(self, actor: Principal, status: str | None = None) -> list[Need]:
        """The needs the actor sees (staff: all; enterprise users: their own), newest first."""
        query = sa.select(Need).order_by(Need.id.desc())
        if not actor.sees_all_enterprises:
            query = query.where(Need.enterprise_id.in_(sorted(actor.enterprise_ids)))
        if status:
            query = query.where(Need.status == status)
        return list(await self.session.scalars(query))

    async def get(self, actor: Principal, need_id: int) -> Need:
        """One need, if the actor sees it (another enterprise's is not found, not forbidden)."""
        row = await self.session.get(Need, need_id)
        if row is None or not actor.can_see_enterprise(row.enterprise_id):
            raise NotFound(N_("no need {need}"), code="need_not_found", need=need_id)
        return row

    async def history(self, actor: Principal, need_id: int) -> list[NeedEvent]:
        """A need's events in order."""
        await self.get(actor, need_id)
        rows = await self.session.scalars(
            sa.select(NeedEvent).where(NeedEvent.need_id == need_id).order_by(NeedEvent.id)
        )
        return list(rows)

    async def act(
        self,
        actor: Principal,
        need_id: int,
        action: str,
        comment: str = "",
        *,
        provider_id: int | None = None,
        solution_id: int | None = None,
        outcome: str = "",
    ) -> Need:
        """One step of the life cycle: match, start, close (bureau) or withdraw (the enterprise)."""
        row = await self.get(actor, need_id)
        if action not in NEED_ACTIONS:
            raise InvalidInput(N_("unknown action {action}"), code="bad_action", action=action)
        if action == "withdraw":
            actor.require_enterprise(row.enterprise_id)
        elif action == "start":
            if not (actor.role is Role.BUREAU or row.enterprise_id in actor.enterprise_ids):
                actor.require_role(Role.BUREAU)
        else:
            actor.require_role(Role.BUREAU)
        sources, target = NEED_ACTIONS[action]
        if row.status not in sources:
            raise Conflict(
                N_("a need that is {status} cannot be {action}"),
                code="bad_need_state",
                status=row.status,
                action=action,
            )
        before = {
            "status": row.status,
            "provider_id": row.provider_id,
            "solution_id": row.solution_id,
            "outcome": row.outcome,
        }
        if action == "match":
            await self._match(row, provider_id, solution_id)
        if action == "close":
            if outcome not in OUTCOMES or not comment.strip():
                raise InvalidInput(
                    N_("closing a need says its outcome ({outcomes}) and how"),
                    code="bad_outcome",
                    outcomes=", ".join(OUTCOMES),
                )
            row.outcome = outcome
        row.status = target
        row.updated_at = self.clock.now()
        await self._event(actor, row, action, comment, before=before)
        return row

    async def _match(self, row: Need, provider_id: int | None, solution_id: int | None) -> None:
        if solution_id is not None:
            solution = await self.session.get(Solution, solution_id)
            if solution is None:
                raise NotFound(
                    N_("no solution {solution}"), code="solution_not_found", solution=solution_id
                )
            if provider_id is not None and provider_id != solution.provider_id:
                raise InvalidInput(
                    N_("solution {solution} is not that provider's"),
                    code="bad_match",
                    solution=solution_id,
                )
            provider_id = solution.provider_id
        if provider_id is None:
            raise InvalidInput(N_("a match names a provider or a solution"), code="bad_match")
        if await self.session.get(Provider, provider_id) is None:
            raise NotFound(
                N_("no provider {provider}"), code="provider_not_found", provider=provider_id
            )
        row.provider_id, row.solution_id = provider_id, solution_id

    async def _event(
        self,
        actor: Principal,
        row: Need,
        action: str,
        comment: str,
        before: dict[str, Any] | None = None,
    ) -> None:
        now = self.clock.now()
        self.session.add(
            NeedEvent(
                need_id=row.id,
                action=action,
                status=row.status,
                actor=actor.name[:128],
                comment=comment[:1000],
                at=now,
            )
        )
        await self.session.flush()
        after = {
            "status": row.status,
            "provider_id": row.provider_id,
            "solution_id": row.solution_id,
            "outcome": row.outcome,
            "comment": comment,
        }
        await record_audit(
            self.session,
            actor,
            f"solution_need.{action}",
            "solution_need",
            row.id,
            before=before,
            after=after,
            at=now,
        )
