"""`taihu enterprise import` through Typer's runner, on the test's database."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from taihu.cli import app
from tests.conftest import CODE_A, CODE_B

runner = CliRunner()


pytestmark = pytest.mark.usefixtures("cli_environment")


def test_import_reports_problems_then_imports(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(f"企业名称,统一社会信用代码,行业代码\n甲,{CODE_A},3833\n乙,{CODE_B},12\n")
    result = runner.invoke(app, ["enterprise", "import", str(bad)])
    assert result.exit_code == 1
    assert "industry_code" in result.output
    assert "nothing written" in result.output
    listed = runner.invoke(app, ["enterprise", "list"])
    assert "0 enterprises" in listed.output
    good = tmp_path / "good.csv"
    good.write_text(f"企业名称,统一社会信用代码,行业代码\n甲,{CODE_A},3833\n")
    result = runner.invoke(app, ["enterprise", "import", str(good)])
    assert result.exit_code == 0, result.output
    assert "1 created" in result.output
    skipped = runner.invoke(app, ["enterprise", "import", str(bad), "--skip-invalid"])
    assert "0 created, 0 updated, 1 unchanged, 1 skipped" in skipped.output


def test_import_of_a_missing_file_fails_cleanly(tmp_path: Path) -> None:
    result = runner.invoke(app, ["enterprise", "import", str(tmp_path / "nope.xlsx")])
    assert result.exit_code == 1
    assert "cannot read" in result.output
