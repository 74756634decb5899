"""`taihu node` refusals and read-only output through Typer's runner, on the test's database."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from taihu.accounts import Principal
from taihu.cli import app
from taihu.core import Database
from taihu.identifiers import IdentifierService
from taihu.identifiers.hierarchy.service import run_filings
from taihu.identifiers.models import Filing
from taihu.identifiers.resolution import ResolutionFailed
from taihu.identifiers.wire import ResponseCode

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


def test_join_shows_filings_the_running_server_sent_first(
    monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    asyncio.run(_prefix(database_url, "88.118"))

    async def server_first(db: Database, *args: Any, **kwargs: Any) -> Any:
        # A server on the same database files in the background every second: here it wins
        # the race, so the command's own round finds nothing left to send.
        async with db.session() as session:
            await session.execute(sa.update(Filing).values(state="done"))
        return await run_filings(db, *args, **kwargs)

    monkeypatch.setattr("taihu.identifiers.hierarchy.cli.run_filings", server_first)
    joined = runner.invoke(app, [
        "node", "join", "--upstream", "127.0.0.1:1", "--credentials", "300:0.NA/88.118",
        "--advertise", "127.0.0.1:2641",
    ])  # fmt: skip
    assert joined.exit_code == 0, joined.output
    assert "1 prefixes to file" in joined.output
    assert re.search(r"88\.118[\s│]+file[\s│]+done", joined.output), joined.output


async def _prefix(url: str, prefix: str) -> None:
    db = Database(url)
    try:
        async with db.session() as session:
            await IdentifierService(session).create_prefix(Principal.system("test"), prefix)
    finally:
        await db.dispose()


def test_recursive_resolve_waits_as_long_as_timeout_says(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAIHU_NODE_TIMEOUT", "60")
    seen: list[float] = []

    class Silent:
        """Stands in for the resolver: records its bound, answers as a node that kept quiet."""

        def __init__(self, _first: object, *, timeout: float, **_: object) -> None:
            seen.append(timeout)

        async def resolve(self, _handle: str, **_: object) -> None:
            raise ResolutionFailed(ResponseCode.ERROR, "node 127.0.0.1:9 did not answer")

    monkeypatch.setattr("taihu.identifiers.hierarchy.cli.RecursiveResolver", Silent)
    args = ["id", "resolve", "88.118/X", "--recursive", "--upstream", "127.0.0.1:9"]
    told = runner.invoke(app, [*args, "--timeout", "0.5"])
    assert told.exit_code == 1, told.output
    assert "did not answer" in told.output
    default = runner.invoke(app, args)
    assert default.exit_code == 1, default.output
    assert seen == [0.5, 60.0]
