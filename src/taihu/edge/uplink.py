"""The uplink: buffered readings to the hub over ThingsBoard's gateway MQTT API (MQTT 5, QoS 1).

One session at a time. After CONNACK the gateway asks ``getSessionLimits`` and paces every
message to the advertised rate limits, payload size and in-flight window. Readings are sent in
buffer order, grouped per device and timestamp (``{"Meter": [{"ts", "values"}]}``), and deleted
from the buffer only when their PUBACK says stored. A "quota exceeded" or server error rewinds
to the oldest unacknowledged reading after a pause (the hub ignores a point it already has, so
a resend never doubles it); a permanent refusal (malformed payload) drops that message's
readings, counted as ``rejected``. A lost connection is retried with jittered exponential
backoff, for ever.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import threading
from collections.abc import Callable
from typing import Any

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from taihu.edge.buffer import Buffer, Row
from taihu.edge.config import UplinkConfig
from taihu.edge.pacing import Backoff, Pace, parse_limits
from taihu.edge.status import GatewayStatus

__all__ = ["Uplink", "UplinkError", "gateway_payload"]

log = logging.getLogger("taihu.edge.uplink")
RPC_REQUEST = "v1/devices/me/rpc/request/"
RPC_RESPONSE = "v1/devices/me/rpc/response/"
# Refusals that a resend cannot fix: the readings are dropped and counted.
_PERMANENT = {0x90, 0x95, 0x99}
_QUOTA = 0x97
_LIMITS_WAIT = 5.0


class UplinkError(Exception):
    """The session could not be opened or ended."""


def gateway_payload(rows: list[Row]) -> bytes:
    """``{"device": [{"ts": …, "values": {…}}, …]}`` from buffer rows, order kept."""
    document: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        entries = document.setdefault(row.device, [])
        if not entries or entries[-1]["ts"] != row.ts:
            entries.append({"ts": row.ts, "values": {}})
        entries[-1]["values"][row.key] = orjson.Fragment(row.value)
    return orjson.dumps(document)


class _Session:
    """One paho client driven by a thread of its own; its callbacks come back to the loop."""

    def __init__(self, config: UplinkConfig, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.connack: asyncio.Future[tuple[ReasonCode, Properties | None]] = loop.create_future()
        self.closed = asyncio.Event()
        self.on_ack: Callable[[int, int, str], None] = lambda *_: None
        self.messages: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=config.client_id or "",
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        client.username_pw_set(config.token)
        if config.tls:
            client.tls_set(ca_certs=str(config.ca_file) if config.ca_file else None)
        client.max_inflight_messages_set(0)  # the uplink keeps its own window
        client.max_queued_messages_set(0)
        client.on_connect = self._connected
        client.on_publish = self._published
        client.on_message = self._message
        client.on_disconnect = lambda *_: self._call(self.closed.set)
        self.client = client
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _call(self, fn: Callable[..., Any], *args: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closing
            self.loop.call_soon_threadsafe(fn, *args)

    def _connected(self, _c: Any, _u: Any, _f: Any, code: ReasonCode, props: Any) -> None:
        def _set() -> None:
            if not self.connack.done():
                self.connack.set_result((code, props))

        self._call(_set)

    def _published(self, _c: Any, _u: Any, mid: int, code: ReasonCode, props: Any) -> None:
        reason = getattr(props, "ReasonString", "") if props is not None else ""
        self._call(self.on_ack, mid, code.value, reason or str(code))

    def _message(self, _c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        self._call(self.messages.put_nowait, (message.topic, message.payload))

    def _network(self) -> None:
        while not self._stop.is_set():
            if self.client.loop(timeout=0.05) != MQTTErrorCode.MQTT_ERR_SUCCESS:
                break
        self._call(self.closed.set)

    async def open(self, config: UplinkConfig) -> dict[str, Any]:
        """Connect; the CONNACK's properties (receive maximum, …)."""
        async with asyncio.timeout(config.connect_timeout):
            await asyncio.to_thread(
                self.client.connect, config.host, config.port, config.keepalive,
                clean_start=True,
            )  # fmt: skip
            self._thread = threading.Thread(target=self._network, name="taihu-edge-uplink")
            self._thread.daemon = True
            self._thread.start()
            code, props = await self.connack
        if code.is_failure:
            raise UplinkError(f"the hub refused the connection: {code}")
        return {"ReceiveMaximum": getattr(props, "ReceiveMaximum", 65535)}

    def publish(self, topic: str, payload: bytes) -> int:
        """Send at QoS 1; the message id whose PUBACK will come to ``on_ack``."""
        info = self.client.publish(topic, payload, qos=1)
        if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            raise UplinkError(f"publish failed: {mqtt.error_string(info.rc)}")
        return info.mid

    async def close(self) -> None:
        """Disconnect and stop the network thread."""
        with contextlib.suppress(Exception):
            self.client.disconnect()
        self._stop.set()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, 5.0)
        sock = self.client.socket()
        if sock is not None:  # a connection that never closed cleanly
            with contextlib.suppress(OSError):
                sock.close()


