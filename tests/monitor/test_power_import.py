"""The power import on the shared tabular import: all or nothing, or the valid rows only."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from taihu.accounts import Role
from taihu.cli import app
from taihu.core import Database, FrozenClock
from taihu.monitor import import_power
from taihu.monitor.models import PowerDay
from tests.conftest import World
from tests.monitor.helpers import DAY, SYSTEM, code, registry
from tests.monitor.test_console import _csrf
from tests.web.test_console import sign_in

# Rows 2 and 5 are good; 3 (negative), 4 (decimal comma), 6 (unknown enterprise), 7 (repeats 2).
_FILE = (
    "统一社会信用代码,日期,用电量\n"
    f"{code(0)},2026-02-09,100\n"
    f"{code(1)},2026-02-09,-5\n"
    f'{code(2)},2026-02-09,"12,5"\n'
    f'{code(3)},2026-02-09,"1,234.5"\n'
    f"{code(9)},2026-02-09,7\n"
    f"{code(0)},2026-02-09,101\n"
).encode()
_BAD = [(3, "kwh"), (4, "kwh"), (6, "credit_code"), (7, "date")]


async def _stored(db: Database) -> list[tuple[str, float]]:
    async with db.session() as session:
        rows = await session.execute(sa.select(PowerDay.enterprise_id, PowerDay.kwh))
        return sorted((str(e), k) for e, k in rows)


async def test_all_or_nothing_writes_nothing_and_reports_each_bad_row(
    db: Database, clock: FrozenClock
) -> None:
    await registry(db, clock)
    async with db.session() as session:
        report = await import_power(session, clock, SYSTEM, "p.csv", _FILE, max_kwh=1e6,
                                    today=DAY)  # fmt: skip
    assert not report.applied
    assert sorted((p.row, p.column) for p in report.problems) == _BAD
    assert (report.rows, report.created, report.skipped) == (6, 0, 4)
    assert await _stored(db) == []


async def test_the_valid_rows_are_written_on_request(db: Database, clock: FrozenClock) -> None:
    ids = await registry(db, clock)
    async with db.session() as session:
        dry = await import_power(session, clock, SYSTEM, "p.csv", _FILE, max_kwh=1e6, today=DAY,
                                 skip_invalid=True, dry_run=True)  # fmt: skip
    assert (dry.applied, dry.created, dry.skipped) == (False, 2, 4)
    assert await _stored(db) == []
    async with db.session() as session:
        report = await import_power(session, clock, SYSTEM, "p.csv", _FILE, max_kwh=1e6,
                                    today=DAY, skip_invalid=True)  # fmt: skip
    assert report.applied
    assert sorted((p.row, p.column) for p in report.problems) == _BAD
    assert (report.rows, report.created, report.skipped) == (6, 2, 4)
    assert await _stored(db) == sorted([(str(ids[code(0)]), 100.0), (str(ids[code(3)]), 1234.5)])


async def test_an_unknown_column_writes_nothing_even_on_request(
    db: Database, clock: FrozenClock
) -> None:
    await registry(db, clock)
    content = f"credit_code,date,kwh,meter\n{code(0)},2026-02-09,100,A\n".encode()
    named = f"credit_code,企业名称,date,kwh\n{code(0)},测试企业0,2026-02-09,100\n".encode()
    async with db.session() as session:
        report = await import_power(session, clock, SYSTEM, "p.csv", content, max_kwh=1e6,
                                    today=DAY, skip_invalid=True)  # fmt: skip
        assert not report.applied
        assert [(p.row, p.column) for p in report.problems] == [(1, "meter")]
        kept = await import_power(session, clock, SYSTEM, "p.csv", named, max_kwh=1e6,
                                  today=DAY)  # fmt: skip
    assert kept.applied  # the enterprise's name beside its code is known, and not read
    assert len(await _stored(db)) == 1


async def test_api_reports_reasons_in_the_callers_language(
    client: httpx.AsyncClient, world: World, db: Database, clock: FrozenClock
) -> None:
    await registry(db, clock)
    staff = await world.bearer("analyst", Role.BUREAU)
    files = {"file": ("p.csv", _FILE, "text/csv")}
    url = "/api/monitor/power/import"
    refused = await client.post(url, files=files, headers=staff)
    assert refused.status_code == 200, refused.text
    assert refused.json()["applied"] is False
    assert sorted((p["row"], p["column"]) for p in refused.json()["problems"]) == _BAD
    assert await _stored(db) == []
    written = await client.post(url, params={"skip_invalid": "true"}, files=files,
                                headers=staff)  # fmt: skip
    body = written.json()
    assert (body["applied"], body["created"], body["skipped"]) == (True, 2, 4)
    reasons = {p["row"]: p["reason"] for p in body["problems"]}
    assert "cannot be negative" in reasons[3]
    assert len(await _stored(db)) == 2


@pytest.mark.usefixtures("cli_environment")
def test_cli_skip_invalid(tmp_path: Path) -> None:
    runner = CliRunner()
    registry_file = tmp_path / "e.csv"
    lines = ["credit_code,name"] + [f"{code(i)},测试企业{i}" for i in range(4)]
    registry_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert runner.invoke(app, ["enterprise", "import", str(registry_file)]).exit_code == 0
    power = tmp_path / "p.csv"
    power.write_bytes(_FILE)
    refused = runner.invoke(app, ["monitor", "import-power", str(power)])
    assert refused.exit_code == 1
    assert "refused, nothing written" in refused.output
    assert "cannot be negative" in refused.output
    done = runner.invoke(app, ["monitor", "import-power", str(power), "--skip-invalid"])
    assert done.exit_code == 0, done.output
    assert "imported: 6 rows, 2 created, 0 updated, 0 unchanged, 4 skipped" in done.output
    assert "cannot be negative" in done.output


async def test_console_offers_the_choice_and_reports_in_the_page_language(
    client: httpx.AsyncClient, world: World, db: Database, clock: FrozenClock
) -> None:
    await registry(db, clock)
    await world.user("analyst", Role.BUREAU)
    await sign_in(client, "analyst")
    form = await client.get("/monitor/import")  # the console speaks Chinese by default
    assert 'name="skip_invalid"' in form.text
    token = _csrf(form.text)
    files = {"file": ("p.csv", _FILE, "text/csv")}
    refused = await client.post("/monitor/import", data={"csrf": token}, files=files)
    assert refused.status_code == 200
    assert "未写入任何数据" in refused.text
    assert "不能为负" in refused.text  # the row's reason in the page's language
    assert await _stored(db) == []
    done = await client.post("/monitor/import", data={"csrf": token, "skip_invalid": "true"},
                             files=files)  # fmt: skip
    assert done.status_code == 200
    assert "不能为负" in done.text
    assert len(await _stored(db)) == 2
