"""Acceptance: ingest processes share the partitions, keep each device's order, lose nothing.

A JetStream-enabled ``nats-server`` of the test's own and ``taihu serve --role ingest``
processes (and a ``--role transport``) on the test's database, with a short partition lease.

- Two ingest processes each take a share of the partitions; devices on every partition publish
  at QoS 1; one ingest process is killed with SIGKILL, the other takes its partitions within
  the lease bound, and every acknowledged reading is stored exactly once.
- One device's values for a single (key, ts), and one client attribute, published through the
  bus with increasing values while a second ingest process joins and the first leaves (the
  device's partition moves): the value stored is the last sent.
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nats
import paho.mqtt.client as mqtt
import pytest
import sqlalchemy as sa
from paho.mqtt.enums import CallbackAPIVersion

from taihu.accounts import Principal
from taihu.core import Database
from taihu.devices import DeviceService
from taihu.devices.bus import ATTRIBUTES, KIND, JetStreamBus, encode_rows
from taihu.devices.models import DeviceAttribute
from taihu.devices.rollups import PERIODS
from taihu.devices.values import Kind
from taihu.enterprises import EnterpriseService
from taihu.settings import ClusterSettings
from tests.cli.test_serve import MQTT
from tests.conftest import CODE_A, TEST_SECRET
from tests.processes import DEADLINE, NO_NATS_SERVER, nats_server, running

pytestmark = pytest.mark.skipif(NO_NATS_SERVER, reason="no nats-server")
LEASE = 2.0  # seconds
READINGS = 400  # per device
T0 = int(time.time()) // 60 * 60_000  # ms: readings of this minute, well inside retention
INGEST = ("serve", "--role", "ingest")
HOLDING = r"keeping ([\d,-]+) \({} ingest process"


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> dict[str, str]:
    """The environment of the `taihu` processes: the test's database, quiet output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAIHU_")}
    env.pop("FORCE_COLOR", None)
    env.update(
        TAIHU_ENV="test", TAIHU_DATABASE_URL=database_url, TAIHU_DATA_DIR=str(tmp_path / "var"),
        TAIHU_SECRET_KEY=TEST_SECRET, PYTHONUNBUFFERED="1", NO_COLOR="1",
        TAIHU_CLUSTER_LEASE_SECONDS=str(LEASE),
        TAIHU_CLUSTER_FETCH_BATCH="20",  # small batches: a kill or a move falls among them
        TAIHU_CLUSTER_PUBLISH_TIMEOUT="60",  # a loaded machine is slow, not failing
    )  # fmt: skip
    return env


def _run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


def _devices(database_url: str, count: int) -> list[tuple[int, str]]:
    """Devices of one new enterprise: ids and access tokens."""

    async def _register() -> list[tuple[int, str]]:
        db = Database(database_url)
        try:
            async with db.session() as session:
                enterprise = await EnterpriseService(session).create(
                    Principal.system("test"), "甲厂", CODE_A
                )
            made = []
            for i in range(count):
                async with db.session() as session:
                    issued = await DeviceService(session).create(
                        Principal.system("test"), enterprise.id, f"meter {i}"
                    )
                made.append((issued.device.id, issued.token))
            return made
        finally:
            await db.dispose()

    return _run(_register())


def _query(database_url: str, statement: Any, **params: int) -> list[tuple[Any, ...]]:
    async def _select() -> list[tuple[Any, ...]]:
        db = Database(database_url)
        try:
            async with db.session() as session:
                if isinstance(statement, str):
                    return [tuple(r) for r in await session.execute(sa.text(statement), params)]
                return [tuple(r) for r in await session.execute(statement)]
        finally:
            await db.dispose()

    return _run(_select())


def _count(database_url: str) -> int:
    return _query(database_url, "SELECT count(*) FROM ts_points")[0][0]


