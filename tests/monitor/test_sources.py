"""One enterprise's day and its baseline come from the same source; the window and the opening day.

Worked by hand. Four enterprises (helpers.registry), grid file December 2025:

    A  100 kWh a day           B  200 kWh a day        C  nothing        D  nothing
    2026-02-10 (grid):  A 50, B 50, C 10
    2026-03-01 (meters, e.g. a sub-meter on one line): A 230

On 2026-03-01 A's reading is a meter's; A has no meter reading in December, so no baseline of
that source: nothing is counted (before, 230 / 100 gave 1 of 1 resumed, 复产率 230 %). The
dashboard opens on 2026-02-10: 2 of the 2 enterprises with a baseline are counted (>= 50 %);
2026-03-01 has 1 reading and 0 counted.
"""

from datetime import date, timedelta

import httpx
import numpy as np
import pytest
import sqlalchemy as sa

from taihu.accounts import AuditEntry, Role
from taihu.core import Database, FrozenClock
from taihu.monitor import (
    MonitorService,
    Params,
    PowerDay,
    PowerMatrix,
    baselines,
    day_baselines,
    day_index,
    default_window,
    import_power,
    refresh_columns,
)
from tests.conftest import World
from tests.monitor.helpers import SYSTEM, code, power_csv, registry
from tests.web.test_console import sign_in

DEC = (date(2025, 12, 1), date(2025, 12, 31))
GRID_DAY = date(2026, 2, 10)
METER_DAY = date(2026, 3, 1)
TODAY = date(2026, 3, 5)


def test_a_meter_day_is_never_divided_by_the_grid_baseline() -> None:
    rows: list[tuple[int, date, float, bool]] = []
    for i in range(31):
        rows += [(1, DEC[0] + timedelta(days=i), 100.0, False),
                 (2, DEC[0] + timedelta(days=i), 200.0, False)]  # fmt: skip
    rows.append((2, DEC[0], 40.0, True))  # B also has one meter day in December: B(meter) = 40
    rows += [(1, METER_DAY, 230.0, True), (2, METER_DAY, 20.0, True)]
    matrix = PowerMatrix.build((1, 2), DEC[0], METER_DAY, rows)
    grid, meter = baselines(matrix, DEC), baselines(matrix, DEC, meter=True)
    assert grid.tolist() == [100.0, pytest.approx(200.0 * 30 / 30)]  # B's meter day left out
    assert np.isnan(meter[0])
    assert meter[1] == 40.0
    cells = day_baselines(matrix, grid, meter)
    j = matrix.column(METER_DAY)
    assert np.isnan(cells[0, j])
    assert cells[1, j] == 40.0
    values = day_index(matrix.day(METER_DAY), cells[:, j], Params())
    # only B is counted, against its meters' baseline: 20 / 40 = 50 %, resumed (>= 30 %)
    assert (values.enterprises, values.resumed, values.production_rate) == (1, 1, 0.5)
    assert cells[0, matrix.column(DEC[0])] == 100.0  # a grid day keeps the grid baseline


def test_the_default_window_comes_from_the_data() -> None:
    days = [DEC[0] + timedelta(days=i) for i in range(150)]
    assert default_window(date(2026, 12, 6), days).window == DEC
    assert default_window(date(2026, 12, 6), days).rule == "december"
    assert default_window(date(2027, 3, 1), days).window == DEC  # latest December with data
    spring = [date(2026, 3, 15) + timedelta(days=i) for i in range(60)]
    choice = default_window(date(2026, 5, 10), spring)  # no December: the first month
    assert (choice.window, choice.rule) == ((date(2026, 3, 1), date(2026, 3, 31)), "first_month")
    assert default_window(date(2026, 3, 20), spring).rule == "none"  # March not over yet
    assert default_window(date(2026, 3, 20), []).window == DEC


