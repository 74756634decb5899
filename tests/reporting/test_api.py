"""Reporting over HTTP and in the console: bureau only, every write audited, the draft job."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta

import httpx
import sqlalchemy as sa
from openpyxl import load_workbook

from taihu.accounts import AuditEntry, Role
from taihu.core import Database, FrozenClock
from taihu.demo.reporting import demo_template_xlsx
from taihu.reporting import ReportRun, generate_due
from taihu.settings import Settings
from tests.conftest import CODE_A, World
from tests.web.test_console import sign_in

SHEET = "复工复产周报"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BINDINGS = [
    {"sheet": SHEET, "ref": "C2", "figure": "period.start"},
    {"sheet": SHEET, "ref": "D24", "figure": "enterprises.count", "label": "企业数"},
]


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found
    return found[1]


async def _template(client: httpx.AsyncClient, staff: dict[str, str]) -> int:
    sent = await client.post(
        "/api/reporting/templates",
        headers=staff,
        data={"name": "周报"},
        files={"file": ("周报.xlsx", demo_template_xlsx(), XLSX)},
    )
    assert sent.status_code == 201, sent.text
    template_id: int = sent.json()["id"]
    bound = await client.put(
        f"/api/reporting/templates/{template_id}/bindings",
        headers=staff,
        json={"bindings": BINDINGS},
    )
    assert bound.status_code == 200, bound.text
    return template_id


async def test_a_week_from_draft_to_submission_over_the_api(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    await world.enterprise("Wujiang Silk", CODE_A)
    staff = await world.bearer("analyst", Role.BUREAU)
    template_id = await _template(client, staff)
    task = await client.post(
        "/api/reporting/tasks",
        headers=staff,
        json={
            "title": "周报",
            "issuing_body": "市工信局",
            "cadence": "weekly",
            "due_day": 5,
            "template_id": template_id,
            "owner": "analyst",
        },
    )
    assert task.status_code == 201, task.text
    task_id = task.json()["id"]
    made = await client.post(
        f"/api/reporting/tasks/{task_id}/runs", headers=staff, json={"period": "2026-W48"}
    )
    assert made.status_code == 200, made.text
    run = made.json()
    assert run["generated"] == {f"{SHEET}!C2": "2026-11-23", f"{SHEET}!D24": 1}
    run_id = run["id"]
    bad = await client.post(
        f"/api/reporting/runs/{run_id}/corrections",
        headers=staff,
        json={"cell": f"{SHEET}!A1", "value": "x"},
    )
    assert bad.status_code == 400
    assert bad.json()["error"] == "bad_cell"
    fixed = await client.post(
        f"/api/reporting/runs/{run_id}/corrections",
        headers=staff,
        json={"cell": f"{SHEET}!D24", "value": "3", "note": "含新设"},
    )
    assert fixed.json()["generated"][f"{SHEET}!D24"] == 1
    assert fixed.json()["corrections"][f"{SHEET}!D24"]["value"] == 3
    early = await client.post(f"/api/reporting/runs/{run_id}/submit", headers=staff, json={})
    assert early.status_code == 409
    assert (await client.post(f"/api/reporting/runs/{run_id}/approve", headers=staff)).is_success
    late = await client.post(
        f"/api/reporting/runs/{run_id}/corrections",
        headers=staff,
        json={"cell": f"{SHEET}!D24", "value": "4"},
    )
    assert late.status_code == 409
    done = await client.post(
        f"/api/reporting/runs/{run_id}/submit", headers=staff, json={"note": "政务网"}
    )
    assert done.json()["status"] == "submitted"
    file = await client.get(f"/api/reporting/runs/{run_id}/file", headers=staff)
    assert file.headers["content-type"] == XLSX
    assert load_workbook(io.BytesIO(file.content))[SHEET]["D24"].value == 3
    history = (await client.get(f"/api/reporting/tasks/{task_id}/runs", headers=staff)).json()
    assert [r["period_key"] for r in history] == ["2026-W48"]
    deadlines = (await client.get("/api/reporting/deadlines", headers=staff)).json()
    assert {d["period"] for d in deadlines} == {"2026-W49"}  # W48 submitted, W50 due in 16 days
    assert deadlines[0]["due"] == "2026-12-04"
    assert not deadlines[0]["overdue"]
    async with db.session() as session:
        actions = list(
            await session.scalars(
                sa.select(AuditEntry.action)
                .where(AuditEntry.entity_type.like("report_%"))
                .order_by(AuditEntry.id)
            )
        )
    assert actions == [
        "report_template.create",
        "report_template.bind",
        "report_task.create",
        "report_run.generate",
        "report_run.correct",
        "report_run.approve",
        "report_run.submit",
    ]


async def test_a_refused_binding_changes_nothing(client: httpx.AsyncClient, world: World) -> None:
    staff = await world.bearer("analyst", Role.BUREAU)
    template_id = await _template(client, staff)
    for binding, code in (
        ({"sheet": SHEET, "ref": "B20", "figure": "enterprises.count"}, "bad_anchor"),
        ({"sheet": SHEET, "ref": "D22", "figure": "monitor.table"}, "bad_anchor"),
        ({"sheet": SHEET, "ref": "D22", "figure": "nope"}, "bad_figure"),
        (
            {"sheet": SHEET, "ref": "D22", "figure": "devices.count", "params": {"x": "1"}},
            "bad_param",
        ),
        ({"sheet": SHEET, "ref": "C2", "figure": "period.end"}, "bad_binding"),  # overlaps
    ):
        refused = await client.put(
            f"/api/reporting/templates/{template_id}/bindings",
            headers=staff,
            json={"bindings": [*BINDINGS, binding]},
        )
        assert refused.status_code == 400, binding
        assert refused.json()["error"] == code
    kept = await client.get(f"/api/reporting/templates/{template_id}", headers=staff)
    assert len(kept.json()["bindings"]) == len(BINDINGS)


async def test_enterprises_and_auditors_never_see_reporting(
    client: httpx.AsyncClient, world: World
) -> None:
    silk = await world.enterprise("Wujiang Silk", CODE_A)
    staff = await world.bearer("analyst", Role.BUREAU)
    template_id = await _template(client, staff)
    for name, role, extra in (("silk", Role.ENTERPRISE, (silk.id,)), ("eve", Role.AUDITOR, ())):
        other = await world.bearer(name, role, enterprises=extra)
        for path in (
            "/api/reporting/templates",
            "/api/reporting/tasks",
            "/api/reporting/deadlines",
            f"/api/reporting/templates/{template_id}/file",
            "/api/reporting/figures",
        ):
            assert (await client.get(path, headers=other)).status_code == 403, (name, path)
        upload = await client.post(
            "/api/reporting/templates",
            headers=other,
            data={"name": "x"},
            files={"file": ("x.xlsx", demo_template_xlsx(), XLSX)},
        )
        assert upload.status_code == 403
    await sign_in(client, "silk")
    assert (await client.get("/reporting")).status_code == 403
    assert 'href="/reporting"' not in (await client.get("/")).text


async def test_the_draft_job_makes_each_due_period_once(
    client: httpx.AsyncClient, world: World, db: Database, settings: Settings, clock: FrozenClock
) -> None:
    staff = await world.bearer("analyst", Role.BUREAU)
    template_id = await _template(client, staff)
    await client.post(
        "/api/reporting/tasks",
        headers=staff,
        json={
            "title": "月报",
            "issuing_body": "省工信厅",
            "cadence": "monthly",
            "due_day": 5,
            "lead_days": 2,
            "template_id": template_id,
            "owner": "analyst",
        },
    )
    first = await generate_due(db, settings, clock)  # 11-25: October's report (due 11-05)?
    assert first.made == []  # due before the task existed: not the job's to make
    clock.advance(timedelta(days=8))  # 12-03: November's draft is due (12-05 less 2 days)
    made = await generate_due(db, settings, clock)
    again = await generate_due(db, settings, clock)
    assert len(made.made) == 1
    assert again.made == []
    assert again.existing == 1
    async with db.session() as session:
        runs = list(await session.scalars(sa.select(ReportRun)))
    assert [(r.period_key, r.generated_by) for r in runs] == [("2026-11", "reporting")]
    assert clock.now() == datetime(2026, 12, 3, 8, 0, tzinfo=UTC)


async def test_the_console_from_upload_to_submission(
    client: httpx.AsyncClient, world: World
) -> None:
    await world.user("analyst", Role.BUREAU)
    await sign_in(client, "analyst")
    page = await client.get("/reporting")
    assert page.status_code == 200
    csrf = _csrf(page.text)
    empty = await client.post(
        "/reporting/templates",
        data={"csrf": csrf, "name": "x"},
        files={"file": ("x.xlsx", b"not a workbook", XLSX)},
    )
    assert empty.status_code == 303
    assert "不是 xlsx 工作簿" in (await client.get(empty.headers["location"])).text
    sent = await client.post(
        "/reporting/templates",
        data={"csrf": csrf, "name": "周报"},
        files={"file": ("周报.xlsx", demo_template_xlsx(), XLSX)},
    )
    template_path = sent.headers["location"]
    bound = await client.post(
        f"{template_path}/bindings",
        data={
            "csrf": csrf,
            "sheet": SHEET,
            "ref": "D24",
            "figure": "enterprises.count",
            "params": "above_size=yes",
            "label": "规上",
        },
    )
    assert bound.headers["location"] == template_path
    assert "above_size=yes" in (await client.get(template_path)).text
    template_id = template_path.rsplit("/", 1)[1]
    task = await client.post(
        "/reporting/tasks",
        data={
            "csrf": csrf,
            "title": "周报",
            "issuing_body": "市工信局",
            "cadence": "weekly",
            "due_day": "5",
            "lead_days": "1",
            "template_id": template_id,
            "owner": "analyst",
        },
    )
    task_path = task.headers["location"]
    run = await client.post(f"{task_path}/generate", data={"csrf": csrf, "period": "2026-W48"})
    run_path = run.headers["location"]
    assert run_path.startswith("/reporting/runs/")
    home = await client.get("/")
    assert 'id="report-deadlines"' in home.text
    assert "2026-W48" in home.text
    await client.post(
        f"{run_path}/correct",
        data={"csrf": csrf, "cell": f"{SHEET}!D24", "value": "7", "note": "核对"},
    )
    shown = await client.get(run_path)
    assert "<strong>7</strong>" in shown.text
    assert "核对" in shown.text
    await client.post(f"{run_path}/approve", data={"csrf": csrf})
    await client.post(f"{run_path}/submit", data={"csrf": csrf, "note": "已报"})
    assert "已报送" in (await client.get(run_path)).text
    download = await client.get(f"{run_path}/download")
    assert load_workbook(io.BytesIO(download.content))[SHEET]["D24"].value == 7
    assert "2026-W48" not in (await client.get("/")).text.split('id="report-deadlines"')[1][:400]
    forged = await client.post(f"{run_path}/approve", data={"csrf": "nope"})
    assert forged.status_code == 403
