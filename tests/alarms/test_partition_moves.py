"""Silence judged across ingest processes: a partition that moves is judged by its new holder only.

A JetStream-enabled ``nats-server`` of the test's own; two "ingest processes" in this test
process, each a hub's ingest queue consuming the bus with an alarm engine of its own, on one
database, as ``--role ingest`` processes are. Their clock is frozen and their ticks are run by
hand, so silence is judged at chosen times.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from taihu.accounts import Principal
from taihu.alarms import Alarm, AlarmEngine, AlarmService, PresenceEvent
from taihu.core import Database, FrozenClock
from taihu.devices import BusNode, Device, DeviceHub
from taihu.devices.bus import encode_rows
from taihu.settings import ClusterSettings, Settings
from tests.devices.conftest import eventually
from tests.processes import NO_NATS_SERVER, nats_server

PARTITIONS = 2
SILENT = {"name": "silent", "kind": "no_data", "key": "", "severity": "minor",
          "spec": {"silent_minutes": 5}}  # fmt: skip


@pytest.fixture
def nats_url(tmp_path: Path) -> Iterator[str]:
    """A JetStream-enabled nats-server of this test's own."""
    if NO_NATS_SERVER:
        pytest.skip("no nats-server")
    with nats_server(tmp_path / "nats") as url:
        yield url


class Ingest:
    """An ingest process: the bus consumed into a hub's queue, its alarm engine watching."""

    def __init__(
        self, db: Database, settings: Settings, cluster: ClusterSettings, clock: FrozenClock,
        lock: asyncio.Lock,
    ) -> None:  # fmt: skip
        self.hub = DeviceHub(db, settings.mqtt, clock=clock)
        # One writer at a time, as SQLite's lock makes of two processes.
        self.hub.ingest.write_lock = lock
        self.engine = AlarmEngine(db, settings.alarms, clock=clock, partitions=PARTITIONS)
        self.engine.write_lock = lock
        self.hub.observe(self.engine)
        self.node = BusNode(cluster, self.hub, publish=True, consume=True)
        self.running = False

    async def start(self) -> None:
        """Load the engine (its jobs do not run: the test ticks), then consume."""
        await self.engine.load()
        self.running = True
        await self.node.start()

    def leased(self) -> set[int]:
        """The partitions whose leases it holds."""
        assert self.node.ingest is not None
        assert self.node.ingest.leases is not None
        return set(self.node.ingest.leases.held)

    async def publish(self, device_id: int, ts: int) -> None:
        """A reading of the device, as a transport publishes it."""
        js = self.node.bus.js
        assert js is not None
        row = (device_id, "t", ts, 1, 20.0, None)
        await js.publish(self.node.bus.subject(device_id), encode_rows([row]))

    async def stop(self) -> None:
        """Give the partitions back, write what the engine holds."""
        if not self.running:
            return
        self.running = False
        await self.node.stop()
        await self.engine.flush()


@pytest.fixture
async def ingests(
    db: Database, settings: Settings, clock: FrozenClock, nats_url: str
) -> AsyncIterator[list[Ingest]]:
    """Two ingest processes, not started."""
    cluster = ClusterSettings(
        nats_urls=[nats_url], partitions=PARTITIONS, lease_seconds=1.5, ack_wait=5.0,
        publish_timeout=2.0,
    )  # fmt: skip
    lock = asyncio.Lock()
    both = [Ingest(db, settings, cluster, clock, lock) for _ in range(2)]
    yield both
    for ingest in reversed(both):
        await ingest.stop()


async def _history(db: Database, device_id: int) -> list[str]:
    async with db.session() as session:
        return list(
            await session.scalars(
                sa.select(PresenceEvent.state)
                .where(PresenceEvent.device_id == device_id)
                .order_by(PresenceEvent.id)
            )
        )


async def _silent_alarms(db: Database) -> list[int]:
    async with db.session() as session:
        return sorted(await session.scalars(sa.select(Alarm.device_id)))


