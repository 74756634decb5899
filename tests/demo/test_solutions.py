"""The demo stocks the solution pool: providers with documents, solutions with cases, needs."""

from datetime import UTC, datetime

import sqlalchemy as sa

from taihu.core import Database, FrozenClock
from taihu.demo import demo_plan, demo_templates
from taihu.demo.chains import seed_chains
from taihu.demo.solutions import seed_solutions
from taihu.enterprises import Enterprise
from taihu.solutions import (
    GuideService,
    Need,
    PoolService,
    SearchQuery,
    SolutionCase,
    SubjectDocuments,
)

END = datetime(2026, 12, 6, 4, 0, tzinfo=UTC)


async def test_the_demo_stocks_the_pool(db: Database, clock: FrozenClock) -> None:
    plan = demo_plan(await demo_templates(db))
    async with db.session() as session:
        await seed_chains(session, clock, plan)
        rows = list(await session.execute(sa.select(Enterprise.id, Enterprise.credit_code)))
    ids = [enterprise_id for enterprise_id, _ in sorted(rows)][:10]
    provider_code = dict(rows)[ids[-1]]
    await seed_solutions(db, ids, provider_code, END)
    async with db.session() as session:
        pool = PoolService(session)
        providers = await pool.providers()
        assert len(providers) == 4
        linked = [p for p in providers if p.enterprise_id is not None]
        assert [p.enterprise_id for p in linked] == [ids[-1]]  # the district's own company
        assert len(await pool.search(SearchQuery())) == 10
        assert await session.scalar(sa.select(sa.func.count()).select_from(SolutionCase)) >= 10
        documents = SubjectDocuments(session)
        held = await documents.of_many("provider", [p.id for p in providers])
        assert [len(held[p.id]) for p in linked] == [1]
        cases = list(await session.scalars(sa.select(SolutionCase.id)))
        reports = await documents.of_many("case", cases)
        assert sum(len(r) for r in reports.values()) == 1
        assert [g.published for g in await GuideService(session).published()] == [True]
        states = sorted(await session.scalars(sa.select(Need.status)))
        assert states == ["closed", "in_progress", "open"]
        needs = await session.scalar(sa.select(sa.func.count()).select_from(Need))
        assert needs == 3
