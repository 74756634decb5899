"""The demo ships the district's awards of past years and applications at three points of review."""

from collections import Counter
from datetime import UTC, datetime

import sqlalchemy as sa

from taihu.accounts import Principal, Role
from taihu.core import Database, FrozenClock
from taihu.demo import demo_plan, demo_templates
from taihu.demo.chains import seed_chains
from taihu.demo.programmes import seed_programmes
from taihu.enterprises import Enterprise
from taihu.programmes import Award, ProgrammeApplication, RegistryService

END = datetime(2026, 12, 6, 4, 0, tzinfo=UTC)


async def test_the_demo_holds_awards_and_applications_under_review(
    db: Database, clock: FrozenClock
) -> None:
    plan = demo_plan(await demo_templates(db))
    async with db.session() as session:
        await seed_chains(session, clock, plan)
        named = list(await session.scalars(sa.select(Enterprise.id).order_by(Enterprise.id)))[:10]
    await seed_programmes(db, named, END)
    bureau = Principal("b", Role.BUREAU)
    async with db.session() as session:
        enterprises = await session.scalar(sa.select(sa.func.count()).select_from(Enterprise))
        counts = await RegistryService(session).counts(bureau)
        per_programme = Counter[str]()
        for row in counts:
            per_programme[row["programme"]] += row["count"]
        # Every built-in programme has holders, star-rated cloud enterprises the most.
        assert len(per_programme) == 9
        assert per_programme.most_common(1)[0][0] == "cloud_stars"
        # Drawn from every enterprise but the two the demo's enterprise user acts for.
        assert per_programme["cloud_stars"] == round((enterprises - 2) / 6)
        awards = list(await session.scalars(sa.select(Award)))
        assert not {a.enterprise_id for a in awards} & {named[0], named[7]}
        assert all(a.year < END.year and a.since.year == a.year for a in awards)
        assert {a.grade for a in awards if a.level == "national"} >= {"little_giant"}
        # Valid three years: some of the oldest have lapsed, the newest run past the demo's day.
        lapsed = [a for a in awards if a.until is not None and a.until < END.date()]
        assert 0 < len(lapsed) < len(awards)
        applications = {
            a.enterprise_id: (a.status, a.stage)
            for a in await session.scalars(sa.select(ProgrammeApplication))
        }
        assert applications == {
            named[0]: ("in_review", "district"),
            named[7]: ("returned", "district"),
            named[2]: ("in_review", "city"),
        }
