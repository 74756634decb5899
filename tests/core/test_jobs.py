"""Background jobs stop between rounds, never in the middle of a transaction."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from taihu.accounts import AuditEntry
from taihu.core import Database, PeriodicJob, drain, raise_if_cancelled


def _entry(action: str) -> AuditEntry:
    return AuditEntry(
        at=datetime.now(UTC), actor="job", action=action, entity_type="t", entity_id="1"
    )


async def _actions(db: Database) -> list[str]:
    async with db.session() as session:
        return list(await session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)))


async def test_stop_lets_the_round_under_way_commit(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    inside = asyncio.Event()

    async def work() -> None:
        async with db.session() as session:
            session.add(_entry("round"))
            await session.flush()  # the connection is checked out and the transaction open
            inside.set()
            await asyncio.sleep(0.2)

    job = PeriodicJob("test-job", work, interval=60)
    job.start()
    await inside.wait()
    with caplog.at_level(logging.WARNING):
        await job.stop()
    assert not job.running
    assert await _actions(db) == ["round"]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_stop_cuts_the_pause_between_rounds_short() -> None:
    rounds = 0

    async def work() -> None:
        nonlocal rounds
        rounds += 1

    job = PeriodicJob("test-job", work, interval=3600)
    job.start()
    await asyncio.sleep(0.05)
    async with asyncio.timeout(1):  # far less than the hour it would otherwise sleep
        await job.stop()
    assert rounds == 1


async def test_a_failing_round_is_logged_and_the_next_one_runs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rounds = 0
    second = asyncio.Event()

    async def work() -> None:
        nonlocal rounds
        rounds += 1
        if rounds == 1:
            raise RuntimeError("database busy")
        second.set()

    job = PeriodicJob("flaky-job", work, interval=0.01)
    job.start()
    async with asyncio.timeout(2):
        await second.wait()
    await job.stop()
    assert "flaky-job failed" in caplog.text
    assert "database busy" in caplog.text


async def test_a_round_that_overruns_the_bound_is_cancelled(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def hangs() -> None:
        await asyncio.Event().wait()

    job = PeriodicJob("stuck-job", hangs, interval=1, stop_within=0.05)
    job.start()
    await asyncio.sleep(0.01)
    async with asyncio.timeout(1):
        await job.stop()
    assert not job.running
    assert "did not finish within 0.05 s" in caplog.text


async def test_drain_waits_for_finishing_tasks_and_cancels_the_rest() -> None:
    async def quick() -> str:
        await asyncio.sleep(0.01)
        return "done"

    finishing = asyncio.create_task(quick())
    stuck = asyncio.create_task(asyncio.Event().wait())
    assert await drain([finishing, stuck], within=0.2) == 1
    assert finishing.result() == "done"
    assert stuck.cancelled()


async def test_a_cancel_wait_for_returned_from_is_raised_again() -> None:
    answer: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def call() -> int:
        got = await asyncio.wait_for(answer, timeout=60)
        raise_if_cancelled()
        return got

    calling = asyncio.create_task(call())
    await asyncio.sleep(0)  # calling waits in wait_for
    asyncio.get_running_loop().call_soon(answer.set_result, 1)
    await answer
    # The answer came and wait_for learnt it, but calling has not resumed: on Python 3.11
    # wait_for returns the answer from this cancel (CPython gh-86296).
    calling.cancel()
    with pytest.raises(asyncio.CancelledError):
        await calling


async def test_raise_if_cancelled_lets_an_uncancelled_task_go_on() -> None:
    async def call() -> str:
        raise_if_cancelled()
        return "on"

    assert await asyncio.create_task(call()) == "on"
