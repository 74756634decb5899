"""Acceptance: the SMS outbox survives ``kill -9`` mid-batch without sending anyone twice.

A real ``taihu notice deliver`` process sends to the Alibaba stand-in, two numbers a call. The
stand-in holds the second call after taking it (the provider has sent) and before answering;
the test kills the process with SIGKILL there, starts it again, and checks the stand-in's log:
every number once. The batch whose answer was lost stays claimed (not resent) until the
provider's delivery reports settle it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from pathlib import Path

import sqlalchemy as sa

from taihu.core import Database, FrozenClock
from taihu.notices import Audience, NoticeDelivery, aliyun_reports, record_reports
from tests.conftest import TEST_SECRET, World
from tests.notices.helpers import district, published
from tests.notices.sms_standin import KEY_ID, SECRET, StandIn
from tests.notices.test_sms import PHONES, contacts
from tests.processes import DEADLINE


def _environment(database_url: str, standin: StandIn, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAIHU_")}
    env.update({
        "TAIHU_ENV": "test", "TAIHU_DATA_DIR": str(tmp_path / "var"),
        "TAIHU_DATABASE_URL": database_url, "TAIHU_SECRET_KEY": TEST_SECRET,
        "TAIHU_SMS_PROVIDER": "aliyun", "TAIHU_SMS_ENDPOINT": standin.url,
        "TAIHU_SMS_ACCESS_KEY_ID": KEY_ID, "TAIHU_SMS_ACCESS_KEY_SECRET": SECRET,
        "TAIHU_SMS_SIGN_NAME": "苏州吴江工信局", "TAIHU_SMS_TEMPLATE_NOTICE": "SMS_2710001",
        "TAIHU_SMS_BATCH_SIZE": "2", "TAIHU_SMS_RATE_PER_SECOND": "100",
    })  # fmt: skip
    return env


async def _deliver(env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "taihu", "notice", "deliver", env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def _statuses(db: Database) -> Counter[str]:
    async with db.session() as session:
        return Counter(await session.scalars(sa.select(NoticeDelivery.status)))


async def test_kill_9_mid_batch_sends_nobody_twice(
    world: World, db: Database, clock: FrozenClock, database_url: str, tmp_path: Path
) -> None:
    d = await district(world, db, clock)
    await contacts(db, clock, d)  # five numbers: calls of 2, 2, 1
    await published(db, clock, Audience("all"), channels=("sms",))
    with StandIn("aliyun") as standin:
        env = _environment(database_url, standin, tmp_path)
        standin.hold_call = 2
        first = await _deliver(env)
        held = await asyncio.to_thread(standin.holding.wait, DEADLINE)  # a process starting
        assert held, "the second call never reached the stand-in"
        first.kill()  # SIGKILL: no cleanup, no answer read
        assert await first.wait() == -signal.SIGKILL
        standin.hold_call = None
        standin.release.set()
        assert len(standin.log) == 4  # the provider took calls 1 and 2
        assert await _statuses(db) == Counter({"sent": 2, "sending": 2, "pending": 1})

        second = await _deliver(env)
        out, err = await second.communicate()
        assert second.returncode == 0, err.decode()
        assert "sent 1" in out.decode(), out.decode()
        third = await _deliver(env)
        out, _ = await third.communicate()
        assert "sent 0" in out.decode(), out.decode()
        assert Counter(standin.phones()) == Counter(PHONES)  # each number exactly once
        assert standin.refused_signatures == 0
        reports = aliyun_reports(standin.reports())
    # The lost answer is settled by the provider's reports, not by sending again.
    assert await record_reports(db, clock, "aliyun", reports) == 5
    assert await _statuses(db) == Counter({"sent": 5})