async def test_a_partition_given_to_a_joining_process_is_judged_by_it_alone(
    db: Database, ingests: list[Ingest], make_device: Any, clock: FrozenClock
) -> None:
    devices = [(await make_device(f"m{i}")).id for i in range(4)]
    async with db.session() as session:
        profile_id = await session.scalar(
            sa.select(Device.profile_id).where(Device.id == devices[0])
        )
        await AlarmService(session).create_rule(
            Principal.system("test"), profile_id=profile_id, **SILENT
        )
    a, b = ingests
    await a.start()
    assert a.leased() == set(range(PARTITIONS))  # alone: every partition
    t0 = int(clock.now().timestamp() * 1000)
    for device_id in devices:
        await a.publish(device_id, t0)

    async def all_connected() -> bool:
        return all(a.engine.presence.get(d) == "connected" for d in devices)

    await eventually(all_connected)
    await a.engine.flush()

    # A second ingest process joins a minute later: the first gives it one partition.
    clock.advance(timedelta(minutes=1))
    await b.start()

    async def shared() -> bool:
        # b read the state of its partition's devices before consuming it
        return len(a.leased()) == 1 and b.engine.held == b.leased() == {1 - min(a.leased())}

    await eventually(shared, within=30.0)
    [moved] = b.leased()
    assert a.engine.held == {1 - moved}
    # In each partition one device sends again and one stays silent.
    talking = {p: next(d for d in devices if d % PARTITIONS == p) for p in range(PARTITIONS)}
    silent = [d for d in devices if d not in talking.values()]

    clock.advance(timedelta(minutes=8))  # 9 minutes after the first readings
    for device_id in talking.values():
        holder = b if device_id % PARTITIONS == moved else a
        await holder.publish(device_id, t0 + 9 * 60_000)

    async def heard() -> bool:
        now = clock.now().timestamp()
        return all(
            (b if d % PARTITIONS == moved else a).engine.last_data.get(d) == now
            for d in talking.values()
        )

    await eventually(heard)

    # 12 minutes after the first readings: the inactivity timeout (10) and the silence (5) past
    # for what was silent since, not for what sent 3 minutes ago.
    clock.advance(timedelta(minutes=3))
    for ingest in (a, b):
        await ingest.engine.tick()
        await ingest.engine.flush()
    for device_id in talking.values():
        assert await _history(db, device_id) == ["connected"], device_id
    # The silent device of the moved partition is judged by its new holder, once.
    for device_id in silent:
        assert await _history(db, device_id) == ["connected", "inactive"], device_id
    assert await _silent_alarms(db) == sorted(silent)

    # Its data comes again: the new holder clears the alarm and marks it connected.
    [quiet] = [d for d in silent if d % PARTITIONS == moved]
    await b.publish(quiet, t0 + 12 * 60_000)

    async def back() -> bool:
        return b.engine.presence.get(quiet) == "connected"

    await eventually(back)
    await b.engine.flush()
    assert await _history(db, quiet) == ["connected", "inactive", "connected"]
    assert await _cleared(db, quiet)

    # The first process stops: the other takes its partition with what it concluded (the
    # silent device inactive, its alarm active), and clears them when the device sends again.
    await a.stop()

    async def alone() -> bool:
        return b.engine.held == set(range(PARTITIONS))

    await eventually(alone, within=30.0)
    [kept] = [d for d in silent if d % PARTITIONS != moved]
    clock.advance(timedelta(minutes=1))
    await b.publish(kept, t0 + 13 * 60_000)

    async def kept_heard() -> bool:
        return b.engine.last_data.get(kept) == clock.now().timestamp()

    await eventually(kept_heard)
    await b.engine.flush()
    assert await _history(db, kept) == ["connected", "inactive", "connected"]
    assert await _cleared(db, kept)


async def _cleared(db: Database, device_id: int) -> bool:
    async with db.session() as session:
        alarm = await session.scalar(sa.select(Alarm).where(Alarm.device_id == device_id))
    return alarm is not None and alarm.cleared_at is not None


async def test_an_engine_judges_only_the_partitions_it_was_told_it_holds(
    db: Database, make_device: Any, clock: FrozenClock
) -> None:
    devices = [(await make_device(f"m{i}")).id for i in range(2)]
    mine, other = sorted(devices, key=lambda d: d % PARTITIONS)
    first = AlarmEngine(db, clock=clock)  # one process: it judges every device
    await first.load()
    first.stored([(d, "t", 1, 1, 1.0, None) for d in devices])
    await first.flush()
    ingest = AlarmEngine(db, clock=clock, partitions=PARTITIONS)
    await ingest.load()  # every device's presence, none judged until a partition is taken
    clock.advance(timedelta(minutes=11))
    await ingest.tick()
    await ingest.flush()
    assert [await _history(db, d) for d in devices] == [["connected"]] * 2

    await ingest.took(mine % PARTITIONS, PARTITIONS)  # silence counted from now
    clock.advance(timedelta(minutes=9))
    await ingest.tick()
    await ingest.flush()
    assert await _history(db, mine) == ["connected"]
    clock.advance(timedelta(minutes=1))
    await ingest.tick()
    await ingest.flush()
    assert await _history(db, mine) == ["connected", "inactive"]
    assert await _history(db, other) == ["connected"]  # another process's to judge

    await ingest.gave_back(mine % PARTITIONS, PARTITIONS)
    assert mine not in ingest.last_data
    assert mine not in ingest.presence
