"""Data tasks to enterprises: a monthly period opened by the job, answered, approved, reported.

The whole path through the real parts: the reporting job's round on a frozen clock opens
the period's survey, an enterprise's device answers it over OpenRosa, the bureau approves it,
a report template bound to the data task's figures is filled with the approved total, and the
enterprise that did not answer gets the survey reminder once the deadline has passed.
"""

from __future__ import annotations

import io
import json
import re
from datetime import date, timedelta

import httpx
import sqlalchemy as sa
from openpyxl import Workbook, load_workbook

from taihu.accounts import AuditEntry, Principal, Role
from taihu.core import Database, FrozenClock
from taihu.notices import remind_overdue_surveys
from taihu.reporting import (
    Binding,
    DataPeriod,
    ReportingService,
    TaskSpec,
    monthly_form_xlsx,
    open_due_periods,
    period_xlsform,
)
from taihu.settings import Settings
from taihu.surveys import FormVersion, Survey, convert_xlsform
from tests.conftest import World
from tests.surveys.helpers import TOWN, enterprises
from tests.web.test_console import sign_in

BUREAU = Principal("analyst", Role.BUREAU)
TASKS = "/api/reporting/data-tasks"
FORM = "monthly_ops_2026_11"
TASK = {
    "key": "monthly_ops",
    "title": "月度经营数据",
    "form": "builtin",
    "cadence": "monthly",
    "due_day": 10,
    "lead_days": 10,
    "scope": "township",
    "scope_value": TOWN,
}


def _instance(iid: str, output: str, employees: str = "80") -> bytes:
    return (
        f'<?xml version="1.0"?><data xmlns:jr="http://openrosa.org/javarosa" '
        f'xmlns:orx="http://openrosa.org/xforms" id="{FORM}" version="1">'
        f"<credit_code/><output_value>{output}</output_value><revenue>1100</revenue>"
        f"<employees>{employees}</employees><electricity>52000</electricity>"
        f"<difficulties>orders labour</difficulties><difficulty_note>订单减少</difficulty_note>"
        f"<taihu_period>2026-11</taihu_period><meta><instanceID>{iid}</instanceID></meta></data>"
    ).encode()


def _template() -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "月报"
    sheet["A1"] = "规上工业企业月度经营情况"
    for row, label in enumerate(("工业总产值(万元)", "填报率", "已填报(含待审)", "应填报"), 4):
        sheet.cell(row, 1, label)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


BINDINGS = [
    Binding("月报", "C4", "datatasks.sum", {"task": "monthly_ops", "field": "output_value"}),
    Binding("月报", "C5", "datatasks.response_rate", {"task": "monthly_ops"}),
    Binding("月报", "C6", "datatasks.answered", {"task": "monthly_ops", "state": "received"}),
    Binding("月报", "C7", "datatasks.asked", {"task": "monthly_ops", "township": TOWN}),
]


async def _report(db: Database, clock: FrozenClock, template_id: int, task_id: int) -> list[object]:
    async with db.session() as session:
        run, _ = await ReportingService(session, clock).generate(
            BUREAU, task_id, "2026-11", refresh=True
        )
        assert run.problems == []
        sheet = load_workbook(io.BytesIO(run.content))["月报"]
        return [sheet[f"C{row}"].value for row in range(4, 8)]


async def _submit(client: httpx.AsyncClient, key: str, xml: bytes) -> httpx.Response:
    return await client.post(
        f"/openrosa/key/{key}/submission",
        files={"xml_submission_file": ("s.xml", xml, "text/xml")},
        headers={"X-OpenRosa-Version": "1.0"},
    )


