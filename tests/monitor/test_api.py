"""The monitor's HTTP API through the real application."""

import io
from datetime import timedelta

import httpx
import pytest
from openpyxl import load_workbook

from taihu.accounts import Role
from taihu.core import Database, FrozenClock
from tests.conftest import World
from tests.monitor.helpers import DAY, code, example_rows, power_csv, registry


async def test_import_index_and_curve(
    client: httpx.AsyncClient, world: World, db: Database, clock: FrozenClock
) -> None:
    ids = await registry(db, clock)
    staff = await world.bearer("analyst", Role.BUREAU)
    owner = await world.bearer("owner", Role.ENTERPRISE, enterprises=(ids[code(0)],))
    files = {"file": ("power.csv", power_csv(example_rows()), "text/csv")}
    refused = await client.post("/api/monitor/power/import", files=files, headers=owner)
    assert refused.status_code == 403
    done = await client.post("/api/monitor/power/import", files=files, headers=staff)
    assert done.status_code == 200, done.text
    assert done.json()["applied"] is True
    got = await client.get(f"/api/monitor/index?date={DAY}&group=township", headers=staff)
    assert got.status_code == 200, got.text
    body = got.json()
    assert (body["enterprises"], body["resumed"], body["resumption_rate"]) == (2, 1, 0.5)
    assert round(body["composite_index"], 4) == round((0.5 + 89.9 / 300) / 2, 4)
    assert body["groups"]["320509107"]["name"] == "七都镇"
    assert [e["credit_code"] for e in body["no_baseline"]] == [code(2)]
    assert (await client.get(f"/api/monitor/index?date={DAY}", headers=owner)).status_code == 403
    curve = await client.get(
        f"/api/monitor/enterprises/{ids[code(0)]}?first=2026-02-01&last={DAY}", headers=owner
    )
    assert curve.status_code == 200, curve.text
    assert (curve.json()["baseline_kwh"], curve.json()["resumed"]) == (100.0, True)
    other = await client.get(
        f"/api/monitor/enterprises/{ids[code(1)]}?first=2026-02-01&last={DAY}", headers=owner
    )
    assert other.status_code == 403
    series = await client.get(f"/api/monitor/series?first=2026-02-09&last={DAY}", headers=staff)
    days = series.json()["days"]
    assert [(d["enterprises"], d["resumed"]) for d in days] == [(1, 1), (2, 1)]
    assert days[1]["production_rate"] == pytest.approx(89.9 / 300)
    town = await client.get(f"/api/monitor/series?first=2026-02-09&last={DAY}&group=township"
                            "&key=320509107", headers=staff)  # fmt: skip
    assert [(d["enterprises"], d["resumed"]) for d in town.json()["days"]] == [(0, 0), (1, 1)]
    unknown = await client.get(f"/api/monitor/series?first={DAY}&last={DAY}&group=township"
                               "&key=999", headers=staff)  # fmt: skip
    assert unknown.status_code == 404
    status = await client.post(f"/api/monitor/enterprises/{ids[code(1)]}/status",
                               json={"date": str(DAY), "resumed": True}, headers=staff)  # fmt: skip
    assert status.status_code == 200, status.text
    flags = await client.get(f"/api/monitor/flags?first={DAY}&last={DAY}", headers=staff)
    assert {(f["enterprise_id"], f["kind"]) for f in flags.json()} >= {(ids[code(1)], "mismatch")}


async def test_bad_file_is_refused_with_rows(
    client: httpx.AsyncClient, world: World, db: Database, clock: FrozenClock
) -> None:
    await registry(db, clock)
    staff = await world.bearer("analyst", Role.BUREAU)
    content = b"credit_code,date,kwh\n" + f"{code(0)},2026-13-01,-5\n".encode()
    got = await client.post("/api/monitor/power/import", headers=staff,
                            files={"file": ("p.csv", content, "text/csv")})  # fmt: skip
    problems = got.json()["problems"]
    assert [(p["row"], p["column"]) for p in problems] == [(2, "date"), (2, "kwh")]


