"""Acceptance: device data over NATS JetStream survives ``kill -9`` of an ingest process.

A JetStream-enabled ``nats-server`` of the test's own (free port, a temporary store), a
``taihu serve --role transport`` and a ``taihu serve --role ingest`` process on the test's
database; a device publishes at QoS 1 with paho. Once the ingest has stored some points it is
killed with SIGKILL (its fetched, uncommitted or unacknowledged messages are lost with it), and
another ingest process is started. Every acknowledged message is then stored exactly once: each
point once, and the rollups count each once (a redelivered batch adds nothing).
"""

from __future__ import annotations

import json
import queue
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from taihu.devices.rollups import PERIODS
from tests.cli.test_serve import MQTT, registered_device
from tests.processes import DEADLINE, NO_NATS_SERVER, nats_server, query, running, taihu_env, until

MESSAGES = 3000
# Each reading carries its time (ms): from the start of this minute, well inside retention.
T0 = int(time.time()) // 60 * 60_000

pytestmark = pytest.mark.skipif(NO_NATS_SERVER, reason="no nats-server")


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> dict[str, str]:
    """The environment of the `taihu` processes: the test's database, quiet output."""
    return taihu_env(database_url, tmp_path / "var")


class Publisher:
    """A paho client (MQTT 5) publishing readings at QoS 1; PUBACKs collected by message id."""

    def __init__(self, port: int, token: str) -> None:
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self.client.username_pw_set(token)
        self.client.max_inflight_messages_set(100)
        self.connacks: queue.Queue[int] = queue.Queue()
        self.acks: queue.Queue[tuple[int, int]] = queue.Queue()
        self.client.on_connect = lambda _c, _u, _f, rc, _p: self.connacks.put(rc.value)
        self.client.on_publish = lambda _c, _u, mid, rc, _p: self.acks.put((mid, rc.value))
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert self.connacks.get(timeout=DEADLINE) == 0
        self.sent: dict[int, int] = {}  # message id -> reading number

    def publish_all(self) -> None:
        """Queue every reading; paho sends them 100 in flight at a time."""
        for i in range(MESSAGES):
            payload = json.dumps({"ts": T0 + i, "values": {"v": i}})
            info = self.client.publish("v1/devices/me/telemetry", payload, qos=1)
            self.sent[info.mid] = i

    def acknowledged(self) -> dict[int, int]:
        """Wait for every PUBACK: ``{message id: reason code}``."""
        acks = dict(self.acks.get(timeout=DEADLINE) for _ in range(MESSAGES))
        self.client.disconnect()
        self.client.loop_stop()
        return acks


def _count(database_url: str, device_id: int) -> int:
    sql = "SELECT count(*) FROM ts_points WHERE device_id = :d"
    return query(database_url, sql, d=device_id)[0][0]


def test_every_acknowledged_reading_is_stored_once_after_an_ingest_is_killed(
    env: dict[str, str], tmp_path: Path, database_url: str
) -> None:
    device_id, token = registered_device(database_url)
    with nats_server(tmp_path / "nats") as nats_url:
        env.update(
            TAIHU_CLUSTER_NATS_URLS=nats_url,
            TAIHU_CLUSTER_ACK_WAIT="2",  # the killed process's messages come back soon
            TAIHU_CLUSTER_FETCH_BATCH="50",  # small batches: the kill falls among them
            TAIHU_CLUSTER_PUBLISH_TIMEOUT="60",  # a loaded machine is slow, not failing
        )
        transport_args = ("serve", "--role", "transport", "--mqtt-port", "0")
        ingest_args = ("serve", "--role", "ingest")
        with running(*transport_args, env=env, cwd=tmp_path) as transport:
            port = int(transport.wait_for(MQTT).group(1))
            transport.wait_for("ready: roles transport")
            with running(*ingest_args, env=env, cwd=tmp_path) as first:
                first.wait_for("ready: roles ingest")
                publisher = Publisher(port, token)
                publisher.publish_all()
                until(lambda: _count(database_url, device_id) > 0, "the first points stored")
                first.process.kill()  # SIGKILL: no shutdown, no flush, no last acks
                first.process.wait(timeout=DEADLINE)
            stored_at_kill = _count(database_url, device_id)
            with running(*ingest_args, env=env, cwd=tmp_path) as second:
                second.wait_for("ready: roles ingest")
                acks = publisher.acknowledged()
                acknowledged = sorted(publisher.sent[mid] for mid, rc in acks.items() if rc == 0)
                assert len(acknowledged) == MESSAGES, f"refused: {set(acks.values())}"
                until(
                    lambda: _count(database_url, device_id) >= MESSAGES,
                    f"{MESSAGES} points stored ({_count(database_url, device_id)} so far)",
                )
                second.interrupt()
            assert "Traceback" not in second.output, second.output
    points = query(
        database_url,
        "SELECT ts, num FROM ts_points WHERE device_id = :d AND key = 'v' ORDER BY ts",
        d=device_id,
    )
    assert points == [(T0 + i, float(i)) for i in acknowledged]  # each reading once, as sent
    rollups = query(
        database_url,
        "SELECT period, sum(count) FROM ts_rollups WHERE device_id = :d AND key = 'v' "
        "GROUP BY period ORDER BY period",
        d=device_id,
    )
    # Counted once each, however often JetStream delivered them.
    assert rollups == [(period, MESSAGES) for period in sorted(PERIODS)]
    assert stored_at_kill > 0  # the kill came after the first commit (it may be after the last)
