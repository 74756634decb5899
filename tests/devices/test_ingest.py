"""Ingest: HTTP device API, and backpressure with a slow (and a failing) store."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import httpx

from taihu.devices import DeviceHub
from taihu.devices.ingest import IngestQueue
from taihu.devices.tsdb import TimeSeriesStore
from taihu.devices.values import Kind, Row
from tests.devices.conftest import DEADLINE, latest
from tests.devices.test_mqtt_clients import V5, Paho


class SlowStore:
    """The real store behind a delay, failing the first ``failures`` writes."""

    def __init__(self, inner: TimeSeriesStore, delay: float, failures: int = 0) -> None:
        self.inner = inner
        self.delay = delay
        self.failures = failures
        self.writes = 0

    async def write_rows(self, rows: Sequence[Row]) -> int:
        await asyncio.sleep(self.delay)
        self.writes += 1
        if self.failures:
            self.failures -= 1
            raise OSError("disk unavailable (simulated)")
        return await self.inner.write_rows(rows)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


async def test_http_device_api(client: httpx.AsyncClient, make_device: Any) -> None:
    dev = await make_device()
    base = f"/api/v1/{dev.token}"
    t = 1_764_057_600_000
    ok = await client.post(f"{base}/telemetry", json=[{"ts": t, "values": {"kw": 42.5}}])
    assert ok.status_code == 200, ok.text
    assert (await client.post(f"{base}/telemetry", json={"a": 1})).status_code == 200
    assert await latest(client, dev) == {"kw": 42.5, "a": 1}
    bad = await client.post(
        f"{base}/telemetry", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert bad.status_code == 400
    assert bad.json()["error"] == "bad_payload"
    assert (await client.post(f"{base}/telemetry", json={"x": None})).status_code == 400
    assert (await client.post("/api/v1/dev_wrong/telemetry", json={"a": 1})).status_code == 401
    assert (await client.post(f"{base}/attributes", json={"fw": "1.0"})).status_code == 200
    assert (await client.post(f"{base}/attributes", json=[1])).status_code == 400
    await client.post(
        f"/api/devices/{dev.id}/attributes/shared", json={"values": {"mode": "eco"}},
        headers=dev.headers,
    )  # fmt: skip
    got = await client.get(f"{base}/attributes", params={"clientKeys": "fw", "sharedKeys": "mode"})
    assert got.json() == {"client": {"fw": "1.0"}, "shared": {"mode": "eco"}}
    assert (await client.get(f"{base}/attributes")).json() == got.json()
    assert await latest(client, dev, "x") == {}


async def test_a_slow_failing_store_never_loses_acknowledged_data(
    hub: DeviceHub, port: int, make_device: Any, client: httpx.AsyncClient
) -> None:
    slow = SlowStore(hub.store, delay=0.02, failures=2)
    # Room for only a few messages: senders must wait for the store (backpressure).
    hub.ingest = IngestQueue(slow, capacity=5, batch_points=5, linger=0)  # type: ignore[arg-type]
    dev = await make_device()
    c = Paho(port, dev.token, V5)
    c.client.max_inflight_messages_set(100)  # as many in flight as the server allows
    try:
        assert await c.connect() == 0
        t = 1_764_057_600_000
        infos = [
            c.client.publish(
                "v1/devices/me/telemetry", b'{"ts": %d, "values": {"n": %d}}' % (t + i, i), qos=1
            )
            for i in range(300)
        ]
        acked = [await asyncio.to_thread(c.acks.get, timeout=DEADLINE) for _ in infos]
    finally:
        c.close()
    assert all(rc == 0 for _, rc in acked)
    assert hub.ingest.stats.waits > 0  # the queue was full at times
    assert slow.writes > 2  # and the failed writes were retried
    stored = await hub.store.raw(dev.id, ["n"], t, t + 1000, limit=1000, descending=False)
    assert [s.value for s in stored["n"]] == list(range(300))


class OverlapStore(SlowStore):
    """The real store behind a delay, counting how many writes were in progress at once."""

    def __init__(self, inner: TimeSeriesStore, delay: float) -> None:
        super().__init__(inner, delay)
        self.busy = 0
        self.most = 0

    async def write_rows(self, rows: Sequence[Row]) -> int:
        self.busy += 1
        self.most = max(self.most, self.busy)
        try:
            return await super().write_rows(rows)
        finally:
            self.busy -= 1


async def test_several_writers_keep_each_devices_order(hub: DeviceHub, make_device: Any) -> None:
    # One lane per writer, a device always in the same lane: a point sent again for the same
    # (device, key, ts) with a new value ends as the last value sent, whatever the lanes do.
    devices = [await make_device(f"meter-{i}") for i in range(4)]
    store = OverlapStore(hub.store, delay=0.01)
    queue = IngestQueue(store, batch_points=3, linger=0, writers=2)  # type: ignore[arg-type]
    t = 1_764_057_600_000
    futures = []
    for value in range(40):
        for dev in devices:
            row: Row = (dev.id, "v", t, Kind.DOUBLE, float(value), None)
            futures.append(await queue.submit_rows([row], ok=True))
    await queue.flush()
    assert all(f.result() is True for f in futures)
    await queue.close()
    assert store.most == 2  # two batches were in the database at once
    for dev in devices:
        latest = await hub.store.latest(dev.id, ["v"])
        assert latest["v"].value == 39.0
    assert queue.stats.points_written == 160
