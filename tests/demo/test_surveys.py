"""The demo ships the 产业链摸底 survey with answers: accepted, pending and missing."""

from datetime import UTC, datetime

import sqlalchemy as sa

from taihu.accounts import Principal, Role
from taihu.chains import SupplyEdge
from taihu.core import Database, FrozenClock
from taihu.demo import demo_plan, demo_templates
from taihu.demo.chains import seed_chains
from taihu.demo.surveys import seed_surveys
from taihu.surveys import CHAIN_FORM_ID, Proposal, Submission, Survey, survey_figures


async def test_the_demo_contains_the_chain_survey_with_answers(
    db: Database, clock: FrozenClock
) -> None:
    chains = await demo_templates(db)
    plan = demo_plan(chains)
    async with db.session() as session:
        await seed_chains(session, clock, plan)
    await seed_surveys(db, plan, chains, datetime(2026, 12, 6, 4, 0, tzinfo=UTC))
    async with db.session() as session:
        survey = await session.scalar(sa.select(Survey).where(Survey.form_id == CHAIN_FORM_ID))
        assert survey is not None
        assert survey.state == "open"
        states = list(await session.scalars(sa.select(Submission.review_state)))
        assert sorted(states) == ["approved"] * 4 + ["received"] * 2
        query = sa.select(Proposal.state, sa.func.count()).group_by(Proposal.state)
        decided: dict[str, int] = dict(list(await session.execute(query)))
        assert decided["accepted"] >= 6
        assert decided["proposed"] >= 3
        sourced = list(
            await session.scalars(sa.select(SupplyEdge).where(SupplyEdge.source.is_not(None)))
        )
        assert len(sourced) >= 3
        assert all(e.source.startswith(f"survey:{CHAIN_FORM_ID}/uuid:") for e in sourced)
        figures = await survey_figures(
            session, Principal("analyst", Role.BUREAU), survey, clock.now().date()
        )
        assert len(figures.by_township) == 1
        assert figures.by_township[0].answered == 6
        assert len(figures.missing) == figures.by_township[0].asked - 6 > 0
