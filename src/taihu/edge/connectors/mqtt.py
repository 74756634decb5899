"""Devices publishing JSON to a local MQTT broker: fields of each message become readings."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from taihu.edge.config import MqttDevice
from taihu.edge.connectors.base import Collector, plain
from taihu.edge.pacing import Backoff
from taihu.edge.status import DeviceHealth

__all__ = ["MqttConnector", "pick"]

log = logging.getLogger("taihu.edge.connectors")
_MISSING = object()


def pick(document: Any, path: str) -> Any:
    """The value at a dotted path (``data.power``, ``items.0.v``), or ``_MISSING``."""
    here = document
    for part in path.split("."):
        if isinstance(here, dict) and part in here:
            here = here[part]
        elif isinstance(here, list) and part.isdigit() and int(part) < len(here):
            here = here[int(part)]
        else:
            return _MISSING
    return here


class MqttConnector:
    """Subscribes to a topic of a local broker; reconnects with jittered backoff."""

    def __init__(self, config: MqttDevice) -> None:
        self.config = config
        self.name = config.name
        self.health = DeviceHealth(config.name, "mqtt")
        b = config.backoff
        self.backoff = Backoff(b.initial, b.max, b.factor)

    def message(self, payload: bytes, sink: Collector) -> None:
        """Turn one message into readings; a message without the fields is an error."""
        try:
            document = orjson.loads(payload)
        except orjson.JSONDecodeError as exc:
            self.health.failed(f"not JSON: {exc}")
            return
        values = {}
        for field in self.config.fields:
            value = pick(document, field.path)
            if value is not _MISSING and value is not None:
                values[field.key] = plain(value)
        given = pick(document, self.config.ts_path) if self.config.ts_path else _MISSING
        stamped = not isinstance(given, int | float) or isinstance(given, bool)
        ts = int(time.time() * 1000) if stamped else int(given)  # type: ignore[arg-type]
        if not values:
            self.health.failed("a message without any of the configured fields")
            return
        sink.emit(self.name, ts, values, stamped=stamped)
        self.health.ok(len(values))

    async def run(self, sink: Collector) -> None:
        """Connect, subscribe, hand messages over; on a lost connection back off and retry."""
        loop = asyncio.get_running_loop()
        while True:
            lost: asyncio.Future[str] = loop.create_future()
            client = mqtt.Client(CallbackAPIVersion.VERSION2)
            if self.config.username:
                client.username_pw_set(self.config.username, self.config.password)

            def _set(reason: str, lost: asyncio.Future[str] = lost) -> None:
                if not lost.done():
                    lost.set_result(reason)

            def _connected(c: mqtt.Client, _u: Any, _f: Any, code: Any, _p: Any) -> None:
                if code.is_failure:
                    loop.call_soon_threadsafe(_set, f"refused: {code}")
                else:
                    c.subscribe(self.config.topic, qos=1)

            def _subscribed(*_: Any) -> None:
                loop.call_soon_threadsafe(self.health.ok, 0)

            client.on_connect = _connected
            client.on_subscribe = _subscribed

            def _message(_c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
                loop.call_soon_threadsafe(self.message, bytes(message.payload), sink)

            def _disconnected(_c: mqtt.Client, _u: Any, _f: Any, code: Any, _p: Any) -> None:
                loop.call_soon_threadsafe(_set, f"disconnected: {code}")

            client.on_message = _message
            client.on_disconnect = _disconnected
            try:
                async with asyncio.timeout(self.config.timeout):
                    await asyncio.to_thread(client.connect, self.config.host, self.config.port)
                client.loop_start()
                self.backoff.reset()
                raise ConnectionError(await lost)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.health.failed(exc)
                log.info("device %s: %s", self.name, self.health.last_error)
            finally:
                with contextlib.suppress(Exception):
                    client.disconnect()
                await asyncio.to_thread(client.loop_stop)
            await asyncio.sleep(self.backoff.next())
