"""Taihu as a Sparkplug B 3.0 host application: births, data and deaths into the device hub.

    broker ──spBv1.0/<group>/#──► HostConnection ──► NodeTracker (bdSeq, seq, aliases)
                                                       │ accept      → hub ingest, then PUBACK
                                                       │ rebirth     → NCMD Node Control/Rebirth
                                                       │ birth/death → device connected/disconnected
    Taihu RPC / shared attributes ──► NCMD / DCMD (RemoteRoute)

On each connection the host registers the will ``spBv1.0/STATE/<host_id>`` = ``{"online":
false, "timestamp": T}`` and publishes, retained, ``{"online": true, "timestamp": T}`` with the
same T. A lost connection is retried with a doubling pause (at most ``backoff_max``); nodes are
then forgotten, and their next data asks for a rebirth.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from taihu.core import N_, Clock, InvalidInput, PeriodicJob, SystemClock, TaihuError, drain
from taihu.devices.hub import DeviceHub
from taihu.devices.service import DeviceAuth
from taihu.devices.sparkplug.client import BrokerLost, Delivery, HostConnection
from taihu.devices.sparkplug.codec import (
    NAMESPACE,
    BadSparkplug,
    DataType,
    Metric,
    Payload,
    Topic,
    decode_payload,
    encode_payload,
    parse_topic,
)
from taihu.devices.sparkplug.mapping import command_metric, metric_points
from taihu.devices.sparkplug.registry import NodeRefused, SparkplugRegistry
from taihu.devices.sparkplug.state import REBIRTH, NodeTracker, Verdict
from taihu.settings import SparkplugSettings

__all__ = ["STATUS_FILE", "HostStats", "SparkplugHost"]

log = logging.getLogger("taihu.devices.sparkplug")
_CONNECT_TIMEOUT = 10.0  # seconds
_FIRST_BACKOFF = 0.5  # seconds
_STOP_WITHIN = 5.0  # seconds pending acknowledgements get at shutdown
_STATUS_EVERY = 2.0  # seconds between writes of the status file
STATUS_FILE = "sparkplug-status.json"  # in the data directory


@dataclass(slots=True)
class HostStats:
    """Counters since start."""

    connects: int = 0
    messages: int = 0
    points: int = 0
    rebirths: int = 0  # rebirth requests sent
    ignored: int = 0  # messages dropped (malformed, stale, unmapped, refused)
    commands: int = 0  # NCMD/DCMD sent for RPC and shared attributes


@dataclass(slots=True)
class _Node:
    """The Taihu devices of one edge node."""

    auth: DeviceAuth
    children: dict[str, int] = field(default_factory=dict)  # Sparkplug device id → Taihu id


class SparkplugHost:
    """The host application, supervised: ``start()`` once, ``stop()`` at shutdown."""

    def __init__(
        self,
        hub: DeviceHub,
        settings: SparkplugSettings,
        *,
        clock: Clock | None = None,
        status_path: Path | None = None,
    ) -> None:
        self.hub = hub
        self.status_path = status_path  # where ``taihu sparkplug status`` reads the status
        self.settings = settings
        self.clock = clock or SystemClock()
        self.registry = SparkplugRegistry(hub.db, self.clock)
        self.tracker = NodeTracker()
        self.stats = HostStats()
        self.connected = False
        self.last_error = ""
        self.nodes: dict[tuple[str, str], _Node] = {}
        self._routes: dict[int, tuple[str, str, str | None]] = {}  # Taihu id → where it lives
        self._rebirth_asked: dict[tuple[str, str], float] = {}  # monotonic time of the last ask
        self._told: set[tuple[str, str]] = set()  # unmapped nodes already logged
        self._connection: HostConnection | None = None
        self._task: asyncio.Task[None] | None = None
        self._acks: set[asyncio.Task[None]] = set()
        self.ready = asyncio.Event()  # set while connected, subscribed and STATE online
        self._status_job = PeriodicJob("taihu-sparkplug-status", self._write_status, _STATUS_EVERY)

    @property
    def state_topic(self) -> str:
        """The host's STATE topic."""
        return f"{NAMESPACE}/STATE/{self.settings.host_id}"

    # -- supervision ---------------------------------------------------------------------------

    def start(self) -> None:
        """Run the host in the background until ``stop``."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="taihu-sparkplug")
        if self.status_path is not None:
            self._status_job.start()

    async def stop(self) -> None:
        """Publish STATE offline, disconnect, and let pending acknowledgements go out."""
        await drain(self._acks, _STOP_WITHIN)  # stored meanwhile: acknowledged before we go
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._status_job.stop()
        self._lost()
        if self.status_path is not None:
            await self._write_status()

    async def _run(self) -> None:
        pause = _FIRST_BACKOFF
        while True:
            try:
                await self._session()
            except asyncio.CancelledError:
                raise
            except BrokerLost as exc:
                self.last_error = str(exc)
                log.warning("Sparkplug broker: %s; again in %.1f s", exc, pause)
            except Exception as exc:  # a fault of ours must not end the host for good
                self.last_error = repr(exc)
                log.exception("Sparkplug host failed; again in %.1f s", pause)
            if self.stats.connects and self.connected:
                pause = _FIRST_BACKOFF
            self._lost()
            await asyncio.sleep(pause)
            pause = min(self.settings.backoff_max, pause * 2)

    def _lost(self) -> None:
        """The connection is gone: nothing is known of the nodes any more."""
        self.connected = False
        self.ready.clear()
        for device_id in list(self._routes):
            self.hub.detach_remote(device_id)
        self._routes.clear()
        self.nodes.clear()
        self.tracker.forget()

    async def _session(self) -> None:
        client_id = f"taihu-host-{self.settings.host_id}"[:64]
        connection = HostConnection(self.settings, client_id)
        stamp = self._now_ms()
        connection.will(self.state_topic, _state(online=False, timestamp=stamp))
        await connection.connect(_CONNECT_TIMEOUT)
        self._connection = connection
        try:
            self.stats.connects += 1
            self.connected = True
            self.last_error = ""
            connection.subscribe(self.state_topic, 1)
            for group in self.settings.groups or ["+"]:
                connection.subscribe(f"{NAMESPACE}/{group}/#", 1)
            online = _state(online=True, timestamp=stamp)
            await connection.publish_and_wait(self.state_topic, online, retain=True,
                                              within=_CONNECT_TIMEOUT)  # fmt: skip
            self.ready.set()
            log.info("Sparkplug host %s online at %s:%d", self.settings.host_id,
                     self.settings.broker_host, self.settings.broker_port)  # fmt: skip
            while True:
                item = await connection.messages.get()
                if isinstance(item, BrokerLost):
                    raise item
                await self._handle(connection, item, online)
        finally:
            self._connection = None
            if connection.client.is_connected():
                # A clean end: say offline (the will is not sent on DISCONNECT).
                with contextlib.suppress(Exception):
                    offline = _state(online=False, timestamp=stamp)
                    await connection.publish_and_wait(self.state_topic, offline, retain=True,
                                                      within=2.0)  # fmt: skip
            connection.close()

    # -- messages ------------------------------------------------------------------------------

    async def _handle(self, connection: HostConnection, delivery: Delivery, online: bytes) -> None:
        self.stats.messages += 1
        if delivery.topic == self.state_topic:
            # Another session's will (or an operator) says offline while we are up: correct it.
            if b'"online":false' in delivery.payload.replace(b" ", b""):
                connection.publish(self.state_topic, online, qos=1, retain=True)
            connection.ack(delivery)
            return
        try:
            topic = parse_topic(delivery.topic)
            payload = decode_payload(delivery.payload)
        except BadSparkplug as exc:
            if "/STATE/" not in delivery.topic:
                self.stats.ignored += 1
                log.info("Sparkplug message on %s ignored: %s", delivery.topic[:200], exc)
            connection.ack(delivery)
            return
        if topic.kind in {"NCMD", "DCMD"}:  # commands (ours or another host's) are not data
            connection.ack(delivery)
            return
        enterprise = self.settings.enterprise_of(topic.group_id, topic.edge_node_id)
        if enterprise is None:
            self._unmapped(topic)
            connection.ack(delivery)
            return
        try:
            stored = await self._apply(connection, topic, payload, enterprise)
        except (NodeRefused, TaihuError) as exc:
            self.stats.ignored += 1
            log.warning("Sparkplug %s refused: %s", topic, exc)
            stored = None
        self._ack_when(connection, delivery, stored)

    async def _apply(  # noqa: PLR0911 - one return per kind of message
        self, connection: HostConnection, topic: Topic, payload: Payload, enterprise: int
    ) -> Awaitable[Any] | None:
        """Act on one message; the awaitable of its stored points, if any."""
        key = (topic.group_id, topic.edge_node_id)
        outcome = self.tracker.receive(topic, payload)
        if outcome.verdict in (Verdict.REBIRTH, Verdict.ACCEPT_AND_REBIRTH):
            self._rebirth(connection, topic, outcome.reason)
        if outcome.verdict in (Verdict.REBIRTH, Verdict.IGNORE):
            self.stats.ignored += 1
            return None
        device_id: int | None = None
        if topic.kind == "NBIRTH":
            self._drop_node(key)
            node = _Node(await self.registry.node(enterprise, *key))
            self.nodes[key] = node
            self._rebirth_asked.pop(key, None)
            device_id = node.auth.device_id
            self._attach(device_id, (*key, None))
        elif topic.kind == "NDEATH":
            self._drop_node(key)
            return None
        else:
            node_or_none = self.nodes.get(key)
            if node_or_none is None:  # born before a failure to create its device: ask again
                self._rebirth(connection, topic, "its device was not registered")
                return None
            node = node_or_none
            name = topic.device_id
            if topic.kind == "DBIRTH":
                assert name is not None
                device_id = node.children[name] = await self.registry.device(node.auth, name)
                self._attach(device_id, (*key, name))
            elif topic.kind == "DDEATH":
                assert name is not None
                gone = node.children.pop(name, None)
                if gone is not None:
                    self._detach(gone)
                return None
            else:
                device_id = node.auth.device_id if name is None else node.children.get(name)
        if device_id is None:
            return None
        points = metric_points(payload, outcome.metrics, self._now_ms())
        if not points:
            return None
        self.stats.points += len(points)
        return await self.hub.submit_points(device_id, points, transport="sparkplug")

    def _ack_when(
        self, connection: HostConnection, delivery: Delivery, stored: Awaitable[Any] | None
    ) -> None:
        """Acknowledge a QoS 1 message once what it carries is stored."""
        if stored is None:
            connection.ack(delivery)
            return

        async def _later() -> None:
            ack = await stored
            if getattr(ack, "reason", 0) < 0x80:
                connection.ack(delivery)
            # Not stored: no acknowledgement, so the broker sends it again on reconnection.

        task = asyncio.get_running_loop().create_task(_later())
        self._acks.add(task)
        task.add_done_callback(self._acks.discard)

    def _unmapped(self, topic: Topic) -> None:
        self.stats.ignored += 1
        key = (topic.group_id, topic.edge_node_id)
        if key not in self._told:
            self._told.add(key)
            log.warning("Sparkplug edge node %s/%s maps to no enterprise "
                        "(TAIHU_SPARKPLUG_ENTERPRISES): ignored", *key)  # fmt: skip

    def _rebirth(self, connection: HostConnection, topic: Topic, reason: str) -> None:
        """Ask a node to publish its births again, at most once per ``rebirth_interval``."""
        key = (topic.group_id, topic.edge_node_id)
        now = time.monotonic()
        last = self._rebirth_asked.get(key)
        if last is not None and now - last < self.settings.rebirth_interval:
            return
        self._rebirth_asked[key] = now
        metric = Metric(REBIRTH, value=True, datatype=DataType.BOOLEAN, timestamp=self._now_ms())
        payload = encode_payload(Payload(timestamp=self._now_ms(), metrics=(metric,)))
        target = Topic(topic.group_id, "NCMD", topic.edge_node_id)
        log.info("Sparkplug rebirth asked of %s/%s: %s", *key, reason)
        connection.publish(str(target), payload, qos=0)
        self.stats.rebirths += 1

    # -- presence ------------------------------------------------------------------------------

    def _attach(self, device_id: int, where: tuple[str, str, str | None]) -> None:
        self._routes[device_id] = where
        self.hub.attach_remote(device_id, self)

    def _detach(self, device_id: int) -> None:
        self._routes.pop(device_id, None)
        self.hub.detach_remote(device_id)

    def _drop_node(self, key: tuple[str, str]) -> None:
        node = self.nodes.pop(key, None)
        if node is None:
            return
        for child in node.children.values():
            self._detach(child)
        self._detach(node.auth.device_id)

    # -- commands (taihu.devices.remote.RemoteRoute) -------------------------------------------

    async def rpc(self, device_id: int, method: str, params: Any) -> Any:
        """Write one metric: the method names it, the params are its value."""
        where = self._send(device_id, {method: params})
        return {"sent": where, "metric": method}

    async def push_shared(self, device_id: int, values: dict[str, Any]) -> None:
        """Write shared attributes as metrics of one command."""
        self._send(device_id, values)

    def _send(self, device_id: int, values: dict[str, Any]) -> str:
        where = self._routes.get(device_id)
        connection = self._connection
        if where is None or connection is None:
            raise LookupError("the Sparkplug device is not online")
        group, node, device = where
        edge = self.tracker.edges.get((group, node))
        types: dict[str, int] = {}
        if edge is not None:
            birth = edge.node if device is None else edge.devices.get(device)
            types = birth.types if birth is not None else {}
        now = self._now_ms()
        try:
            metrics = tuple(command_metric(k, v, types.get(k), now) for k, v in values.items())
            payload = encode_payload(Payload(timestamp=now, metrics=metrics))
        except (BadSparkplug, ValueError) as exc:
            raise InvalidInput(N_("not a Sparkplug metric value: {error}"), error=str(exc),
                               code="bad_metric") from None  # fmt: skip
        topic = Topic(group, "NCMD" if device is None else "DCMD", node, device)
        connection.publish(str(topic), payload, qos=0)
        self.stats.commands += 1
        return str(topic)

    # -- status --------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """What the host knows now, for ``taihu sparkplug status`` and the API."""
        s = self.settings
        nodes = {}
        for (group, node_id), edge in sorted(self.tracker.edges.items()):
            known = self.nodes.get((group, node_id))
            nodes[f"{group}/{node_id}"] = {
                "online": edge.born, "bd_seq": edge.bd_seq, "seq": edge.seq,
                "device_id": known.auth.device_id if known else None,
                "devices": dict(sorted(known.children.items())) if known else {},
            }  # fmt: skip
        return {
            "host_id": s.host_id, "broker": f"{s.broker_host}:{s.broker_port}",
            "connected": self.connected, "last_error": self.last_error,
            "stats": {name: getattr(self.stats, name) for name in HostStats.__slots__},
            "nodes": nodes,
        }  # fmt: skip

    async def _write_status(self) -> None:
        if self.status_path is None:
            return
        document = {**self.status(), "written_at": self._now_ms()}
        draft = self.status_path.with_name(self.status_path.name + ".draft")
        draft.parent.mkdir(parents=True, exist_ok=True)
        draft.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2))
        draft.replace(self.status_path)  # readers see the whole file or the previous one

    def _now_ms(self) -> int:
        return int(self.clock.now().timestamp() * 1000)


def _state(*, online: bool, timestamp: int) -> bytes:
    return orjson.dumps({"online": online, "timestamp": timestamp})
