"""Demo data of surveys: the built-in 产业链摸底 survey asked of one township, with answers.

The township with the most chain enterprises is asked. Six of them answer from their devices
(OpenRosa, as ODK Collect would): the first three are approved and their proposals accepted,
so their suppliers and customers are supply edges whose source is the submission; the fourth
is approved with its proposals left for the analyst; the last two await review. The others
have not answered, so the analytics page lists them.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from xml.sax.saxutils import escape

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from taihu.accounts import Principal, Role
from taihu.chains import ChainSpec, SegmentSpec
from taihu.core import Database, FrozenClock, InvalidInput
from taihu.demo.chains import DistrictPlan, PlannedFirm
from taihu.enterprises import Enterprise
from taihu.surveys import (
    CHAIN_FORM_ID,
    Assignment,
    Intake,
    Proposal,
    Proposals,
    Review,
    SurveyTarget,
    install_chain_form,
)

__all__ = ["seed_surveys"]

ANSWERING = 6
ACCEPTED = 3


def _instance(version: str, iid: str, firm: PlannedFirm, suppliers: list[str],
              customers: list[str]) -> bytes:  # fmt: skip
    return (
        f'<?xml version="1.0"?><data id="{CHAIN_FORM_ID}" version="{escape(version)}">'
        f"<credit_code>{firm.code}</credit_code><employees>{firm.employees + 12}</employees>"
        f"<revenue_band>{escape(firm.revenue_band)}</revenue_band><chains>{firm.chain}</chains>"
        f"<main_products>{escape(firm.name)}产品</main_products><purchases>5000</purchases>"
        f"{''.join(suppliers)}<sales>8000</sales>{''.join(customers)}"
        f"<difficulties>原材料价格波动，物流成本上升</difficulties>"  # noqa: RUF001
        f"<meta><instanceID>{iid}</instanceID></meta></data>"
    ).encode()


def _supplier(firm: PlannedFirm | None, segment: str, chain: str, *, value: str = "",
              share: str = "", name: str = "", ring: str = "district") -> str:  # fmt: skip
    return (
        f"<suppliers><s_name>{escape(firm.name if firm else name)}</s_name>"
        f"<s_code>{firm.code if firm else ''}</s_code><s_ring>{ring}</s_ring>"
        f"<s_chain>{chain}</s_chain><s_input>{segment}</s_input><s_share>{share}</s_share>"
        f"<s_value>{value}</s_value><s_subst>no</s_subst></suppliers>"
    )


def _customer(firm: PlannedFirm, segment: str, chain: str, share: str) -> str:
    return (
        f"<customers><c_name>{escape(firm.name)}</c_name><c_code>{firm.code}</c_code>"
        f"<c_chain>{chain}</c_chain><c_input>{segment}</c_input><c_share>{share}</c_share>"
        "<c_value/><c_subst>no</c_subst></customers>"
    )


def _answers(
    version: str, firm: PlannedFirm, index: int, plan: DistrictPlan,
    segments: dict[str, tuple[ChainSpec, SegmentSpec]],
) -> bytes:  # fmt: skip
    """A plausible answer: a local supplier upstream, one from another province, a customer."""
    assert firm.segment is not None
    assert firm.chain is not None
    upstream = [k for k, (_, s) in segments.items() if firm.segment in s.supplies]
    downstream = list(segments[firm.segment][1].supplies)
    suppliers, customers = [], []
    if upstream:
        local = [f for f in plan.firms if f.segment == upstream[0] and f.code != firm.code]
        if local:
            pick = local[index % len(local)]
            suppliers.append(_supplier(pick, upstream[0], firm.chain, value=str(300 + 45 * index)))
        suppliers.append(_supplier(None, upstream[-1], firm.chain, share=str(20 + 5 * index),
                                   name=f"浙江示范原料{index + 1}厂", ring="province"))  # fmt: skip
    if downstream:
        buyers = [f for f in plan.firms if f.segment == downstream[0] and f.code != firm.code]
        if buyers:
            customers.append(_customer(buyers[index % len(buyers)], firm.segment, firm.chain,
                                       str(10 + 3 * index)))  # fmt: skip
    return _instance(version, f"uuid:{uuid.UUID(int=0xD3A0 + index)}", firm, suppliers, customers)


async def seed_surveys(
    db: Database, plan: DistrictPlan, chains: tuple[ChainSpec, ...], end: datetime
) -> None:
    """Install the chain survey, ask a township, answer from six enterprises, review three."""
    clock = FrozenClock(end - timedelta(days=6))
    analyst = Principal("analyst", Role.BUREAU)
    segments = {s.key: (c, s) for c in chains for s in c.segments}
    counts: dict[str, int] = {}
    for f in plan.firms:
        if f.segment in segments:
            counts[f.township] = counts.get(f.township, 0) + 1
    township = max(sorted(counts), key=lambda t: counts[t])
    firms = [f for f in plan.firms if f.township == township]
    async with db.session() as session:
        version, _ = await install_chain_form(session, clock, analyst)
        ids = dict(
            (await session.execute(
                sa.select(Enterprise.credit_code, Enterprise.id)
                .where(Enterprise.credit_code.in_([f.code for f in firms]))
            )).all()
        )  # fmt: skip
        # Written directly: an assignment leaves synthetic enterprises out (real surveys never
        # ask them), and every demo enterprise is synthetic.
        assignment = Assignment(
            survey_id=version.survey_id, scope="township", scope_value=township,
            deadline=(end + timedelta(days=14)).date(), created_by=analyst.name,
            created_at=clock.now(),
        )  # fmt: skip
        session.add(assignment)
        await session.flush()
        session.add_all(
            SurveyTarget(survey_id=version.survey_id, enterprise_id=ids[f.code],
                         assignment_id=assignment.id, deadline=assignment.deadline)
            for f in firms
        )  # fmt: skip
        intake, review = Intake(session, clock), Review(session, clock)
        answering = [f for f in firms if f.segment in segments][:ANSWERING]
        for index, firm in enumerate(answering):
            clock.advance(timedelta(hours=7))
            issued = await intake.create_app_user(analyst, f"{firm.name[:20]}平板",
                                                  enterprise_id=ids[firm.code])  # fmt: skip
            device = await intake.device(issued.token)
            xml = _answers(version.version, firm, index, plan, segments)
            submitted = await intake.submit(device, xml, [])
            if index <= ACCEPTED:
                await review.set_state(analyst, CHAIN_FORM_ID, submitted.submission.instance_id,
                                       "approved", "已电话核实")  # fmt: skip
            if index < ACCEPTED:
                await _accept_all(session, clock, analyst, submitted.submission.id)


async def _accept_all(
    session: AsyncSession, clock: FrozenClock, analyst: Principal, sid: int
) -> None:
    """Accept what can be accepted; a proposal the chains refuse stays for the analyst."""
    proposals = Proposals(session, clock)
    pending = list(
        await session.scalars(
            sa.select(Proposal.id).where(Proposal.submission_id == sid, Proposal.problem.is_(None))
        )
    )
    for proposal_id in pending:
        try:
            async with session.begin_nested():
                await proposals.accept(analyst, proposal_id)
        except InvalidInput:
            continue
