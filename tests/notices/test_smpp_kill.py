"""Acceptance: with the SMPP adapter, the SMS outbox survives ``kill -9`` without sending twice.

The shape of ``test_sms_kill.py``: a real ``taihu notice deliver`` process submits to the SMPP
stand-in, one number a call. The stand-in takes the third submit_sm and holds its answer; the
test kills the process there, starts it again twice, and checks the stand-in's log: every number
once. The number whose answer was lost stays claimed (never resent); the receipts of the others
come back on a transceiver bind and settle on their rows.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from functools import partial
from pathlib import Path

from taihu.core import Database, FrozenClock
from taihu.notices import Audience, SmppSms, record_reports
from tests.conftest import TEST_SECRET, World
from tests.notices.helpers import district, published
from tests.notices.smpp_standin import PASSWORD, SYSTEM_ID, SmppStandIn
from tests.notices.test_smpp import TEMPLATE, smpp_settings
from tests.notices.test_sms import PHONES, contacts, rows
from tests.notices.test_sms_kill import _statuses
from tests.processes import DEADLINE


def _environment(database_url: str, smsc: SmppStandIn, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAIHU_")}
    env.update({
        "TAIHU_ENV": "test", "TAIHU_DATA_DIR": str(tmp_path / "var"),
        "TAIHU_DATABASE_URL": database_url, "TAIHU_SECRET_KEY": TEST_SECRET,
        "TAIHU_SMS_PROVIDER": "smpp", "TAIHU_SMS_SMPP_HOST": "127.0.0.1",
        "TAIHU_SMS_SMPP_PORT": str(smsc.port), "TAIHU_SMS_SMPP_SYSTEM_ID": SYSTEM_ID,
        "TAIHU_SMS_SMPP_PASSWORD": PASSWORD, "TAIHU_SMS_SMPP_SOURCE_ADDR": "1069000",
        "TAIHU_SMS_SIGN_NAME": "吴江工信局", "TAIHU_SMS_TEMPLATE_NOTICE": TEMPLATE,
        "TAIHU_SMS_BATCH_SIZE": "1", "TAIHU_SMS_RATE_PER_SECOND": "100",
    })  # fmt: skip
    return env


async def _deliver(env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "taihu", "notice", "deliver", env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def test_kill_9_mid_submit_sends_nobody_twice(
    world: World, db: Database, clock: FrozenClock, database_url: str, tmp_path: Path
) -> None:
    d = await district(world, db, clock)
    await contacts(db, clock, d)  # five numbers, one a call
    await published(db, clock, Audience("all"), channels=("sms",))
    async with SmppStandIn() as smsc:
        env = _environment(database_url, smsc, tmp_path)
        smsc.hold_submit = 3
        first = await _deliver(env)
        await asyncio.wait_for(smsc.holding.wait(), DEADLINE)  # a process starting
        first.kill()  # SIGKILL: no cleanup, no answer read, no unbind
        assert await first.wait() == -signal.SIGKILL
        smsc.hold_submit = None
        smsc.release.set()
        assert len(smsc.log) == 3  # the SMSC took the first three
        assert await _statuses(db) == Counter({"sent": 2, "sending": 1, "pending": 2})

        second = await _deliver(env)
        out, err = await second.communicate()
        assert second.returncode == 0, err.decode()
        assert "sent 2" in out.decode(), out.decode()
        third = await _deliver(env)
        out, _ = await third.communicate()
        assert "sent 0" in out.decode(), out.decode()
        assert Counter(smsc.phones()) == Counter(PHONES)  # each number exactly once

        # The receipts come back on the server's transceiver bind.
        gateway = SmppSms(smpp_settings(smsc))
        task = asyncio.create_task(gateway.receive(partial(record_reports, db, clock, "smpp")))
        try:
            await asyncio.wait_for(smsc.wait_binds(smsc.binds + 1), 30)
            assert await smsc.push_receipts() == 5  # all answered; four match a row
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await gateway.aclose()
    state = await rows(db)
    held = smsc.log[2].phone
    # Its message id never reached the outbox: no receipt can name its row; it stays claimed.
    assert state[held].status == "sending"
    assert {(r.status, r.report) for p, r in state.items() if p != held} == {("sent", "DELIVRD")}
