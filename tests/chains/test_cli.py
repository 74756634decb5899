"""`taihu chain …` through Typer's runner, on the test's database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from taihu.cli import app
from tests.conftest import CODE_A, CODE_B

runner = CliRunner()


pytestmark = pytest.mark.usefixtures("cli_environment")


def _ok(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, f"{args}: {result.output}\n{result.exception!r}"
    return result.output


def test_list_analyze_and_disrupt(tmp_path: Path) -> None:
    assert "fibre.preform" in _ok("chain", "list")
    registry = tmp_path / "e.csv"
    registry.write_text(
        f"credit_code,name,industry_code\n{CODE_A},七都示例光纤,3832\n{CODE_B},七都示例光缆,3833\n"
    )
    _ok("enterprise", "import", str(registry))
    edges = tmp_path / "edges.csv"
    edges.write_text(
        "供应商信用代码,供应商名称,采购方信用代码,采购品类,年采购额,供应商区域\n"
        f"{CODE_A},,{CODE_B},fibre.fibre,300,区内\n"
        f",某省外光纤厂,{CODE_B},fibre.fibre,100,省外\n"
    )
    assert "2 created" in _ok("chain", "import-edges", str(edges))
    assert '"suggested"' in _ok("chain", "suggest-tags")
    data = json.loads(_ok("chain", "analyze", "optical-fibre", "--format", "json"))
    by_key = {s["key"]: s for s in data["segments"]}
    assert by_key["fibre.fibre"]["local_ratio"] == 0.75  # 300 of 400
    assert data["rings"]["china"] == 0.25
    # The buyer's fibre: 300 from A, 100 from outside: HHI 0.75² + 0.25² = 0.625, 25 % outside.
    [pair] = data["sourcing"]
    assert (pair["input"], pair["hhi"], pair["hhi_level"]) == ("fibre.fibre", 0.625, "high")
    assert (pair["outside_share"], pair["outside_level"]) == (0.25, "low")
    [buyer] = data["buyers"]
    assert (buyer["buyer"]["key"], buyer["outside_share"], buyer["max_hhi"]) == (
        CODE_B,
        0.25,
        0.625,
    )
    assert by_key["fibre.fibre"]["hhi"] == 0.625
    table = _ok("chain", "analyze", "optical-fibre")
    assert "completeness" in table
    assert "out of region" in table
    assert "0.62" in table
    target = tmp_path / "fibre.xlsx"
    _ok("chain", "analyze", "optical-fibre", "--format", "xlsx", "--output", str(target))
    book = load_workbook(target)
    assert book.sheetnames == [
        "segments", "sourcing", "buyers", "thresholds", "single source", "rings", "suggestions",
        "centrality",
    ]  # fmt: skip
    assert [c.value for c in book["buyers"][2]][2:7] == [1, 400, 0.25, "low", 0.625]
    down = json.loads(_ok("chain", "disrupt", "--down", CODE_A, "--format", "json"))
    assert down["fallen"] == []  # the buyer keeps its supplier outside the province
    assert "unblock list" in _ok("chain", "disrupt", "--down", CODE_A)


def test_unknown_chain_and_enterprise_fail_cleanly() -> None:
    result = runner.invoke(app, ["chain", "analyze", "nope"])
    assert result.exit_code == 1
    assert "no chain 'nope'" in result.output
    result = runner.invoke(app, ["chain", "disrupt", "--down", CODE_A])
    assert result.exit_code == 1
    assert "no registered enterprise or outside supplier" in result.output
