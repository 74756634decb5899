"""An analyst's decisions on what approved submissions propose: accept or reject.

Accepting writes the change with the submission as its source; rejecting writes nothing. Both
are bureau work, audited; a decided proposal stays decided.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from taihu.accounts import Principal, Role, record_audit
from taihu.chains import EdgeIn, SupplyEdge, write_edges
from taihu.core import N_, Clock, Conflict, ImportReport, InvalidInput, NotFound, SystemClock
from taihu.enterprises import Enterprise, EnterpriseService, Profile
from taihu.surveys.feeding import source_of
from taihu.surveys.models import Proposal, Submission, Survey

__all__ = ["PROPOSAL_STATES", "ProposalRow", "Proposals"]

PROPOSAL_STATES = ("proposed", "accepted", "rejected")


@dataclass(frozen=True, slots=True)
class ProposalRow:
    """A proposal with the names a reader needs: the enterprise and the submission."""

    proposal: Proposal
    enterprise_name: str
    instance_id: str


class Proposals:
    """Listing and deciding a survey's proposals."""

    def __init__(self, session: AsyncSession, clock: Clock | None = None) -> None:
        self.session = session
        self.clock = clock or SystemClock()

    async def _survey(self, form_id: str) -> Survey:
        survey = await self.session.scalar(sa.select(Survey).where(Survey.form_id == form_id))
        if survey is None:
            raise NotFound(N_("no survey {form_id}"), code="survey_not_found", form_id=form_id)
        return survey

    async def find(
        self, actor: Principal, form_id: str, state: str | None = None
    ) -> list[ProposalRow]:
        """A survey's proposals (staff roles), oldest first."""
        actor.require_role(Role.BUREAU, Role.AUDITOR)
        if state is not None and state not in PROPOSAL_STATES:
            raise InvalidInput(N_("{state} is not a proposal state ({choices})"),
                               code="bad_proposal_state", state=state[:20],
                               choices=", ".join(PROPOSAL_STATES))  # fmt: skip
        survey = await self._survey(form_id)
        query = (
            sa.select(Proposal, Enterprise.name, Submission.instance_id)
            .join(Enterprise, Enterprise.id == Proposal.enterprise_id)
            .join(Submission, Submission.id == Proposal.submission_id)
            .where(Proposal.survey_id == survey.id)
            .order_by(Proposal.id)
        )
        if state:
            query = query.where(Proposal.state == state)
        return [ProposalRow(p, n, i) for p, n, i in (await self.session.execute(query)).all()]

    async def row(self, proposal_id: int) -> ProposalRow:
        """One proposal with its names (after a decision, for the answer)."""
        found = (
            await self.session.execute(
                sa.select(Proposal, Enterprise.name, Submission.instance_id)
                .join(Enterprise, Enterprise.id == Proposal.enterprise_id)
                .join(Submission, Submission.id == Proposal.submission_id)
                .where(Proposal.id == proposal_id)
            )
        ).one()
        return ProposalRow(*found)

    async def _open(self, actor: Principal, proposal_id: int) -> tuple[Proposal, str]:
        actor.require_role(Role.BUREAU)
        proposal = await self.session.get(Proposal, proposal_id, with_for_update=True)
        if proposal is None:
            raise NotFound(N_("no proposal {id}"), code="proposal_not_found", id=proposal_id)
        if proposal.state != "proposed":
            raise Conflict(N_("proposal {id} is {state} already"), code="proposal_decided",
                           id=proposal_id, state=proposal.state)  # fmt: skip
        survey = await self.session.get(Survey, proposal.survey_id)
        submission = await self.session.get(Submission, proposal.submission_id)
        assert survey is not None
        assert submission is not None
        return proposal, source_of(survey, submission)

    async def accept(self, actor: Principal, proposal_id: int) -> Proposal:
        """Write what the proposal says, naming the submission as its source."""
        proposal, source = await self._open(actor, proposal_id)
        if proposal.problem:
            raise InvalidInput(N_("this proposal cannot be accepted: {problem}"),
                               code="proposal_invalid", problem=proposal.problem)  # fmt: skip
        if proposal.kind == "registry":
            await self._registry(actor, proposal, source)
        else:
            proposal.edge_id = await self._edge(actor, proposal.after, source)
        await self._decide(actor, proposal, "accepted", source)
        return proposal

    async def reject(self, actor: Principal, proposal_id: int) -> Proposal:
        """Leave the registry and the chains as they are."""
        proposal, source = await self._open(actor, proposal_id)
        await self._decide(actor, proposal, "rejected", source)
        return proposal

    async def _decide(self, actor: Principal, proposal: Proposal, state: str, source: str) -> None:
        now = self.clock.now()
        proposal.state, proposal.decided_by, proposal.decided_at = state, actor.name, now
        await self.session.flush()
        await record_audit(self.session, actor, f"survey.proposal.{state[:-2]}",
                           "survey_proposal", proposal.id, before=proposal.before,
                           after={"key": proposal.key, **proposal.after, "source": source,
                                  "edge_id": proposal.edge_id}, at=now)  # fmt: skip

    async def _registry(self, actor: Principal, proposal: Proposal, source: str) -> None:
        enterprise = await self.session.get(Enterprise, proposal.enterprise_id)
        assert enterprise is not None
        facts: dict[str, Any] = {
            name: getattr(enterprise, name) for name in Profile.__dataclass_fields__
        }
        facts.update(proposal.after)
        service = EnterpriseService(self.session, self.clock)
        await service.update(actor, enterprise.id, None, Profile(**facts), source=source)

    async def _edge(self, actor: Principal, facts: dict[str, Any], source: str) -> int:
        edge = EdgeIn(
            buyer_code=facts["buyer_code"], input_category=facts["input"],
            annual_value=float(facts["value"]), ring=facts["ring"],
            supplier_code=facts.get("supplier_code"), supplier_name=facts.get("supplier_name"),
            substitutable=bool(facts.get("substitutable")), supplier_city=facts.get("city"),
            supplier_province=facts.get("province"), supplier_country=facts.get("country"),
            source=source,
        )  # fmt: skip
        report = await write_edges(self.session, self.clock, actor, [(1, edge)], ImportReport())
        if report.problems:
            raise InvalidInput(N_("this proposal cannot be accepted: {problem}"),
                               code="proposal_invalid",
                               problem="; ".join(p.reason for p in report.problems))  # fmt: skip
        key = facts.get("supplier_code") or None
        query = sa.select(SupplyEdge.id).where(
            SupplyEdge.source == source, SupplyEdge.input_category == edge.input_category
        )
        if key:
            query = query.where(SupplyEdge.supplier_key == key)
        else:
            query = query.where(SupplyEdge.supplier_id.is_(None),
                                SupplyEdge.supplier_name == edge.supplier_name)  # fmt: skip
        found = await self.session.scalar(query.order_by(SupplyEdge.id.desc()).limit(1))
        assert found is not None
        return int(found)