async def test_a_monthly_task_opens_its_period_is_answered_approved_and_reported(
    client: httpx.AsyncClient, world: World, db: Database, clock: FrozenClock, settings: Settings
) -> None:
    ids = await enterprises(db, clock)  # A and B in TOWN, C elsewhere
    bureau = await world.bearer("zhang.wei", Role.BUREAU)
    owner_a = await world.bearer("owner.a", Role.ENTERPRISE, enterprises=(ids[0],))
    owner_c = await world.bearer("owner.c", Role.ENTERPRISE, enterprises=(ids[2],))
    made = await client.post(TASKS, headers=bureau, json=TASK)
    assert made.status_code == 201, made.text
    task_id = made.json()["id"]

    # 25 November: November's survey opens on the 30th (due 10 December, 10 days' lead).
    first = await open_due_periods(db, settings, clock)
    assert first.opened == []
    assert first.failed == []
    clock.advance(timedelta(days=5))
    opened = await open_due_periods(db, settings, clock)
    assert opened.opened == [f"{task_id}:2026-11"]
    again = await open_due_periods(db, settings, clock)
    assert again.opened == []
    assert again.existing == 1
    periods = (await client.get(f"{TASKS}/{task_id}/periods", headers=bureau)).json()
    assert [(p["period"], p["form_id"], p["due"], p["asked"], p["answered"]) for p in periods] == [
        ("2026-11", FORM, "2026-12-10", 2, 0)
    ]
    async with db.session() as session:
        survey = await session.scalar(sa.select(Survey).where(Survey.form_id == FORM))
        assert survey is not None
        assert survey.title == "2026-11 月度经营数据"
        xform = await session.scalar(
            sa.select(FormVersion.xform).where(FormVersion.id == survey.published_version_id)
        )
        assert xform is not None
        assert "taihu_period" in xform
        assert "'2026-11'" in xform
        actions = set(await session.scalars(sa.select(AuditEntry.action)))
    assert {"data_task.create", "data_task.open", "survey.publish", "survey.assign"} <= actions

    # The enterprise sees the period with its deadline; the one outside the audience does not.
    mine = (await client.get("/api/my-surveys", headers=owner_a)).json()
    assert [(m["form_id"], m["title"], m["deadline"]) for m in mine] == [
        (FORM, "2026-11 月度经营数据", "2026-12-10")
    ]
    assert (await client.get("/api/my-surveys", headers=owner_c)).json() == []
    keys = []
    for owner, eid in ((owner_a, ids[0]), (owner_c, ids[2])):
        device = await client.post(
            "/api/survey-app-users",
            headers=owner,
            json={"display_name": "平板", "enterprise_id": eid},
        )
        assert device.status_code == 201, device.text
        keys.append(device.json()["token"])
    refused = await _submit(
        client, keys[1], _instance("uuid:00000000-0000-4000-8000-00000000000c", "999")
    )
    assert refused.status_code in (403, 404), refused.text
    stored = await _submit(
        client, keys[0], _instance("uuid:00000000-0000-4000-8000-00000000000a", "1200.5")
    )
    assert stored.status_code == 201, stored.text

    # Enterprises see none of the bureau's data tasks.
    assert (await client.get(TASKS, headers=owner_a)).status_code == 403
    assert (await client.get(f"{TASKS}/{task_id}/periods", headers=owner_a)).status_code == 403

    async with db.session() as session:
        service = ReportingService(session, clock)
        template = await service.add_template(BUREAU, "月报", "月报.xlsx", _template())
        await service.bind(BUREAU, template.id, BINDINGS)
        report = await service.add_task(
            BUREAU, TaskSpec("月度经营情况", "苏州市工信局", "monthly", template.id, "analyst", 15)
        )
    # Received, not yet approved: the total counts approved answers only.
    assert await _report(db, clock, template.id, report.id) == [0, 0, 1, 2]
    review = await client.post(
        f"/api/surveys/{FORM}/submissions/uuid:00000000-0000-4000-8000-00000000000a/review",
        headers=bureau,
        json={"review_state": "approved", "comment": "核对无误"},
    )
    assert review.status_code == 200, review.text
    assert await _report(db, clock, template.id, report.id) == [1200.5, 0.5, 1, 2]
    periods = (await client.get(f"{TASKS}/{task_id}/periods", headers=bureau)).json()
    assert (periods[0]["answered"], periods[0]["response_rate"]) == (1, 0.5)
    async with db.session() as session:
        row = await session.scalar(sa.select(DataPeriod))
        assert row is not None
        assert row.period_key == "2026-11"
        assert row.asked == 2

    # 11 December: B, asked and silent, is reminded once; A answered.
    clock.advance(timedelta(days=11))
    async with db.session() as session:
        reminded = await remind_overdue_surveys(session, clock)
    assert (reminded.notices, reminded.enterprises) == (1, 1)
    async with db.session() as session:
        again_round = await remind_overdue_surveys(session, clock)
    assert again_round.enterprises == 0
    # December's survey has not opened yet (due 10 January, opens 31 December).
    assert (await open_due_periods(db, settings, clock)).opened == []
    assert clock.now().date() == date(2026, 12, 11)


