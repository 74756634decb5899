"""`taihu programme …` through Typer's runner, on the test's database."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from taihu.cli import app
from tests.conftest import CODE_A

runner = CliRunner()
pytestmark = pytest.mark.usefixtures("cli_environment")


def test_list_import_awards_counts_and_export(tmp_path: Path) -> None:
    listed = runner.invoke(app, ["programme", "list"])
    assert listed.exit_code == 0, listed.output
    assert "cloud_stars" in listed.output
    assert "specialised_sme" in listed.output
    created = runner.invoke(app, ["enterprise", "create", "甲", "--credit-code", CODE_A])
    assert created.exit_code == 0, created.output
    bad = tmp_path / "awards.csv"
    bad.write_text(f"项目,统一社会信用代码,星级,认定日期\n星级上云企业,{CODE_A},9,2025-03-01\n")
    result = runner.invoke(app, ["programme", "import", str(bad)])
    assert result.exit_code == 1
    assert "grade" in result.output
    assert "nothing written" in result.output
    bad.write_text(f"项目,统一社会信用代码,星级,认定日期\n星级上云企业,{CODE_A},3,2025-03-01\n")
    result = runner.invoke(app, ["programme", "import", str(bad)])
    assert result.exit_code == 0, result.output
    awards = runner.invoke(app, ["programme", "awards"])
    assert "1 awards" in awards.output
    # One historical award at a time: a date that is not one is refused before anything.
    wrong = runner.invoke(app, ["programme", "award", "1", "1", "--since", "2024-13-01"])
    assert wrong.exit_code == 1
    assert "YYYY-MM-DD" in wrong.output
    one = runner.invoke(app, ["programme", "award", "1", "1", "--since", "2024-05-01",
                              "--note", "苏工信 2024 年第 12 号"])  # fmt: skip
    assert one.exit_code == 0, one.output
    assert "since 2024-05-01" in one.output
    assert "2 awards" in runner.invoke(app, ["programme", "awards"]).output
    unknown = runner.invoke(app, ["programme", "award", "1", "999", "--since", "2024-05-01"])
    assert unknown.exit_code == 1
    assert "2028-02-29" in awards.output
    counts = runner.invoke(app, ["programme", "counts"])
    assert "cloud_stars" in counts.output
    assert "2025" in counts.output
    holders = runner.invoke(app, ["programme", "holders", "--by", "industry", "--ever"])
    assert holders.exit_code == 0, holders.output
    assert "cloud_stars" in holders.output  # 甲 has no industry class: the "-" group
    refused = runner.invoke(app, ["programme", "holders", "--by", "planet"])
    assert refused.exit_code == 1
    assert "township, industry, chain" in refused.output
    out = tmp_path / "registry.xlsx"
    assert runner.invoke(app, ["programme", "export", str(out)]).exit_code == 0
    rows = list(load_workbook(out).worksheets[0].iter_rows(values_only=True))
    assert rows[1][0] == "cloud_stars"
    assert rows[1][5] == "3"
    closed = runner.invoke(app, ["programme", "accepting", "1", "--closed"])
    assert "closed to new applications" in closed.output
    refused = runner.invoke(app, ["programme", "decide", "99", "pass"])
    assert refused.exit_code == 1
    assert "no application 99" in refused.output
