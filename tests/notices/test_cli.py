"""`taihu notice …` writes, publishes and follows a notice on the configured database."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from taihu.cli import app
from taihu.core import Database, FrozenClock
from tests.conftest import World
from tests.notices.helpers import SONGLING, district

runner = CliRunner()


async def _invoke(*args: str) -> Result:
    # Each command runs its own event loop (asyncio.run): off this test's loop, in a thread.
    return await asyncio.to_thread(runner.invoke, app, ["notice", *args])


@pytest.mark.usefixtures("cli_environment")
async def test_create_publish_receipts_and_deliver(
    world: World, db: Database, clock: FrozenClock, tmp_path: Path
) -> None:
    d = await district(world, db, clock)
    body = tmp_path / "body.md"
    body.write_text("请于本周内**复工**。", encoding="utf-8")
    contact = await _invoke("contact", str(d.a), "张敏", "--phone", "13912345678",
                          "--consent", "书面同意")  # fmt: skip
    assert contact.exit_code == 0, contact.output
    created = await _invoke("create", "复工通知", "--body", str(body),
                                  "--audience", "township", "--ref", SONGLING,
                                  "--channel", "sms")  # fmt: skip
    assert created.exit_code == 0, created.output
    notice_id = created.output.split()[2]
    assert (await _invoke("publish", notice_id)).exit_code == 0
    receipts = await _invoke("receipts", notice_id)
    assert "0 of 2 read" in receipts.output
    delivered = await _invoke("deliver")
    assert "sent 1" in delivered.output, delivered.output
    bad = await _invoke("create", "x", "--body", str(body), "--audience", "town")
    assert bad.exit_code != 0
    later = (await _invoke("create", "年度会议", "--body", str(body))).output.split()[2]
    scheduled = await _invoke("publish", later, "--at", "2099-01-05T09:00")
    assert "draft, at 2099-01-05 09:00" in scheduled.output, scheduled.output  # Shanghai time
    assert (await _invoke("publish", later, "--at", "next week")).exit_code == 1
    listed = await _invoke("list")
    assert "复工通知" in listed.output
    assert "published" in listed.output