async def test_bad_tasks_and_late_periods_are_refused_and_leave_nothing(
    client: httpx.AsyncClient, world: World, db: Database, clock: FrozenClock
) -> None:
    await enterprises(db, clock)
    bureau = await world.bearer("zhang.wei", Role.BUREAU)
    auditor = await world.bearer("audit", Role.AUDITOR)
    for change, status, code in (
        ({"key": "Bad Key"}, 422, None),
        ({"form": "no_such_survey"}, 404, "survey_not_found"),
        ({"cadence": "once"}, 400, "bad_cadence"),
        ({"due_day": 0}, 422, None),
        ({"scope": "everyone"}, 400, "bad_scope"),
        ({"scope": "chain", "scope_value": "no-such-chain"}, 400, "bad_scope_value"),
    ):
        answer = await client.post(TASKS, headers=bureau, json={**TASK, **change})
        assert answer.status_code == status, (change, answer.text)
        if code:
            assert answer.json()["error"] == code
    assert (await client.post(TASKS, headers=auditor, json=TASK)).status_code == 403
    assert (await client.get(TASKS, headers=bureau)).json() == []
    made = await client.post(TASKS, headers=bureau, json=TASK)
    assert made.status_code == 201
    taken = await client.post(TASKS, headers=bureau, json=TASK)
    assert taken.status_code == 409
    assert taken.json()["error"] == "data_task_exists"
    task_id = made.json()["id"]
    # October was due on 10 November: too late to open; nothing of it is left behind.
    late = await client.post(
        f"{TASKS}/{task_id}/periods", headers=bureau, json={"period": "2026-10"}
    )
    assert late.status_code == 400
    assert late.json()["error"] == "bad_deadline"
    assert (await client.get("/api/surveys/monthly_ops_2026_10", headers=bureau)).status_code == 404
    bad = await client.post(
        f"{TASKS}/{task_id}/periods", headers=bureau, json={"period": "2026-Q4"}
    )
    assert bad.status_code == 400
    assert bad.json()["error"] == "bad_period"
    january = await client.post(
        f"{TASKS}/{task_id}/periods", headers=bureau, json={"period": "2027-01"}
    )
    assert january.status_code == 400
    assert january.json()["error"] == "not_begun"
    # By hand, November opens early; a second call returns it as it is.
    for _ in range(2):
        nov = await client.post(
            f"{TASKS}/{task_id}/periods", headers=bureau, json={"period": "2026-11"}
        )
        assert nov.status_code == 200, nov.text
        assert (nov.json()["form_id"], nov.json()["asked"]) == (FORM, 2)
    # An audience of nobody: the period's survey, uploaded and published, goes with the refusal.
    nobody = await client.post(
        TASKS, headers=bureau, json={**TASK, "key": "nobody", "scope_value": "999999999"}
    )
    assert nobody.status_code == 201
    empty = await client.post(
        f"{TASKS}/{nobody.json()['id']}/periods", headers=bureau, json={"period": "2026-11"}
    )
    assert empty.status_code == 400
    assert empty.json()["error"] == "empty_scope"
    assert (await client.get("/api/surveys/nobody_2026_11", headers=bureau)).status_code == 404
    assert (await client.get(f"{TASKS}/{nobody.json()['id']}/periods", headers=bureau)).json() == []
    paused = await client.put(f"{TASKS}/{task_id}/active", headers=bureau, json={"active": False})
    assert paused.json()["active"] is False


