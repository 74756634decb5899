"""Partition leases and consumers in one process: shares, a member that dies, the take-over.

A JetStream-enabled ``nats-server`` of the test's own; "members" are ``PartitionLeases`` on
connections of their own, as ingest processes would be, with a short lease.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import nats
import nats.js.errors
import pytest
from nats.aio.client import Client as NatsClient
from nats.js.api import RetentionPolicy

from taihu.devices.bus import JetStreamBus
from taihu.devices.bus_partitions import PartitionLeases, partition_consumers, share
from taihu.settings import ClusterSettings
from tests.devices.conftest import eventually
from tests.processes import NO_NATS_SERVER, nats_server

LEASE = 1.5  # seconds
SETTINGS = ClusterSettings(partitions=8, lease_seconds=LEASE)


def test_shares_are_contiguous_balanced_and_cover_every_partition() -> None:
    assert share(16, [], "a") == set(range(16))
    assert share(16, ["a", "b"], "a") == set(range(8))
    assert share(16, ["b", "a"], "b") == set(range(8, 16))
    three = [share(16, ["x", "y", "z"], m) for m in ("x", "y", "z")]
    assert [len(s) for s in three] == [5, 5, 6]
    assert set().union(*three) == set(range(16))
    assert share(2, ["a", "b", "c"], "a") == set()  # more processes than partitions: one idles


@pytest.fixture
def nats_url(tmp_path: Path) -> Iterator[str]:
    """A JetStream-enabled nats-server of this test's own."""
    if NO_NATS_SERVER:
        pytest.skip("no nats-server")
    with nats_server(tmp_path / "nats") as url:
        yield url


class Member:
    """An ingest process as the leases see it: the partitions it consumes."""

    def __init__(self, nc: NatsClient, name: str, other: Member | None = None) -> None:
        self.nc = nc
        self.consuming: set[int] = set()
        self.other = other
        self.overlaps: list[int] = []  # partitions taken while the other could still fetch them
        self.leases = PartitionLeases(
            nc, SETTINGS, take=self._take, give_back=self._give_back, member=name
        )

    def _take(self, partition: int) -> None:
        if self.other is not None and self.other.leases.valid(partition):
            self.overlaps.append(partition)
        self.consuming.add(partition)

    async def _give_back(self, partition: int) -> None:
        self.consuming.discard(partition)


@pytest.fixture
async def connections(nats_url: str) -> AsyncIterator[list[NatsClient]]:
    """Two connections, one per member."""
    ncs = [await nats.connect(nats_url) for _ in range(2)]
    yield ncs
    for nc in ncs:
        if not nc.is_closed:
            await nc.close()


async def test_two_members_share_and_the_partitions_of_one_that_dies_move_in_a_lease(
    connections: list[NatsClient],
) -> None:
    a = Member(connections[0], "a")
    await a.leases.start()
    assert a.consuming == set(range(8))  # alone: everything, from the first round
    b = Member(connections[1], "b", other=a)
    await b.leases.start()

    async def shared() -> bool:
        return a.consuming == {0, 1, 2, 3} and b.consuming == {4, 5, 6, 7}

    await eventually(shared, within=10 * LEASE)  # a gave back b's share, b took it
    assert set(a.leases.held) == {0, 1, 2, 3}

    # a dies: no more renewals, no giving back.
    assert a.leases._task is not None
    a.leases._task.cancel()
    await connections[0].close()
    died = time.monotonic()

    async def moved() -> bool:
        return b.consuming == set(range(8))

    await eventually(moved, within=10 * LEASE)
    elapsed = time.monotonic() - died
    # Its leases run out within LEASE of its last renewal; b's next round comes a third later.
    assert elapsed < 2 * LEASE + 3.0, elapsed  # slack for a loaded machine
    assert b.overlaps == []  # a could fetch none of them any more when b took them
    await b.leases.stop(within=1.0)
    assert b.consuming == set()


async def test_a_member_that_stops_gives_its_partitions_back_at_once(
    connections: list[NatsClient],
) -> None:
    a, b = Member(connections[0], "a"), Member(connections[1], "b")
    await a.leases.start()
    await b.leases.start()

    async def shared() -> bool:
        return len(a.consuming) == 4 and len(b.consuming) == 4

    await eventually(shared, within=10 * LEASE)
    stopped = time.monotonic()
    await a.leases.stop(within=1.0)
    assert a.consuming == set()

    async def moved() -> bool:
        return b.consuming == set(range(8))

    await eventually(moved, within=10 * LEASE)
    # Given back, not run out: b takes them at its next rounds (its list of members still
    # names a until a's heartbeat is gone, which stop() removes too).
    assert time.monotonic() - stopped < LEASE + 3.0
    await b.leases.stop(within=1.0)


@pytest.mark.parametrize("retention", [RetentionPolicy.LIMITS, RetentionPolicy.WORK_QUEUE])
async def test_the_shared_consumer_of_earlier_versions_is_taken_over_at_its_ack_floor(
    nats_url: str, retention: RetentionPolicy
) -> None:
    settings = ClusterSettings(nats_urls=[nats_url], partitions=2, fetch_batch=20)
    if retention == RetentionPolicy.LIMITS:  # the stream as earlier versions made it
        nc = await nats.connect(nats_url)
        await nc.jetstream().add_stream(name="TAIHU_INGEST", subjects=["taihu.ingest.>"])
        await nc.close()
    bus = JetStreamBus(settings)
    await bus.open()
    js = bus.js
    assert js is not None
    try:
        assert (await js.stream_info("TAIHU_INGEST")).config.retention == retention
        old = await js.pull_subscribe("taihu.ingest.>", durable="taihu-ingest",
                                      stream="TAIHU_INGEST")  # fmt: skip
        for i in range(6):  # sequence i + 1, partition i % 2
            await js.publish(f"taihu.ingest.{i % 2}", str(i).encode())
        taken = await old.fetch(4)
        for msg in taken[:3]:
            await msg.ack_sync()  # the 4th is taken and never acknowledged: its process died
        await partition_consumers(js, settings)
        with pytest.raises(nats.js.errors.NotFoundError):
            await js.consumer_info("TAIHU_INGEST", "taihu-ingest")
        received = {}
        for partition in (0, 1):
            info = await js.consumer_info("TAIHU_INGEST", f"taihu-ingest-{partition}")
            assert info.config.filter_subject == f"taihu.ingest.{partition}"
            assert info.config.max_ack_pending == 20  # one batch in flight
            sub = await js.pull_subscribe_bind(durable=f"taihu-ingest-{partition}",
                                               stream="TAIHU_INGEST")  # fmt: skip
            received[partition] = [m.data for m in await sub.fetch(10, timeout=2.0)]
        # From the floor on (sequence 4): 3 again (taken, not acknowledged), 4 and 5. A work
        # queue holds just those: the acknowledged ones left it.
        assert received == {0: [b"4"], 1: [b"3", b"5"]}

        # Started again, with another ack wait: the consumers are kept, their ack wait follows.
        changed = settings.model_copy(update={"ack_wait": 7.0})
        await partition_consumers(js, changed)
        info = await js.consumer_info("TAIHU_INGEST", "taihu-ingest-1")
        assert info.config.ack_wait == 7.0
        assert info.num_ack_pending == 2
    finally:
        await bus.close()
