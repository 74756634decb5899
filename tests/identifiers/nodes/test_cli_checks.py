"""`taihu node` refusals and read-only output through Typer's runner, on the test's database."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from taihu.cli import app

runner = CliRunner()


pytestmark = pytest.mark.usefixtures("cli_environment")


@pytest.fixture(autouse=True)
def _wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")


def test_roles_decide_who_admits_and_who_joins(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    key = tmp_path / "node.key"
    key.write_text("node-secret-key\n", encoding="utf-8")
    refused = runner.invoke(app, ["node", "admit", "88.118", "--secret-file", str(key)])
    assert refused.exit_code == 1
    assert "TAIHU_NODE_ROLE=top-level" in refused.output
    monkeypatch.setenv("TAIHU_NODE_ROLE", "top-level")
    admitted = runner.invoke(app, ["node", "admit", "88.118", "--secret-file", str(key)])
    assert admitted.exit_code == 0, admitted.output
    assert "300:0.NA/88.118" in admitted.output
    joining = runner.invoke(
        app, ["node", "join", "--upstream", "127.0.0.1:1", "--credentials", "300:0.NA/1"]
    )
    assert joining.exit_code == 1
    assert "top-level node files with nobody" in joining.output


def test_status_sync_and_site_before_joining() -> None:
    status = runner.invoke(app, ["node", "status"])
    assert status.exit_code == 0, status.output
    assert "role: secondary" in status.output
    assert "not joined" in status.output
    sync = runner.invoke(app, ["node", "sync"])
    assert sync.exit_code == 1
    assert "taihu node join" in sync.output
    site = runner.invoke(app, ["node", "site", "--advertise", "10.20.0.2:2641"])
    assert site.exit_code == 0, site.output
    assert "ADMIN_AND_QUERY" in site.output
    assert "10.20.0.2" in site.output
    named = runner.invoke(app, ["node", "site", "--advertise", "node.example.cn:2641"])
    assert named.exit_code == 1
    assert "not an IP address" in named.output
    loop = runner.invoke(app, ["id", "resolve", "88.118.8/X", "--recursive"])
    assert loop.exit_code == 1
    assert "--upstream" in loop.output
