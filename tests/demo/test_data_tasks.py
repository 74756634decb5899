"""The demo ships a monthly data task with its two last months opened and answered."""

from datetime import UTC, datetime

import sqlalchemy as sa

from taihu.accounts import Principal, Role
from taihu.core import Database, FrozenClock
from taihu.demo import demo_plan, demo_templates
from taihu.demo.chains import seed_chains
from taihu.demo.data_tasks import DATA_TASK_KEY, seed_data_tasks
from taihu.reporting import DataTask, DataTaskService
from taihu.surveys import Submission


async def test_the_demo_contains_a_data_task_with_two_answered_months(
    db: Database, clock: FrozenClock
) -> None:
    plan = demo_plan(await demo_templates(db))
    async with db.session() as session:
        await seed_chains(session, clock, plan)
    await seed_data_tasks(db, plan, datetime(2026, 12, 6, 4, 0, tzinfo=UTC))
    async with db.session() as session:
        task = await session.scalar(sa.select(DataTask).where(DataTask.key == DATA_TASK_KEY))
        assert task is not None
        periods = await DataTaskService(session).periods(Principal("a", Role.BUREAU), task.id)
        assert [p.period.period_key for p in periods] == ["2026-11", "2026-10"]
        assert [p.form_id for p in periods] == ["monthly_ops_2026_11", "monthly_ops_2026_10"]
        for p in periods:
            assert 0 < p.rate.answered < p.rate.asked
        states = list(await session.scalars(sa.select(Submission.review_state)))
        assert "approved" in states
        assert "received" in states
