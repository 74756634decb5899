"""A draft's problems are messages: kept with their values, read in the reader's language."""

from __future__ import annotations

import httpx
import sqlalchemy as sa

from taihu.accounts import Role
from taihu.core import Database, InvalidInput, Message
from taihu.demo.reporting import demo_template_xlsx
from taihu.reporting import ReportRun, run_problems
from taihu.reporting.problems import (
    problem_json,
    problem_of,
    region_overflow,
    unknown_figure,
    unreadable_figure,
)
from taihu.web.i18n import catalogs
from tests.conftest import CODE_A, World
from tests.web.test_console import sign_in

SHEET = "复工复产周报"
ZH = catalogs().get("zh_CN").gettext
COLON = "\uff1a"  # the Chinese full-width colon
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
WHERE = f"{SHEET}!D22 monitor.resumption_rate"


def test_problems_read_as_the_sentences_they_were() -> None:
    refusal = InvalidInput("group is one of {allowed}, not {value}", allowed="a, b", value="x")
    made = [
        unknown_figure(f"{SHEET}!C2", "gone.figure"),
        unreadable_figure(f"{SHEET}!C3", "monitor.resumption_rate", refusal),
        region_overflow(f"{SHEET}!A1:B2", "monitor.table", 5, 2),
    ]
    kept = [problem_of(problem_json(m)) for m in made]
    assert [str(m) for m in kept] == [
        f"{SHEET}!C2 gone.figure: unknown figure",
        f"{SHEET}!C3 monitor.resumption_rate: group is one of a, b, not x",
        f"{SHEET}!A1:B2 monitor.table: 5 rows, the region holds 2",
    ]
    assert kept == made


def test_an_older_drafts_english_sentence_is_shown_as_written() -> None:
    older = f"{SHEET}!C2 x: unknown figure {{not a field}}"
    assert problem_of(older) == Message(older)
    assert problem_of(older).render(ZH) == older


def test_problems_are_translated() -> None:
    zh = ZH
    refusal = InvalidInput("group is one of {allowed}, not {value}", allowed="a, b", value="x")
    said = problem_of(problem_json(unreadable_figure("S!C3", "f", refusal))).render(zh)
    assert said.startswith("S!C3 f" + COLON)
    assert "x" in said
    assert "group is one of" not in said
    assert unknown_figure("S!C2", "g").render(zh) == f"S!C2 g{COLON}未知指标"


async def test_a_figure_that_cannot_be_read_is_reported_in_the_readers_language(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    await world.enterprise("Wujiang Silk", CODE_A)
    await world.user("analyst", Role.BUREAU)
    staff = await world.bearer("analyst.api", Role.BUREAU)
    sent = await client.post(
        "/api/reporting/templates",
        headers=staff,
        data={"name": "周报"},
        files={"file": ("周报.xlsx", demo_template_xlsx(), XLSX)},
    )
    template_id = sent.json()["id"]
    binding = {
        "sheet": SHEET,
        "ref": "D22",
        "figure": "monitor.resumption_rate",
        "params": {"group": "township", "key": "999999999"},
    }
    bound = await client.put(
        f"/api/reporting/templates/{template_id}/bindings",
        headers=staff,
        json={"bindings": [binding]},
    )
    assert bound.status_code == 200, bound.text
    task = await client.post(
        "/api/reporting/tasks",
        headers=staff,
        json={"title": "周报", "issuing_body": "市工信局", "cadence": "weekly", "due_day": 5,
              "template_id": template_id, "owner": "analyst"},
    )  # fmt: skip
    runs = f"/api/reporting/tasks/{task.json()['id']}/runs"
    english = await client.post(runs, headers=staff, json={"period": "2026-W48"})
    assert english.status_code == 200, english.text
    (problem,) = english.json()["problems"]
    assert problem.startswith(f"{WHERE}: ")
    run_id = english.json()["id"]
    chinese = await client.get(
        f"/api/reporting/runs/{run_id}", headers=staff | {"Accept-Language": "zh-CN"}
    )
    (said,) = chinese.json()["problems"]
    assert said.startswith(f"{WHERE}{COLON}")
    assert said != problem
    async with db.session() as session:
        run = await session.scalar(sa.select(ReportRun).where(ReportRun.id == run_id))
        assert run is not None
        assert run.problems[0]["id"] == "{where} {figure}: {reason}"
        assert [str(m) for m in run_problems(run)] == [problem]
    await sign_in(client, "analyst")
    page = await client.get(f"/reporting/runs/{run_id}")
    assert page.status_code == 200
    assert 'id="problems"' in page.text
    assert f"monitor.resumption_rate</span>{COLON}" in page.text