async def test_lists_snapshot_cases_and_unblock(
    client: httpx.AsyncClient, world: World, db: Database, clock: FrozenClock
) -> None:
    ids = await registry(db, clock)
    staff = await world.bearer("analyst", Role.BUREAU)
    owner = await world.bearer("owner", Role.ENTERPRISE, enterprises=(ids[code(0)],))
    made = await client.post("/api/monitor/lists", json={"name": "重点企业"}, headers=staff)
    assert made.status_code == 201, made.text
    list_id = made.json()["id"]
    added = await client.post(f"/api/monitor/lists/{list_id}/members", headers=staff,
                              json={"credit_codes": [code(0), code(1)]})  # fmt: skip
    assert added.json()["members"] == 2
    removed = await client.post(f"/api/monitor/lists/{list_id}/members/remove", headers=staff,
                                json={"credit_codes": [code(1)]})  # fmt: skip
    assert removed.json()["members"] == 1
    assert (await client.get("/api/monitor/lists", headers=staff)).json()[0]["members"] == 1
    xlsx = await client.get(f"/api/monitor/lists/{list_id}/snapshot?week={DAY}", headers=staff)
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None
    assert sheet["A1"].value == "重点企业 复工复产周报"
    case = await client.post("/api/monitor/cases", headers=owner, json={
        "enterprise_id": ids[code(0)], "category": "funds", "title": "流动资金不足"})  # fmt: skip
    assert case.status_code == 201, case.text
    case_id = case.json()["id"]
    deadline = str(clock.now().date() + timedelta(days=1))
    assign = {"action": "assign", "officer": "w", "deadline": deadline}
    actions = f"/api/monitor/cases/{case_id}/actions"
    refused = await client.post(actions, headers=owner, json=assign)
    assert refused.status_code == 403
    assigned = await client.post(actions, headers=staff, json=assign)
    assert assigned.json()["state"] == "assigned"
    early = await client.post(f"/api/monitor/cases/{case_id}/actions", headers=staff,
                              json={"action": "reopen"})  # fmt: skip
    assert (early.status_code, early.json()["error"]) == (409, "bad_case_state")
    detail = await client.get(f"/api/monitor/cases/{case_id}", headers=owner)
    assert [e["action"] for e in detail.json()["events"]] == ["record", "assign"]
    page = await client.get("/api/monitor/cases?overdue=true", headers=staff)
    assert page.json()["total"] == 0
    unblock = await client.get(f"/api/monitor/unblock/{code(0)}?date={DAY}", headers=staff)
    assert (unblock.status_code, unblock.json()["items"]) == (200, [])
    opened = await client.post(f"/api/monitor/unblock/{code(0)}", headers=staff,
                               json={"date": str(DAY)})  # fmt: skip
    assert opened.json()["opened"] == 0
    synced = await client.post(f"/api/monitor/power/sync-meters?first={DAY}&last={DAY}",
                               headers=staff)  # fmt: skip
    assert synced.json() == {"written": 0, "meters": 0, "gaps": [], "resets": []}


@pytest.mark.parametrize(
    "path",
    [
        "/api/monitor/index?date=0001-01-01",
        "/api/monitor/series?first=9999-12-01&last=9999-12-31",
        "/api/monitor/flags?first=0001-01-01&last=0001-01-02",
        "/api/monitor/enterprises/{id}?first=0001-12-01&last=0001-12-01",
        "/api/monitor/lists/{list}/snapshot?week=9999-12-31",
        "/api/monitor/unblock/{code}?date=0001-01-01",
    ],
)
async def test_a_day_outside_the_calendar_is_a_400_not_a_500(
    client: httpx.AsyncClient, world: World, db: Database, clock: FrozenClock, path: str
) -> None:
    # Found by the API fuzzer: the baseline of year 1 is December of year 0, which has no date.
    ids = await registry(db, clock)
    staff = await world.bearer("analyst", Role.BUREAU)
    made = await client.post("/api/monitor/lists", json={"name": "重点企业"}, headers=staff)
    url = path.format(id=ids[code(0)], list=made.json()["id"], code=code(0))
    got = await client.get(url, headers=staff)
    assert got.status_code == 400, got.text
    assert got.json()["error"] == "bad_date"
