"""`taihu solution …` through Typer's runner, on the test's database."""

from __future__ import annotations

import asyncio

import pytest
from typer.testing import CliRunner

from taihu.accounts import Principal
from taihu.cli import app
from taihu.core import Database
from taihu.solutions import GuideService, GuideSpec, PoolService, ProviderSpec, SolutionSpec
from tests.conftest import CODE_A

runner = CliRunner()
pytestmark = pytest.mark.usefixtures("cli_environment")


async def _stock(database_url: str) -> int:
    """A provider that is the registry's enterprise, one solution and a published guide."""
    db = Database(database_url)
    try:
        async with db.session() as session:
            pool = PoolService(session)
            system = Principal.system()
            provider = await pool.create_provider(
                system, ProviderSpec("太湖工业互联网服务", "service", credit_code=CODE_A)
            )
            offer = await pool.create_solution(
                system, provider.id,
                SolutionSpec("光缆能耗管理", "Energy", "", ("energy",), ("3833",), (), 10, 40),
            )  # fmt: skip
            await GuideService(session).save(
                system,
                GuideSpec(
                    "3833", "光纤光缆行业应用指南", "Optical cable", "", (offer.id,), published=True
                ),
            )
            assert provider.enterprise_id is not None  # linked by its credit code
            return provider.enterprise_id
    finally:
        await db.dispose()


def test_the_pool_on_the_command_line(database_url: str) -> None:
    created = runner.invoke(app, ["enterprise", "create", "甲", "--credit-code", CODE_A])
    assert created.exit_code == 0, created.output
    tags = runner.invoke(app, ["solution", "tags"])
    assert tags.exit_code == 0, tags.output
    assert "能耗管理" in tags.output
    added = runner.invoke(app, ["solution", "add-tag", "aps", "高级排产", "Advanced scheduling"])
    assert added.exit_code == 0, added.output
    assert "高级排产" in runner.invoke(app, ["solution", "tags"]).output
    twice = runner.invoke(app, ["solution", "add-tag", "aps", "高级排产", "Advanced scheduling"])
    assert twice.exit_code == 1
    enterprise = asyncio.run(_stock(database_url))
    providers = runner.invoke(app, ["solution", "providers"])
    assert providers.exit_code == 0, providers.output
    assert "1 solutions" in providers.output
    assert CODE_A in providers.output
    found = runner.invoke(app, ["solution", "search", "energy", "--industry", "38"])
    assert "光缆能耗管理" in found.output
    assert "光缆能耗管理" not in runner.invoke(app, ["solution", "search", "--tag", "aps"]).output
    guides = runner.invoke(app, ["solution", "guides"])
    assert "published" in guides.output
    assert "3833" in guides.output
    posted = runner.invoke(app, ["solution", "need", str(enterprise), "能耗在线监测",
                                 "--tag", "energy"])  # fmt: skip
    assert posted.exit_code == 0, posted.output
    need_id = posted.output.split()[1].rstrip(":")
    assert "能耗在线监测" in runner.invoke(app, ["solution", "needs"]).output
    matched = runner.invoke(app, ["solution", "act", need_id, "match", "--solution", "1"])
    assert matched.exit_code == 0, matched.output
    unsaid = runner.invoke(app, ["solution", "act", need_id, "close", "--outcome", "resolved"])
    assert unsaid.exit_code == 1  # closing says how
    closed = runner.invoke(app, ["solution", "act", need_id, "close", "--outcome", "resolved",
                                 "--comment", "上线三个月, 单耗降 6%"])  # fmt: skip
    assert closed.exit_code == 0, closed.output
    assert "closed" in closed.output
    suggested = runner.invoke(app, ["solution", "suggest", str(enterprise)])
    assert suggested.exit_code == 0, suggested.output
    missing = runner.invoke(app, ["solution", "suggest", "999"])
    assert missing.exit_code == 1