async def _load(db: Database, clock: FrozenClock) -> dict[str, int]:
    ids = await registry(db, clock)
    rows: list[tuple[str, date | str, float]] = []
    for i in range(31):
        rows += [(code(0), DEC[0] + timedelta(days=i), 100.0),
                 (code(1), DEC[0] + timedelta(days=i), 200.0)]  # fmt: skip
    rows += [(code(0), GRID_DAY, 50.0), (code(1), GRID_DAY, 50.0), (code(2), GRID_DAY, 10.0)]
    async with db.session() as session:
        report = await import_power(session, clock, SYSTEM, "p.csv", power_csv(rows),
                                    max_kwh=1e6, today=TODAY)  # fmt: skip
        assert report.applied, report.problems
        # What the meter sync writes (power._upsert with source "meter"), without a device hub.
        session.add(PowerDay(enterprise_id=ids[code(0)], day=METER_DAY, kwh=230.0,
                             source="meter", updated_at=clock.now()))  # fmt: skip
        await refresh_columns(session)
    return ids


async def test_service_source_rule_and_opening_day(db: Database, clock: FrozenClock) -> None:
    ids = await _load(db, clock)
    async with db.session() as session:
        monitor = MonitorService(session)
        report = await monitor.index(SYSTEM, METER_DAY)
        assert (report.district.enterprises, report.district.resumed) == (0, 0)
        assert report.district.production_rate is None
        assert ids[code(0)] in [i for i, _, _ in report.no_baseline]
        assert report.no_reading == 1  # B: a grid baseline, no reading
        assert (report.window, report.rule) == (DEC, "december")
        grid_day = await monitor.index(SYSTEM, GRID_DAY)
        assert (grid_day.district.enterprises, grid_day.district.resumed) == (2, 1)
        assert grid_day.district.production_rate == pytest.approx(100 / 300)
        opening = await monitor.opening_day(SYSTEM, TODAY)
        assert (opening.day, opening.counted, opening.with_baseline) == (GRID_DAY, 2, 2)
        assert opening.enough
        assert opening.latest == METER_DAY
        assert (opening.latest_readings, opening.latest_counted) == (1, 0)
        assert "2026-02-10" in opening.message(0.5).render()
        view = await monitor.enterprise(SYSTEM, ids[code(0)], GRID_DAY, METER_DAY)
        assert view.baselines[0] == 100.0
        assert view.sources[0] == "grid"
        assert view.baselines[-1] is None
        assert view.sources[-1] == "meter"
        assert view.resumed is None  # not 230 % of a grid baseline
        _, series = await monitor.series(SYSTEM, GRID_DAY, METER_DAY)
        assert series[0][1].no_reading == 0
        assert series[-1][1].no_reading == 1


async def test_opening_day_falls_back_to_the_latest_reading(
    db: Database, clock: FrozenClock
) -> None:
    ids = await registry(db, clock)
    async with db.session() as session:
        session.add(PowerDay(enterprise_id=ids[code(0)], day=METER_DAY, kwh=5.0, source="meter",
                             updated_at=clock.now()))  # fmt: skip
        await refresh_columns(session)
        opening = await MonitorService(session).opening_day(SYSTEM, TODAY)
        assert (opening.day, opening.enough, opening.counted) == (METER_DAY, False, 0)
        empty = await MonitorService(session).opening_day(SYSTEM, date(2026, 1, 1))
        assert (empty.day, empty.enough) == (date(2026, 1, 1), False)