def test_the_builtin_form_converts_and_each_period_carries_its_key() -> None:
    form = convert_xlsform(
        period_xlsform(monthly_form_xlsx(), FORM, "2026-11 月度经营数据", "2026-11"), "f.xlsx"
    )
    assert (form.form_id, form.title) == (FORM, "2026-11 月度经营数据")
    names = {f["name"] for f in form.fields}
    assert {"output_value", "revenue", "employees", "electricity", "difficulties"} <= names
    assert "taihu_period" in names
    assert "工业总产值(万元)" in form.xform
    assert "Gross industrial output (10k yuan)" in form.xform
    assert "'2026-11'" in form.xform


async def test_the_console_adds_a_task_opens_a_period_and_enterprises_see_it(
    client: httpx.AsyncClient, world: World, db: Database, clock: FrozenClock
) -> None:
    ids = await enterprises(db, clock)
    await world.user("analyst", Role.BUREAU)
    await world.user("owner.a", Role.ENTERPRISE, enterprises=(ids[0],))
    await sign_in(client, "analyst")
    page = await client.get("/reporting/data-tasks")
    assert page.status_code == 200
    assert 'href="/reporting/data-tasks"' in (await client.get("/reporting")).text
    csrf = re.findall(r'name="csrf" value="([^"]+)"', page.text)[0]
    form = {k: str(v) for k, v in TASK.items()}
    bad = await client.post("/reporting/data-tasks", data={**form, "csrf": csrf, "key": "X"})
    assert bad.headers["location"] == "/reporting/data-tasks"
    assert "企业报表任务的标识" in (await client.get(bad.headers["location"])).text
    made = await client.post("/reporting/data-tasks", data={**form, "csrf": csrf})
    task_path = made.headers["location"]
    assert task_path.startswith("/reporting/data-tasks/")
    opened = await client.post(f"{task_path}/periods", data={"csrf": csrf, "period": "2026-11"})
    assert opened.headers["location"] == task_path
    shown = await client.get(task_path)
    assert FORM in shown.text
    assert "内置月度经营数据表" in shown.text
    island = re.search(r'<script type="application/json" id="data-periods-data">(.*?)</script>',
                       shown.text)  # fmt: skip
    assert island is not None
    chart = json.loads(island.group(1))
    assert chart["periods"] == ["2026-11"]
    assert len(chart["asked_counts"]) == 1
    assert (chart["answered_counts"], chart["rates"]) == ([0], [0])
    assert (chart["asked"], chart["rate"]) == ("已请填报", "答复率")
    assert '<script src="/static/reporting.js" defer></script>' in shown.text
    forged = await client.post(f"{task_path}/periods", data={"csrf": "nope", "period": "2026-12"})
    assert forged.status_code == 403
    await client.post("/logout", data={"csrf": csrf})
    await sign_in(client, "owner.a")
    assert (await client.get("/reporting/data-tasks")).status_code == 403
    assert (await client.get(task_path)).status_code == 403
    mine = await client.get("/my-surveys")
    assert "2026-11 月度经营数据" in mine.text
    assert "2026-12-10" in mine.text


def test_a_form_made_from_a_periods_survey_takes_the_new_period() -> None:
    november = period_xlsform(monthly_form_xlsx(), FORM, "2026-11 月度经营数据", "2026-11")
    december = period_xlsform(november, "ops_2026_12", "2026-12 月度经营数据", "2026-12")
    form = convert_xlsform(december, "f.xlsx")
    assert form.form_id == "ops_2026_12"
    assert [f["name"] for f in form.fields].count("taihu_period") == 1
    assert "'2026-12'" in form.xform
    assert "'2026-11'" not in form.xform
