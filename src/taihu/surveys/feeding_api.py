"""HTTP routes feeding the map: proposals and decisions, the chain survey, analytics."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, status

from taihu.accounts import ERROR_RESPONSES, CurrentPrincipal, Role
from taihu.core import DbSession, Id, RuntimeDep
from taihu.surveys.analytics import survey_figures
from taihu.surveys.chain_form import CHAIN_FORM_ID, install_chain_form
from taihu.surveys.feeding_schemas import FiguresOut, InstalledOut, ProposalOut
from taihu.surveys.proposals import Proposals
from taihu.surveys.review import Review

__all__ = ["router"]

router = APIRouter(tags=["surveys"])
_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such survey or proposal"}}
_DECIDED: dict[int | str, dict[str, Any]] = {409: {"description": "Decided already"}}


@router.get(
    "/api/surveys/{form_id}/proposals",
    summary="What approved submissions propose",
    description="Registry updates (`registry:employees`) and supply edges (`edge:suppliers[1]`) "
    "drawn from the bound answers of approved submissions, with the value before and the value "
    "proposed; `problem` says why one cannot be accepted. Staff roles.",
    response_model=list[ProposalOut],
    responses={**ERROR_RESPONSES, **_NOT_FOUND},
)
async def list_proposals(
    form_id: str,
    principal: CurrentPrincipal,
    session: DbSession,
    runtime: RuntimeDep,
    state: Literal["proposed", "accepted", "rejected"] | None = None,
) -> list[ProposalOut]:
    rows = await Proposals(session, runtime.clock).find(principal, form_id, state)
    return [ProposalOut.of(r) for r in rows]


@router.post(
    "/api/survey-proposals/{proposal_id}/accept",
    summary="Accept a proposal",
    description="Writes the registry update or the supply edge, naming the submission as its "
    "source (`survey:<form>/<instanceID>` in the edge's `source` and the audit entry). A "
    "proposal with a problem, or one the chains refuse (a supply cycle), is 400. Bureau and "
    "admins. Audited.",
    response_model=ProposalOut,
    responses={**ERROR_RESPONSES, **_NOT_FOUND, **_DECIDED},
)
async def accept(
    proposal_id: Id, principal: CurrentPrincipal, session: DbSession, runtime: RuntimeDep
) -> ProposalOut:
    proposals = Proposals(session, runtime.clock)
    await proposals.accept(principal, proposal_id)
    return ProposalOut.of(await proposals.row(proposal_id))


@router.post(
    "/api/survey-proposals/{proposal_id}/reject",
    summary="Reject a proposal",
    description="Nothing is written to the registry or the chains. Bureau and admins. Audited.",
    response_model=ProposalOut,
    responses={**ERROR_RESPONSES, **_NOT_FOUND, **_DECIDED},
)
async def reject(
    proposal_id: Id, principal: CurrentPrincipal, session: DbSession, runtime: RuntimeDep
) -> ProposalOut:
    proposals = Proposals(session, runtime.clock)
    await proposals.reject(principal, proposal_id)
    return ProposalOut.of(await proposals.row(proposal_id))


@router.post(
    "/api/survey-builtins/chain-survey",
    summary="Install the built-in chain survey (产业链摸底)",
    description=f"Writes the XLSForm `{CHAIN_FORM_ID}` from the current chain templates and "
    "publishes it; again with unchanged templates it changes nothing (`new: false`). Bureau and "
    "admins. Audited.",
    status_code=status.HTTP_200_OK,
    response_model=InstalledOut,
    responses=ERROR_RESPONSES,
)
async def install(
    principal: CurrentPrincipal, session: DbSession, runtime: RuntimeDep
) -> InstalledOut:
    principal.require_role(Role.BUREAU)
    version, new = await install_chain_form(session, runtime.clock, principal)
    return InstalledOut(form_id=CHAIN_FORM_ID, version=version.version, new=new)


@router.get(
    "/api/surveys/{form_id}/analytics",
    summary="A survey's analytics",
    description="Response rate by township and by industry class, a summary per question of the "
    "published version (choices counted; numbers: count, min, median, max, histogram) over the "
    "answers not rejected, and the enterprises asked that have not answered. Staff roles.",
    response_model=FiguresOut,
    responses={**ERROR_RESPONSES, **_NOT_FOUND},
)
async def analytics(
    form_id: str, principal: CurrentPrincipal, session: DbSession, runtime: RuntimeDep
) -> FiguresOut:
    principal.require_role(Role.BUREAU, Role.AUDITOR)
    survey = await Review(session, runtime.clock).survey(form_id)
    figures = await survey_figures(session, principal, survey, runtime.clock.now().date())
    return FiguresOut.of(figures)