class Uplink:
    """Drains the buffer to the hub, for ever, through outages of any length."""

    def __init__(
        self,
        config: UplinkConfig,
        buffer: Buffer,
        devices: dict[str, str | None],
        status: GatewayStatus,
        wake: asyncio.Event,
    ) -> None:
        self.config = config
        self.buffer = buffer
        self.devices = devices  # name -> device profile (type) announced on connect
        self.status = status
        self.wake = wake
        self.health: Callable[[], dict[str, Any]] = dict
        self._inflight: dict[int, list[int]] = {}
        self._control: dict[int, asyncio.Future[int]] = {}
        self._slot = asyncio.Event()
        self._rewind: tuple[str, float] | None = None
        self._rpc_ids = itertools.count(1)
        self._current: _Session | None = None

    async def run(self) -> None:
        """Sessions one after another, with jittered exponential backoff between them."""
        c = self.config.backoff
        backoff = Backoff(c.initial, c.max, c.factor)
        while True:
            try:
                await self._session(backoff)
            except (OSError, UplinkError, TimeoutError) as exc:
                self.status.uplink.last_error = f"{type(exc).__name__}: {exc}".rstrip(": ")
                log.warning("uplink to %s:%s: %s", self.config.host, self.config.port, exc)
            except Exception as exc:  # a bug must not end forwarding for good
                self.status.uplink.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("uplink session failed; starting a new one")
            finally:
                self.status.uplink.connected = False
            await asyncio.sleep(backoff.next())

    async def _session(self, backoff: Backoff) -> None:
        session = _Session(self.config, asyncio.get_running_loop())

        def acked(mid: int, code: int, reason: str) -> None:
            # Message ids start again with each client: a late PUBACK of an earlier session
            # must not acknowledge this one's readings.
            if self._current is session:
                self._acked(mid, code, reason)

        session.on_ack = acked
        self._current = session
        self._inflight.clear()
        self._control.clear()
        self._rewind = None
        try:
            props = await session.open(self.config)
            backoff.reset()
            self.status.uplink.connected = True
            self.status.uplink.connects += 1
            limits = await self._limits(session)
            window = min(self.config.max_inflight, int(props.get("ReceiveMaximum", 65535)),
                         int(limits.get("maxInflightMessages") or 65535))  # fmt: skip
            max_payload = int(limits.get("maxPayloadSize") or 65536)
            self.status.uplink.max_payload = max_payload
            pace, points = self._pace(limits)
            for name, profile in self.devices.items():
                await pace.wait()
                await self._control_publish(
                    session, "v1/gateway/connect", {"device": name, "type": profile or "default"}
                )
            tasks = [
                asyncio.create_task(self._pump(session, (pace, points), window, max_payload)),
                asyncio.create_task(self._report_health(session, pace)),
                asyncio.create_task(session.closed.wait()),
            ]
            try:
                done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    if not task.cancelled() and (error := task.exception()) is not None:
                        raise error
                raise UplinkError("the connection was closed")
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            await session.close()

    def _pace(self, limits: dict[str, Any]) -> tuple[Pace, Pace]:
        """Paces for messages and for data points, from the answer or the configuration."""
        rates = limits.get("gatewayRateLimits") or limits.get("rateLimits") or {}
        text = self.config.rate_limits or rates.get("telemetryMessages") or rates.get("messages")
        points = rates.get("telemetryDataPoints") or ""
        self.status.uplink.limits = ";".join(t for t in (text, points) if t)
        return Pace(parse_limits(text or "")), Pace(parse_limits(points))

    async def _limits(self, session: _Session) -> dict[str, Any]:
        """Ask getSessionLimits; a server that does not answer gets the configured pace."""
        request_id = next(self._rpc_ids)
        session.client.subscribe(RPC_RESPONSE + "+", qos=1)
        await self._control_publish(
            session, f"{RPC_REQUEST}{request_id}", {"method": "getSessionLimits", "params": {}}
        )
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(_LIMITS_WAIT):
                while True:
                    topic, payload = await session.messages.get()
                    if topic == f"{RPC_RESPONSE}{request_id}":
                        answer = orjson.loads(payload)
                        return answer if isinstance(answer, dict) else {}
        log.warning("no answer to getSessionLimits; pacing to the configured rate limits")
        return {}

    async def _control_publish(self, session: _Session, topic: str, document: Any) -> int:
        """Publish one message outside the data stream and wait for its PUBACK code."""
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._control[session.publish(topic, orjson.dumps(document))] = future
        self.status.uplink.messages += 1
        async with asyncio.timeout(self.config.connect_timeout):
            return await future

    def _acked(self, mid: int, code: int, reason: str) -> None:
        if (future := self._control.pop(mid, None)) is not None:
            if not future.done():
                future.set_result(code)
            return
        ids = self._inflight.pop(mid, None)
        self._slot.set()
        if ids is None:
            return
        if code < 0x80:
            self.buffer.ack(ids)
        elif code in _PERMANENT:
            self.status.uplink.rejected += len(ids)
            self.status.uplink.last_error = f"hub refused {len(ids)} readings: {reason}"
            log.error("the hub refused %d readings for good (%s); dropping them", len(ids), reason)
            self.buffer.ack_rejected(ids)
        else:
            if code == _QUOTA:
                self.status.uplink.rate_limited += 1
            self.status.uplink.last_error = f"hub answered {code:#x}: {reason}"
            self._rewind = (reason, 1.0)

    async def _pump(
        self, session: _Session, paces: tuple[Pace, Pace], window: int, max_payload: int
    ) -> None:
        cursor = 0
        pace, points = paces
        batch = min(self.config.max_batch, points.largest() or self.config.max_batch)
        while True:
            if self._rewind is not None:
                # Let what is in flight settle, pause, then resend from the oldest unacked.
                async with asyncio.timeout(self.config.connect_timeout):
                    while self._inflight:
                        self._slot.clear()
                        await self._slot.wait()
                _, pause = self._rewind
                self._rewind = None
                await asyncio.sleep(pause)
                cursor = 0
                continue
            if len(self._inflight) >= window:
                self._slot.clear()
                await self._slot.wait()
                continue
            rows = self.buffer.head(cursor, batch)
            if not rows:
                self.wake.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(1.0):
                        await self.wake.wait()
                continue
            payload = gateway_payload(rows)
            while len(payload) > max_payload * 0.9 and len(rows) > 1:
                rows = rows[: len(rows) // 2]
                payload = gateway_payload(rows)
            await pace.wait()
            await points.wait(len(rows))
            if self._rewinding():
                continue
            self._inflight[session.publish("v1/gateway/telemetry", payload)] = [r.id for r in rows]
            self.status.uplink.messages += 1
            cursor = rows[-1].id

    def _rewinding(self) -> bool:
        return self._rewind is not None

    async def _report_health(self, session: _Session, pace: Pace) -> None:
        while True:
            await pace.wait()
            document = self.health()
            if document:
                with contextlib.suppress(TimeoutError):
                    await self._control_publish(session, "v1/devices/me/telemetry", document)
            await asyncio.sleep(self.config.health_period)