async def test_window_per_request_and_overrides_over_the_api(
    client: httpx.AsyncClient, world: World, db: Database, clock: FrozenClock
) -> None:
    ids = await _load(db, clock)
    staff = await world.bearer("analyst", Role.BUREAU)
    auditor = await world.bearer("auditor", Role.AUDITOR)
    url = f"/api/monitor/index?date={GRID_DAY}"
    first_half = "&baseline_start=2025-12-01&baseline_end=2025-12-15"
    body = (await client.get(url + first_half, headers=staff)).json()
    assert (body["baseline_start"], body["baseline_rule"]) == ("2025-12-01", "request")
    half = await client.get(url + "&baseline_start=2025-12-01", headers=staff)
    assert half.status_code == 400
    assert half.json()["error"] == "bad_window"
    backwards = await client.get(url + "&baseline_start=2025-12-31&baseline_end=2025-12-01",
                                 headers=staff)  # fmt: skip
    assert backwards.status_code == 400
    # A's own window (its December was abnormal) holds no reading: it leaves the counted set.
    a = ids[code(0)]
    body_in = {"start": "2025-11-01", "end": "2025-11-30", "reason": "十二月停产检修"}
    denied = await client.put(f"/api/monitor/baselines/{a}", json=body_in, headers=auditor)
    assert denied.status_code == 403
    put = await client.put(f"/api/monitor/baselines/{a}", json=body_in, headers=staff)
    assert put.status_code == 200, put.text
    assert put.json()["credit_code"] == code(0)
    body = (await client.get(url, headers=staff)).json()
    assert body["enterprises"] == 1  # B only; A has no reading in its own window
    listed = await client.get("/api/monitor/baselines", headers=auditor)
    assert [o["enterprise_id"] for o in listed.json()] == [a]
    assert (await client.delete(f"/api/monitor/baselines/{a}", headers=staff)).status_code == 204
    assert (await client.delete(f"/api/monitor/baselines/{a}", headers=staff)).status_code == 404
    assert (await client.get(url, headers=staff)).json()["enterprises"] == 2
    async with db.session() as session:
        actions = list(await session.scalars(sa.select(AuditEntry.action).where(
            AuditEntry.action.like("baseline.%")).order_by(AuditEntry.id)))  # fmt: skip
    assert actions == ["baseline.override", "baseline.override_clear"]
    opening = (await client.get(f"/api/monitor/opening?today={TODAY}", headers=staff)).json()
    assert (opening["date"], opening["latest"]) == (str(GRID_DAY), str(METER_DAY))
    flags = await client.get(f"/api/monitor/flags?first={DEC[0]}&last={METER_DAY}",
                             headers=staff)  # fmt: skip
    assert {f["enterprise_name"] for f in flags.json()} >= {"测试企业0"}
    series = await client.get(f"/api/monitor/series?first={GRID_DAY}&last={METER_DAY}",
                              headers=staff)  # fmt: skip
    assert series.json()["days"][-1]["no_reading"] == 1


async def test_console_opens_on_the_day_with_data(
    client: httpx.AsyncClient, world: World, db: Database, clock: FrozenClock
) -> None:
    ids = await _load(db, clock)
    await world.user("analyst", Role.BUREAU)
    await sign_in(client, "analyst")
    page = await client.get("/monitor")
    assert page.status_code == 200
    assert 'id="opening-day"' in page.text
    assert "2026-02-10" in page.text
    assert "2026-03-01" in page.text
    assert "1 / 2" in page.text  # resumed / counted on the opening day, not 1 / 1 at 230 %
    picked = await client.get("/monitor?date=2026-02-10&baseline_start=2025-12-01"
                              "&baseline_end=2025-12-15")  # fmt: skip
    assert 'value="2025-12-15"' in picked.text
    drill = await client.get(f"/monitor/enterprises/{ids[code(0)]}?date=2026-03-01")
    token = drill.text.split('name="csrf" value="')[1].split('"')[0]
    saved = await client.post(f"/monitor/enterprises/{ids[code(0)]}/baseline", data={
        "csrf": token, "start": "2025-12-01", "end": "2025-12-10", "reason": "检修"})  # fmt: skip
    assert saved.status_code == 303
    drill = await client.get(f"/monitor/enterprises/{ids[code(0)]}?date=2026-03-01")
    assert "2025-12-10" in drill.text
    assert "检修" in drill.text
    bad = await client.post(f"/monitor/enterprises/{ids[code(0)]}/baseline", data={
        "csrf": token, "start": "2025-12-10", "end": "2025-12-01"})  # fmt: skip
    assert bad.status_code == 303
    assert "error=" not in bad.headers["location"]  # the reason travels in a signed flash
    back = await client.get(bad.headers["location"])
    assert 'role="alert"' in back.text
