"""The monitor's console pages, signed in through the real sign-in form."""

import re
from datetime import UTC, timedelta

import httpx
import sqlalchemy as sa

from taihu.accounts import Role
from taihu.core import Database, FrozenClock
from taihu.monitor import import_power
from taihu.web.clock_format import when
from tests.conftest import World
from tests.monitor.helpers import DAY, SYSTEM, code, example_rows, power_csv, registry
from tests.web.test_console import sign_in


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]*)"', html)
    assert match
    return match.group(1)


async def test_dashboard_drill_down_cases_and_lists(
    client: httpx.AsyncClient, world: World, db: Database, clock: FrozenClock
) -> None:
    ids = await registry(db, clock)
    async with db.session() as session:
        await import_power(session, clock, SYSTEM, "p.csv", power_csv(example_rows()),
                           max_kwh=1e6, today=DAY)  # fmt: skip
    await world.user("analyst", Role.BUREAU)
    await sign_in(client, "analyst")
    page = await client.get("/monitor")  # the latest day with data
    assert page.status_code == 200
    assert "2026-02-10" in page.text
    assert "七都镇" in page.text
    assert 'id="monitor-data"' in page.text
    assert "测试企业1" in page.text  # B at 30 % of its baseline: in the warning list
    curve = await client.get(f"/monitor/enterprises/{ids[code(0)]}?date={DAY}")
    assert curve.status_code == 200
    assert 'id="curve-data"' in curve.text
    board = await client.get("/monitor/cases")
    token = _csrf(board.text)
    made = await client.post("/monitor/cases", data={
        "csrf": token, "enterprise_id": str(ids[code(0)]), "category": "funds",
        "title": "流动资金不足"})  # fmt: skip
    assert made.status_code == 303
    deadline = (clock.now().date() + timedelta(days=1)).isoformat()
    assign = {"csrf": token, "action": "assign", "officer": "wang", "deadline": deadline}
    await client.post("/monitor/cases/1", data=assign)
    board = await client.get("/monitor/cases")
    assert "流动资金不足" in board.text
    assert "wang" in board.text
    refused = await client.post("/monitor/cases/1", data={"csrf": token, "action": "reopen"})
    assert refused.headers["location"] == "/monitor/cases"  # the reason rides in a signed flash
    assert (await client.post("/monitor/lists", data={"csrf": token, "name": "重点企业"})
            ).status_code == 303  # fmt: skip
    await client.post("/monitor/lists", data={"csrf": token, "list_id": "1", "codes": code(0)})
    lists = await client.get("/monitor/lists")
    assert "测试企业0" in lists.text
    assert "/api/monitor/lists/1/snapshot?week=" in lists.text
    snapshot = await client.get(f"/api/monitor/lists/1/snapshot?week={DAY}")
    assert snapshot.status_code == 200
    upload = await client.post(
        "/monitor/import", data={"csrf": token},
        files={"file": ("p.csv", b"credit_code,date,kwh\nx,2026-02-01,1\n", "text/csv")},
    )  # fmt: skip
    assert upload.status_code == 200
    assert "credit_code" in upload.text


async def test_enterprise_users_see_their_own_curve_only(
    client: httpx.AsyncClient, world: World, db: Database, clock: FrozenClock
) -> None:
    ids = await registry(db, clock)
    await world.user("owner", Role.ENTERPRISE, enterprises=(ids[code(0)],))
    await sign_in(client, "owner")
    assert (await client.get("/monitor")).status_code == 403
    assert (await client.get(f"/monitor/enterprises/{ids[code(0)]}")).status_code == 200
    assert (await client.get(f"/monitor/enterprises/{ids[code(1)]}")).status_code == 403
    assert (await client.get("/monitor/import")).status_code == 403


async def test_a_case_names_its_enterprise_by_credit_code_or_exact_name(
    client: httpx.AsyncClient, world: World, db: Database, clock: FrozenClock
) -> None:
    await registry(db, clock)
    await world.user("analyst", Role.BUREAU)
    await sign_in(client, "analyst")
    board = await client.get("/monitor/cases")
    assert 'data-picker="enterprise"' in board.text  # a search over the registry, not a select
    token = _csrf(board.text)

    async def record(enterprise: str, title: str) -> httpx.Response:
        data = {"csrf": token, "enterprise": enterprise, "category": "funds", "title": title}
        return await client.post("/monitor/cases", data=data, follow_redirects=True)

    await record(code(2).lower(), "按代码")
    await record("测试企业3", "按名称")
    vague = await record("测试企业", "含糊")  # four enterprises match: none is chosen
    assert "请从候选项中选择企业" in vague.text
    board = await client.get("/monitor/cases")
    assert "测试企业2" in board.text  # the cases' enterprises are named on the board
    assert "按名称" in board.text
    assert "含糊" not in board.text
    async with db.session() as session:
        found = (await session.execute(sa.text(
            "SELECT e.name, c.title FROM monitor_cases c JOIN enterprises e"
            " ON e.id = c.enterprise_id ORDER BY c.id"))).all()  # fmt: skip
    assert [tuple(r) for r in found] == [("测试企业2", "按代码"), ("测试企业3", "按名称")]


async def test_date_fields_are_written_and_read_in_the_page_language(
    client: httpx.AsyncClient, world: World, db: Database, clock: FrozenClock
) -> None:
    ids = await registry(db, clock)
    async with db.session() as session:
        await import_power(session, clock, SYSTEM, "p.csv", power_csv(example_rows()),
                           max_kwh=1e6, today=DAY)  # fmt: skip
    await world.user("analyst", Role.BUREAU)
    await sign_in(client, "analyst")
    chinese = (await client.get("/monitor")).text
    assert 'name="date" type="text" data-date value="2026-02-10"' in chinese
    assert 'type="date"' not in chinese  # the browser's locale would pick the format
    client.cookies.set("taihu_lang", "en")
    english = (await client.get("/monitor")).text
    assert 'name="date" type="text" data-date value="10 Feb 2026"' in english
    assert 'placeholder="e.g. 29 Apr 2026"' in english
    # What the English field sends is read back as its day.
    picked = (await client.get("/monitor", params={"date": "9 Feb 2026"})).text
    assert "Resumption of work and production, 9 Feb 2026" in picked
    assert 'value="9 Feb 2026"' in picked
    # A deadline in the page's form is kept; one that is not a date is refused in its words.
    token = _csrf((await client.get("/monitor/cases")).text)
    made = await client.post("/monitor/cases", data={
        "csrf": token, "enterprise_id": str(ids[code(0)]), "category": "funds",
        "title": "流动资金不足"})  # fmt: skip
    assert made.status_code == 303
    assign = {"csrf": token, "action": "assign", "officer": "wang"}
    refused = await client.post("/monitor/cases/1", data={**assign, "deadline": "12/03/2026"})
    assert refused.headers["location"] == "/monitor/cases"
    board = (await client.get("/monitor/cases")).text
    assert "Deadline is not a date: write it as 29 Apr 2026" in board
    client.cookies.set("taihu_lang", "zh_CN")
    await client.post("/monitor/cases/1", data={**assign, "deadline": "12/03/2026"})
    board = (await client.get("/monitor/cases")).text
    assert "办理期限不是日期：请写成 2026-04-29 的形式" in board  # noqa: RUF001
    written = when(clock.now().date() + timedelta(days=3), UTC, "en")  # such as 9 Feb 2026
    assert (await client.post("/monitor/cases/1", data={**assign, "deadline": written})
            ).status_code == 303  # fmt: skip
    client.cookies.set("taihu_lang", "en")
    assert f"due {written}" in (await client.get("/monitor/cases")).text
