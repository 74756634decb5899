"""Job leases: a periodic job runs in one process of all those sharing the database."""

from __future__ import annotations

import asyncio
import socket
import sys

from taihu.core import Database, JobLease, PeriodicJob, singleton_lease


class _Wall:
    """A wall clock the test moves by hand (UTC seconds)."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


async def test_one_holder_at_a_time_until_released_or_expired(db: Database) -> None:
    wall = _Wall()
    first = JobLease(db, "retention", ttl=30, holder="a", now=wall)
    second = JobLease(db, "retention", ttl=30, holder="b", now=wall)

    assert await first.turn(interval=10)
    assert not await second.turn(interval=10)
    await first.ran()

    wall.now += 20  # within the ttl: the holder renews, the other still waits
    assert not await second.turn(interval=10)
    assert await first.turn(interval=10)
    await first.ran()

    await first.release()  # a clean stop: the other may take over at once ...
    assert not await second.turn(interval=10)  # ... but the round just run is not repeated
    wall.now += 10
    assert await second.turn(interval=10)
    assert not await first.turn(interval=10)


async def test_a_dead_holder_is_replaced_after_its_ttl(db: Database) -> None:
    wall = _Wall()
    dead = JobLease(db, "meter-sync", ttl=30, holder="dead", now=wall)
    alive = JobLease(db, "meter-sync", ttl=30, holder="alive", now=wall)
    assert await dead.turn(interval=5)
    await dead.ran()  # then the process dies without a word

    wall.now += 29
    assert not await alive.turn(interval=5)
    wall.now += 2
    assert await alive.turn(interval=5)


async def test_leases_of_different_jobs_are_independent(db: Database) -> None:
    wall = _Wall()
    assert await JobLease(db, "notices", holder="a", now=wall).turn(interval=1)
    assert await JobLease(db, "node-filings", holder="b", now=wall).turn(interval=1)


async def test_two_periodic_jobs_share_the_rounds_through_the_lease(db: Database) -> None:
    """Two copies of one job (two servers): rounds run in one; when it stops, in the other."""
    ran: list[str] = []
    enough, started, second_ran = asyncio.Event(), asyncio.Event(), asyncio.Event()

    def job(holder: str) -> PeriodicJob:
        async def work() -> None:
            ran.append(holder)
            started.set()
            if len(ran) >= 4:
                enough.set()
            if holder == "second":
                second_ran.set()

        lease = JobLease(db, "twice", ttl=3600, holder=holder)
        return PeriodicJob(f"twice-{holder}", work, interval=0.02, lease=lease)

    first, second = job("first"), job("second")
    first.start()
    async with asyncio.timeout(60):
        await started.wait()  # the first takes the lease before the second exists
    second.start()
    async with asyncio.timeout(60):
        await enough.wait()
    assert set(ran) == {"first"}  # the second found the lease held (its ttl is an hour)

    handed_over = len(ran)
    await first.stop()  # gives the lease back
    async with asyncio.timeout(60):
        await second_ran.wait()
    await second.stop()
    assert ran[handed_over:] == ["second"] * len(ran[handed_over:])


async def test_leases_only_where_several_servers_can_share_the_database(db: Database) -> None:
    lease = singleton_lease(db, "taihu-retention", 3600)
    if db.dialect == "sqlite":
        assert lease is None  # one file, one supervisor: it alone runs the jobs
    else:
        assert isinstance(lease, JobLease)
        assert lease.ttl == 3 * 3600
        assert singleton_lease(db, "notices", 1).ttl == 30  # type: ignore[union-attr]


async def test_a_long_round_keeps_its_lease(db: Database) -> None:
    """A round longer than the ttl renews the lease, so no other process starts the job."""
    inside, finish = asyncio.Event(), asyncio.Event()

    async def long_round() -> None:
        inside.set()
        await finish.wait()

    lease = JobLease(db, "long", ttl=3, holder="long")
    job = PeriodicJob("long", long_round, interval=3600, lease=lease)
    job.start()
    async with asyncio.timeout(60):
        await inside.wait()
    other = JobLease(db, "long", ttl=3, holder="other")
    for _ in range(5):  # well past the ttl; the round renews its lease every second meanwhile
        await asyncio.sleep(1.5)
        assert not await other.turn(interval=3600)
    finish.set()
    await job.stop()


async def test_a_killed_holder_of_this_machine_is_replaced_at_once(db: Database) -> None:
    """A server restarted after a kill -9 need not wait out the ttl of its dead self."""
    gone = await asyncio.create_subprocess_exec(sys.executable, "-c", "pass")
    await gone.wait()  # its pid now names no process
    wall = _Wall()
    dead = JobLease(db, "notices", ttl=30, holder=f"{socket.gethostname()}:{gone.pid}:x",
                    now=wall)  # fmt: skip
    assert await dead.turn(interval=1)
    await dead.ran()
    wall.now += 5
    assert await JobLease(db, "notices", ttl=30, holder="restarted", now=wall).turn(interval=1)


async def test_a_holder_on_another_machine_is_waited_out(db: Database) -> None:
    """Whether another machine's process lives cannot be seen from here: only the ttl counts."""
    wall = _Wall()
    remote = JobLease(db, "notices", ttl=30, holder=f"not-{socket.gethostname()}:{2**22 + 1}:x",
                      now=wall)  # fmt: skip
    assert await remote.turn(interval=1)
    await remote.ran()
    wall.now += 5
    here = JobLease(db, "notices", ttl=30, holder="here", now=wall)
    assert not await here.turn(interval=1)
    wall.now += 30
    assert await here.turn(interval=1)
