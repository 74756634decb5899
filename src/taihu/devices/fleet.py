"""The hub overview across processes: each publishes its figures, the API processes sum them.

    KV bucket STREAM-processes (memory storage; entries live OVERVIEW seconds unless written again)
      process.<id>   one process's hub figures: host, pid, roles, connected devices, messages,
                     points written, pending points… (written every third of OVERVIEW)

Every process with a bus publishes its ``DeviceHub.overview()`` under a key of its own. A process
that serves the overview (the ``api`` role) also reads every entry in the same round and keeps
them; its overview is then its own figures of this moment plus the others' as last read, summed,
with one row per process. A process stopping deletes its entry; one that dies stops writing and
JetStream drops its entry ``overview_seconds`` after its last write, by the server's clock (its
"last seen" too). Without a bus there is one process and the overview is the hub's own.

A bucket with a lifetime rather than a scatter-gather request per overview: answering reads
memory (the wall asks every two seconds per viewer, and no reader waits for the slowest process
or for a timeout to know that every process answered), a dead process drops out by one clock,
and "last seen" comes with each entry. Memory storage: the figures are rewritten every few
seconds and worth nothing after a restart of NATS, so they never touch a disk.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import nats.js.errors
import orjson
from nats.js.api import DiscardPolicy, StorageType, StreamConfig

from taihu.devices.bus_partitions import when_ready
from taihu.devices.hub import DeviceHub

if TYPE_CHECKING:
    from taihu.devices.bus import JetStreamBus

__all__ = ["Fleet", "ProcessFigures", "summed"]

log = logging.getLogger("taihu.devices.fleet")
_PROCESS = "process."
# Figures that add up across processes (a device connected to two transports counts in each).
_SUMMED = (
    "connected_devices", "sessions", "messages", "rejected", "refused_connections",
    "points_written", "pending_points",
)  # fmt: skip
_MALFORMED_KEPT = 1000  # devices with malformed messages a process publishes (the most first)


@dataclass(frozen=True, slots=True)
class ProcessFigures:
    """One process's hub figures as it last published them."""

    id: str
    host: str
    pid: int
    roles: tuple[str, ...]
    figures: dict[str, Any]
    last_seen: datetime
    this: bool = False  # the process answering

    def row(self) -> dict[str, Any]:
        """The process's row of the overview."""
        f = self.figures
        return {
            "id": self.id, "host": self.host, "pid": self.pid, "roles": list(self.roles),
            "this": self.this,
            "connected_devices": f.get("connected_devices", 0), "sessions": f.get("sessions", 0),
            "messages": f.get("messages", 0),
            "messages_per_second": f.get("messages_per_second", 0.0),
            "rejected": f.get("rejected", 0), "points_written": f.get("points_written", 0),
            "pending_points": f.get("pending_points", 0), "mqtt_port": f.get("mqtt_port"),
            "last_seen": self.last_seen.isoformat(),
        }  # fmt: skip


def _number(value: object) -> int | float:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else 0


def decode_figures(key: str, data: bytes, seen: datetime) -> ProcessFigures:
    """A process's entry from its bucket value; ``ValueError`` when it is not one."""
    body = orjson.loads(data)
    if not isinstance(body, dict) or not isinstance(body.get("figures"), dict):
        raise ValueError('an entry is {"host", "pid", "roles", "figures": {…}}')
    raw = body["figures"]
    figures: dict[str, Any] = {k: _number(raw.get(k)) for k in (*_SUMMED, "messages_per_second")}
    malformed = raw.get("malformed_by_device")
    figures["malformed_by_device"] = {
        str(k): v for k, v in (malformed.items() if isinstance(malformed, dict) else ())
        if isinstance(v, int)
    }  # fmt: skip
    port = raw.get("mqtt_port")
    figures["mqtt_port"] = port if isinstance(port, int) else None
    roles = body.get("roles")
    return ProcessFigures(
        id=key, host=str(body.get("host", "")), pid=int(_number(body.get("pid"))),
        roles=tuple(str(r) for r in roles) if isinstance(roles, list) else (),
        figures=figures, last_seen=seen,
    )  # fmt: skip


def summed(local: dict[str, Any], processes: Sequence[ProcessFigures]) -> dict[str, Any]:
    """The overview of the processes: the hub's keys summed, the MQTT port of this one if any."""
    overview = dict(local)
    for key in _SUMMED:
        overview[key] = sum(p.figures.get(key, 0) for p in processes)
    overview["messages_per_second"] = round(
        sum(p.figures.get("messages_per_second", 0.0) for p in processes), 2
    )
    malformed: Counter[str] = Counter()
    for p in processes:
        # Keys as JSON has them (strings), whichever process counted them.
        counted = p.figures.get("malformed_by_device") or {}
        malformed.update({str(device): n for device, n in counted.items()})
    overview["malformed_by_device"] = dict(malformed)
    if overview.get("mqtt_port") is None:  # an API process: a transport's port says where
        ports = [p.figures.get("mqtt_port") for p in processes if p.figures.get("mqtt_port")]
        overview["mqtt_port"] = ports[0] if ports else None
    overview["processes"] = [p.row() for p in sorted(processes, key=lambda p: (p.host, p.pid))]
    return overview