def _until(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {DEADLINE:.0f} s: {what}")
        time.sleep(0.1)  # a polling interval, not a wait for something to have happened


class Publisher:
    """A paho client (MQTT 5) publishing readings of one device at QoS 1."""

    def __init__(self, port: int, token: str) -> None:
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self.client.username_pw_set(token)
        self.client.max_inflight_messages_set(50)
        self.connacks: queue.Queue[int] = queue.Queue()
        self.acks: queue.Queue[int] = queue.Queue()
        self.client.on_connect = lambda _c, _u, _f, rc, _p: self.connacks.put(rc.value)
        self.client.on_publish = lambda _c, _u, _mid, rc, _p: self.acks.put(rc.value)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert self.connacks.get(timeout=DEADLINE) == 0
        for i in range(READINGS):
            payload = json.dumps({"ts": T0 + i, "values": {"v": i}})
            self.client.publish("v1/devices/me/telemetry", payload, qos=1)

    def acknowledged(self) -> list[int]:
        """Wait for every PUBACK: their reason codes."""
        codes = [self.acks.get(timeout=DEADLINE) for _ in range(READINGS)]
        self.client.disconnect()
        self.client.loop_stop()
        return codes


def test_two_ingest_processes_share_the_partitions_and_a_killed_one_loses_nothing(
    env: dict[str, str], tmp_path: Path, database_url: str
) -> None:
    devices = _devices(database_url, 4)  # ids 1-4: one on each of 4 partitions
    with nats_server(tmp_path / "nats") as nats_url:
        env.update(TAIHU_CLUSTER_NATS_URLS=nats_url, TAIHU_CLUSTER_PARTITIONS="4",
                   TAIHU_CLUSTER_ACK_WAIT="2")  # fmt: skip
        transport_args = ("serve", "--role", "transport", "--mqtt-port", "0")
        with running(*transport_args, env=env, cwd=tmp_path) as transport:
            port = int(transport.wait_for(MQTT).group(1))
            transport.wait_for("ready: roles transport")
            with (
                running(*INGEST, env=env, cwd=tmp_path) as first,
                running(*INGEST, env=env, cwd=tmp_path) as second,
            ):
                # Each holds some: the share of two processes is half of the partitions.
                held = [p.wait_for(HOLDING.format(2)).group(1) for p in (first, second)]
                assert all(held), held
                publishers = [Publisher(port, token) for _, token in devices]
                _until(lambda: _count(database_url) > 0, "the first points stored")
                first.process.kill()  # SIGKILL: no giving back, no flush, no last acks
                killed = time.monotonic()
                first.process.wait(timeout=DEADLINE)
                second.wait_for(re.escape("keeping 0-3 (1 ingest process"))
                moved = time.monotonic() - killed
                # The dead one's leases run out within LEASE; the survivor's next round is a
                # third of it later (slack for a loaded machine).
                assert moved < 3 * LEASE + 4, f"partitions moved after {moved:.1f} s"
                for publisher in publishers:
                    assert set(publisher.acknowledged()) == {0}
                _until(lambda: _count(database_url) >= 4 * READINGS,
                       f"{4 * READINGS} points stored ({_count(database_url)} so far)")  # fmt: skip
                second.interrupt()
            assert "Traceback" not in second.output, second.output
    for device_id, _ in devices:
        points = _query(
            database_url,
            "SELECT ts, num FROM ts_points WHERE device_id = :d AND key = 'v' ORDER BY ts",
            d=device_id,
        )
        assert points == [(T0 + i, float(i)) for i in range(READINGS)]  # each once, as sent
        rollups = _query(
            database_url,
            "SELECT period, sum(count) FROM ts_rollups WHERE device_id = :d AND key = 'v' "
            "GROUP BY period ORDER BY period",
            d=device_id,
        )
        assert rollups == [(period, READINGS) for period in sorted(PERIODS)]


class BusFeeder(threading.Thread):
    """Publishes one device's value of one (key, ts), and a client attribute, until stopped."""

    def __init__(self, url: str, device_id: int, settings: ClusterSettings) -> None:
        super().__init__(daemon=True)
        self.url, self.device_id = url, device_id
        self.subject = JetStreamBus(settings).subject(device_id)
        self.sent = 0  # acknowledged by JetStream
        self.last_fw = -1
        self.error: BaseException | None = None
        self._halt = threading.Event()

    def run(self) -> None:
        try:
            _run(self._feed())
        except BaseException as exc:  # told to the test, which fails on it
            self.error = exc

    async def _feed(self) -> None:
        nc = await nats.connect(self.url)
        js = nc.jetstream(timeout=60.0)
        try:
            while not self._halt.is_set():
                i = self.sent
                rows = [(self.device_id, "v", T0, int(Kind.DOUBLE), float(i), None)]
                await js.publish(self.subject, encode_rows(rows), stream="TAIHU_INGEST")
                if i % 10 == 0:
                    body = json.dumps({"device": self.device_id, "values": {"fw": i}})
                    await js.publish(self.subject, body.encode(), stream="TAIHU_INGEST",
                                     headers={KIND: ATTRIBUTES})  # fmt: skip
                    self.last_fw = i
                self.sent = i + 1
                await asyncio.sleep(0.005)  # a steady pace: the ingest keeps up, the stream moves
        finally:
            await nc.close()

    def wait_sent(self, count: int) -> None:
        """Wait until ``count`` values have been published in all."""
        _until(lambda: self.sent >= count or self.error is not None, f"{count} published")
        assert self.error is None, self.error

    def finish(self) -> int:
        """Stop publishing; the last value sent."""
        self._halt.set()
        self.join(timeout=DEADLINE)
        assert self.error is None, self.error
        return self.sent - 1


async def _drained(url: str, partitions: int) -> bool:
    """Whether every partition's consumer has delivered and been acknowledged everything."""
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        for partition in range(partitions):
            info = await js.consumer_info("TAIHU_INGEST", f"taihu-ingest-{partition}")
            if info.num_pending or info.num_ack_pending:
                return False
        return True
    finally:
        await nc.close()


def test_the_last_value_sent_is_the_one_stored_while_the_partitions_move(
    env: dict[str, str], tmp_path: Path, database_url: str
) -> None:
    [(device_id, _)] = _devices(database_url, 1)
    with nats_server(tmp_path / "nats") as nats_url:
        env.update(TAIHU_CLUSTER_NATS_URLS=nats_url, TAIHU_CLUSTER_PARTITIONS="2",
                   TAIHU_CLUSTER_ACK_WAIT="5", TAIHU_CLUSTER_FETCH_BATCH="50")  # fmt: skip
        settings = ClusterSettings(nats_urls=[nats_url], partitions=2)
        with running(*INGEST, env=env, cwd=tmp_path) as first:
            first.wait_for("ready: roles ingest")  # the stream and the consumers exist
            feeder = BusFeeder(nats_url, device_id, settings)
            feeder.start()
            feeder.wait_sent(200)
            with running(*INGEST, env=env, cwd=tmp_path) as second:
                second.wait_for(HOLDING.format(2))  # a share moved from the first to it
                feeder.wait_sent(feeder.sent + 200)
                assert first.interrupt() == 0  # it gives everything back: the device moves
                second.wait_for(re.escape("keeping 0-1 (1 ingest process"))
                feeder.wait_sent(feeder.sent + 200)
                last = feeder.finish()
                _until(lambda: _run(_drained(nats_url, 2)), "every message stored")
                second.interrupt()
            assert "Traceback" not in first.output + second.output, first.output + second.output
    assert last >= 600
    stored = _query(
        database_url,
        "SELECT ts, num FROM ts_points WHERE device_id = :d AND key = 'v'",
        d=device_id,
    )
    assert stored == [(T0, float(last))]
    latest = _query(
        database_url, "SELECT ts, num FROM ts_latest WHERE device_id = :d AND key = 'v'",
        d=device_id,
    )  # fmt: skip
    assert latest == [(T0, float(last))]
    fw = _query(
        database_url,
        sa.select(DeviceAttribute.value).where(
            DeviceAttribute.device_id == device_id,
            DeviceAttribute.scope == "client",
            DeviceAttribute.key == "fw",
        ),
    )
    assert fw == [(feeder.last_fw,)]
