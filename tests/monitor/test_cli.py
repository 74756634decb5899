"""`taihu monitor …` through Typer's runner, on the test's database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from taihu.cli import app
from tests.monitor.helpers import DAY, code, example_rows, power_csv

runner = CliRunner()


pytestmark = pytest.mark.usefixtures("cli_environment")


def _ok(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, f"{args}: {result.output}\n{result.exception!r}"
    return result.output


def _registry(tmp_path: Path) -> None:
    registry = tmp_path / "e.csv"
    lines = ["credit_code,name,township,industry_code"]
    lines += [
        f"{code(i)},测试企业{i},{'七都镇' if i % 2 == 0 else '盛泽镇'},3832" for i in range(4)
    ]
    registry.write_text("\n".join(lines) + "\n", encoding="utf-8")
    _ok("enterprise", "import", str(registry))


def test_import_and_index(tmp_path: Path) -> None:
    _registry(tmp_path)
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"credit_code,date,kwh\n" + f"{code(0)},2026-02-01,-1\n".encode())
    refused = runner.invoke(app, ["monitor", "import-power", str(bad)])
    assert refused.exit_code == 1
    assert "cannot be negative" in refused.output
    assert "nothing written" in refused.output
    good = tmp_path / "power.csv"
    good.write_bytes(power_csv(example_rows()))
    assert "would import" in _ok("monitor", "import-power", str(good), "--dry-run")
    assert "imported" in _ok("monitor", "import-power", str(good))
    body = json.loads(_ok("monitor", "index", "--date", str(DAY), "--group", "township",
                          "--format", "json"))  # fmt: skip
    assert (body["enterprises"], body["resumed"], body["resumption_rate"]) == (2, 1, 0.5)
    assert set(body["groups"]) == {"320509105", "320509107"}
    assert "复工率 50.0%" in _ok("monitor", "index", "--date", str(DAY), "--group", "industry")
    out = tmp_path / "i.xlsx"
    _ok("monitor", "index", "--date", str(DAY), "--format", "xlsx", "-o", str(out))
    sheet = load_workbook(out).active
    assert sheet is not None
    assert sheet.cell(row=3, column=1).value == "district"
    lines = _ok("monitor", "series", "--first", "2026-02-09", "--last", str(DAY), "--json")
    assert [json.loads(x)["enterprises"] for x in lines.splitlines()] == [1, 2]
    lines = _ok("monitor", "series", "--first", "2026-02-09", "--last", str(DAY), "--json",
                "--group", "township", "--key", "320509105")  # fmt: skip
    assert [json.loads(x)["enterprises"] for x in lines.splitlines()] == [1, 1]
    assert "missing" in _ok("monitor", "flags", "--first", str(DAY), "--last", str(DAY))
    refused = runner.invoke(app, ["monitor", "index", "--date", "2026-02-30"])
    assert refused.exit_code == 1


def test_lists_cases_and_unblock(tmp_path: Path) -> None:
    _registry(tmp_path)
    assert "list 1 created" in _ok("monitor", "list-create", "重点企业")
    assert "2 enterprise(s) added" in _ok("monitor", "list-add", "重点企业", code(0), code(1))
    assert "1 enterprise(s) removed" in _ok("monitor", "list-remove", "1", code(1))
    assert "重点企业" in _ok("monitor", "lists")
    out = tmp_path / "w.xlsx"
    _ok("monitor", "snapshot", "重点企业", "--week", str(DAY), "-o", str(out))
    assert load_workbook(out).active["C6"].value == "测试企业0"  # type: ignore[index]
    assert "case 1 recorded" in _ok("monitor", "case-open", code(0), "--category", "labour",
                                    "--title", "返岗不足")  # fmt: skip
    assert "is assigned" in _ok("monitor", "case-act", "1", "assign", "--officer", "wang",
                                "--deadline", "2099-01-01")  # fmt: skip
    refused = runner.invoke(app, ["monitor", "case-act", "1", "close"])
    assert refused.exit_code == 1
    assert "report-back" in refused.output
    assert "is closed" in _ok("monitor", "case-act", "1", "close", "--comment", "已返岗")
    assert "返岗不足" in _ok("monitor", "cases", "--state", "closed")
    assert "0 case(s) opened" in _ok("monitor", "unblock", code(0), "--date", str(DAY),
                                     "--open-cases")  # fmt: skip


def test_window_per_command_no_reading_and_flag_names(tmp_path: Path) -> None:
    # Issue 17, section 5, through the CLI: the baseline window given per command, `no_reading`
    # in the group and series outputs, flags naming their enterprise.
    _registry(tmp_path)
    good = tmp_path / "power.csv"
    good.write_bytes(power_csv(example_rows()))
    _ok("monitor", "import-power", str(good))
    body = json.loads(_ok("monitor", "index", "--date", str(DAY), "--group", "township",
                          "--baseline-from", "2025-12-01", "--baseline-to", "2025-12-10",
                          "--format", "json"))  # fmt: skip
    assert (body["baseline_start"], body["baseline_end"]) == ("2025-12-01", "2025-12-10")
    assert body["baseline_rule"] == "request"
    assert body["no_reading"] == 1  # D reported the day before, not on DAY
    assert sum(g["no_reading"] for g in body["groups"].values()) == 1
    default = json.loads(_ok("monitor", "index", "--date", str(DAY), "--format", "json"))
    assert default["baseline_rule"] != "request"
    half = runner.invoke(app, ["monitor", "index", "--date", str(DAY), "--baseline-from",
                               "2025-12-01"])  # fmt: skip
    assert half.exit_code == 1
    assert "--baseline-to" in half.output
    lines = _ok("monitor", "series", "--first", "2026-02-09", "--last", str(DAY), "--json")
    # The day before only D reports: A and B (with a baseline) have no reading; on DAY only D.
    assert [json.loads(x)["no_reading"] for x in lines.splitlines()] == [2, 1]
    assert "no reading" in _ok("monitor", "series", "--first", str(DAY), "--last", str(DAY))
    assert "测试企业3" in _ok("monitor", "flags", "--first", str(DAY), "--last", str(DAY))