class Fleet:
    """This process's entry in the bucket, and (when it reads) the others' as last read."""

    def __init__(
        self, bus: JetStreamBus, hub: DeviceHub, roles: Iterable[str], *, reads: bool
    ) -> None:
        self.bus = bus
        self.hub = hub
        self.roles = tuple(roles)
        self.reads = reads  # this process serves the overview: it keeps the others' entries
        self.ttl = bus.settings.overview_seconds
        self.bucket = f"{bus.settings.stream}-processes"
        self.stream = f"KV_{self.bucket}"
        self.id = f"{os.getpid()}-{secrets.token_hex(4)}"
        self.host = socket.gethostname()[:80]
        self.others: list[ProcessFigures] = []
        self._read_at: float | None = None  # monotonic: the last successful read
        self._ready = False  # the bucket exists
        self._task: asyncio.Task[None] | None = None
        self._failing = False

    def _subject(self, key: str) -> str:
        return f"$KV.{self.bucket}.{key}"

    async def start(self) -> None:
        """Publish a first time (not waiting for a bus that is not ready), then every third."""
        with contextlib.suppress(Exception):  # told by the rounds that follow
            async with asyncio.timeout(self.ttl):
                await self.round()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="taihu-fleet")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.ttl / 3)
            try:
                async with asyncio.timeout(self.ttl):
                    await self.round()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # NATS away: the others' entries age out here too
                if not self._failing:
                    log.warning("hub figures not published or read: %r", exc)
                self._failing = True
            else:
                if self._failing:
                    log.info("hub figures published again")
                self._failing = False

    async def _bucket(self) -> None:
        js = self.bus.js
        assert js is not None, "open the bus first"
        config = StreamConfig(
            name=self.stream,
            subjects=[f"$KV.{self.bucket}.>"],
            storage=StorageType.MEMORY,
            num_replicas=self.bus.settings.replicas,
            max_age=self.ttl,
            max_msgs_per_subject=1,
            discard=DiscardPolicy.NEW,
            allow_rollup_hdrs=True,
            deny_delete=True,
            duplicate_window=min(self.ttl, 120.0),  # JetStream allows no longer than max_age
        )
        within = self.bus.settings.connect_timeout
        try:
            await when_ready("the processes bucket", lambda: js.add_stream(config), within)
        except nats.js.errors.BadRequestError:  # made with another lifetime: follow the settings
            try:
                await js.update_stream(config)
            except nats.js.errors.APIError as exc:
                log.warning("processes bucket %s kept as it is: %s", self.bucket, exc)
        self._ready = True

    def _mine(self) -> dict[str, Any]:
        figures = self.hub.overview()
        malformed = Counter(figures.get("malformed_by_device") or {})
        figures["malformed_by_device"] = dict(malformed.most_common(_MALFORMED_KEPT))
        return {"host": self.host, "pid": os.getpid(), "roles": list(self.roles),
                "figures": figures}  # fmt: skip

    async def round(self) -> None:
        """Publish this process's figures; read the others' if this process serves them."""
        js = self.bus.js
        if js is None:
            raise ConnectionError("the message bus is not connected")
        if not self._ready:
            await self._bucket()
        await js.publish(self._subject(_PROCESS + self.id), orjson.dumps(self._mine()))
        if self.reads:
            self.others = await self._read()
            self._read_at = time.monotonic()

    async def _read(self) -> list[ProcessFigures]:
        js = self.bus.js
        assert js is not None
        prefix = self._subject(_PROCESS)
        info = await js.stream_info(self.stream, subjects_filter=prefix + ">")
        subjects = [s for s in info.state.subjects or {} if s != prefix + self.id]

        async def entry(subject: str) -> ProcessFigures | None:
            try:
                msg = await js.get_msg(self.stream, subject=subject)  # not direct: with its time
                return decode_figures(subject.removeprefix(prefix), msg.data or b"",
                                      msg.time or datetime.now(UTC))  # fmt: skip
            except nats.js.errors.NotFoundError:  # dropped since listed: that process is gone
                return None
            except ValueError as exc:  # another version's entry, or not ours
                log.debug("processes bucket: %s skipped: %s", subject, exc)
                return None

        return [e for e in await asyncio.gather(*(entry(s) for s in subjects)) if e is not None]

    @property
    def current(self) -> bool:
        """Whether the others' entries were read within the entries' lifetime."""
        return self._read_at is not None and time.monotonic() - self._read_at < self.ttl

    def overview(self) -> dict[str, Any]:
        """The overview across the live processes, this one's figures of this moment included."""
        local = self.hub.overview()
        me = ProcessFigures(
            id=self.id, host=self.host, pid=os.getpid(), roles=self.roles,
            figures=local, last_seen=datetime.now(UTC), this=True,
        )  # fmt: skip
        others = self.others if self.current else []
        overview = summed(local, [me, *others])
        # The others' figures could not be read lately (NATS away): only this process counted.
        overview["partial"] = not self.current
        return overview

    async def stop(self) -> None:
        """Stop publishing and delete this process's entry (the others see it gone at once)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        js = self.bus.js
        if js is not None and self._ready:
            with contextlib.suppress(Exception):  # NATS away: the entry runs out by itself
                await js.purge_stream(self.stream, subject=self._subject(_PROCESS + self.id))
