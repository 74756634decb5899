"""The demo's power history has the shape docs/monitor.md promises."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import sqlalchemy as sa

from taihu.accounts import Principal, Role
from taihu.chains import TemplateStore, import_templates, parse_template, template_document
from taihu.chains.templates import builtin_templates
from taihu.core import Database, FrozenClock
from taihu.demo import ENTERPRISE_NAMES, demo_plan, demo_templates, plan_district
from taihu.demo.chains import seed_chains
from taihu.demo.monitor import FIRST_DAY, LAST_DAY, SPRING_FESTIVAL, plan_power, seed_monitor
from taihu.enterprises import Enterprise
from taihu.monitor import (
    Params,
    PowerDay,
    PowerMatrix,
    baselines,
    day_index,
    quality_flags,
    refresh_columns,
)
from taihu.monitor.groups import groupings, load_registry
from tests.conftest import World
from tests.web.test_console import sign_in

FIBRE_DISTRICT = Path(__file__).resolve().parents[2] / "examples/chains/fibre-district.json"


def test_shutdown_staggered_restart_and_anomalies() -> None:
    plan = demo_plan(builtin_templates())  # a fresh database's templates: the starting set
    rows, stalled, spiker = plan_power(plan)
    assert (LAST_DAY - FIRST_DAY).days + 1 == 150
    codes = tuple(sorted({c for c, _, _ in rows}))
    row = {c: i for i, c in enumerate(codes)}
    matrix = PowerMatrix.build(range(len(codes)), FIRST_DAY, LAST_DAY,
                               ((row[c], d, k) for c, d, k in rows))  # fmt: skip
    base = baselines(matrix, (FIRST_DAY, FIRST_DAY + timedelta(days=30)))
    rates = {
        day: day_index(matrix.day(day), base, Params()).resumption_rate
        for day in (SPRING_FESTIVAL, SPRING_FESTIVAL + timedelta(days=10),
                    SPRING_FESTIVAL + timedelta(days=25), LAST_DAY)
    }  # fmt: skip
    values = list(rates.values())
    assert values[0] == 0.0  # everyone is shut for the festival
    assert 0 < values[1] < values[2] < values[3]  # restarts come sector by sector
    assert values[3] < 1.0  # a few never get going
    assert stalled
    assert spiker == stalled[0]
    flags = quality_flags(matrix, base, LAST_DAY - timedelta(days=30), LAST_DAY, theta=0.3,
                          spike_factor=3.0)  # fmt: skip
    kinds = {f.kind for f in flags}
    assert kinds == {"missing", "spike"}
    assert [f.enterprise_id for f in flags if f.kind == "spike"] == [row[spiker]]


async def test_the_demo_monitor_opens_on_a_day_with_plausible_rates(
    client: httpx.AsyncClient, world: World, db: Database, clock: FrozenClock
) -> None:
    """`make demo` on 2026-12-06: the grid file ends 04-29, 30 meters report the last days."""
    plan = demo_plan(await demo_templates(db))
    async with db.session() as session:
        await seed_chains(session, clock, plan)
    now = datetime(2026, 12, 6, 4, 0, tzinfo=UTC)
    await seed_monitor(db, plan, now)
    today = now.date()
    async with db.session() as session:  # what the meter sync writes for the demo's meters
        metered = list(await session.scalars(sa.select(Enterprise.id).order_by(Enterprise.id)
                                             .limit(30)))  # fmt: skip
        for day in (today - timedelta(days=1), today):
            session.add_all(PowerDay(enterprise_id=e, day=day, kwh=2000.0, source="meter",
                                     updated_at=now) for e in metered)  # fmt: skip
        await refresh_columns(session)
    staff = await world.bearer("viewer", Role.BUREAU)
    opening = (await client.get(f"/api/monitor/opening?today={today}", headers=staff)).json()
    assert opening["date"] == LAST_DAY.isoformat()
    assert opening["enough"] is True
    assert opening["latest"] == today.isoformat()
    assert opening["latest_readings"] == 30
    assert opening["latest_counted"] == 0
    day = (await client.get(f"/api/monitor/index?date={LAST_DAY}&group=township",
                            headers=staff)).json()  # fmt: skip
    assert day["enterprises"] > 0.9 * len(plan.firms)
    assert 0.5 < day["resumption_rate"] < 1
    assert 0.5 < day["production_rate"] < 1.1
    assert all(g["production_rate"] < 1.2 for g in day["groups"].values())
    meter_day = (await client.get(f"/api/monitor/index?date={today}", headers=staff)).json()
    assert meter_day["enterprises"] == 0  # no meter baseline: not 30/30 at 230 %
    await world.user("analyst", Role.BUREAU)
    await sign_in(client, "analyst")
    page = await client.get("/monitor")
    assert page.status_code == 200
    assert f"显示 {LAST_DAY.isoformat()}" in page.text  # zh_CN, the console's default
    trend = json.loads(page.text.split('id="monitor-data">')[1].split("</script>")[0])
    assert sum(v is not None for v in trend["series"][0]["values"]) == 60
    assert trend["max"] == 100


async def test_the_demo_plans_over_the_districts_current_templates(
    db: Database, clock: FrozenClock
) -> None:
    """A template the district made (and an edited built-in) is what the demo plans over."""
    system = Principal.system("test")
    async with db.session() as session:
        done = await import_templates(session, clock, system, "fibre-district.json",
                                      FIBRE_DISTRICT.read_bytes())  # fmt: skip
        assert done.report.applied, done.report.problems
        store = TemplateStore(session, clock)
        elevator = await store.get("elevator")
        kept = [{**s, "supplies": []} for s in template_document(elevator)["segments"][:2]]
        shorter = parse_template({**template_document(elevator), "segments": kept})
        await store.save(system, shorter)
    chains = await demo_templates(db)
    assert chains[-1].key == "fibre-district"
    plan = plan_district(ENTERPRISE_NAMES, chains, enterprises=200)
    own = [f for f in plan.firms if f.chain == "fibre-district"]
    assert {f.segment for f in own} == {"fd.preform", "fd.fibre", "fd.cable", "fd.network"}
    lift = {f.segment for f in plan.firms if f.chain == "elevator"}
    assert lift == {s.key for s in shorter.segments}
    rows, _stalled, _spiker = plan_power(plan)
    assert {c for c, _, _ in rows} >= {f.code for f in own}
    async with db.session() as session:  # its tags and edges go in through the services
        report = await seed_chains(session, clock, plan)
    assert report.applied, report.problems
    async with db.session() as session:
        (grouping,) = await groupings(session, await load_registry(session), ["chain"])
    members = grouping.rows[grouping.groups == grouping.labels.index("fibre-district")]
    assert len(members) == len(own)
