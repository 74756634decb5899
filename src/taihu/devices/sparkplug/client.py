"""The host's MQTT connection to the broker: paho-mqtt in its thread, messages handed to asyncio.

One connection per attempt: CONNECT carries the STATE will (offline, with this attempt's
timestamp), and a lost connection ends the attempt; the host's supervisor makes the next one.
Messages are acknowledged by hand (``ack``), once what they carry is stored.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from taihu.settings import SparkplugSettings

__all__ = ["BrokerLost", "Delivery", "HostConnection"]

_KEEPALIVE = 30  # seconds


class BrokerLost(ConnectionError):
    """The broker refused the connection or dropped it."""


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message from the broker."""

    topic: str
    payload: bytes
    qos: int
    mid: int


class HostConnection:
    """One connection to the broker."""

    def __init__(self, settings: SparkplugSettings, client_id: str) -> None:
        self.settings = settings
        self.messages: asyncio.Queue[Delivery | BrokerLost] = asyncio.Queue()
        self._loop = asyncio.get_running_loop()
        self._connected: asyncio.Future[None] = self._loop.create_future()
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True,
            protocol=mqtt.MQTTv311, reconnect_on_failure=False,
        )  # fmt: skip
        client.manual_ack_set(on=True)
        if settings.username:
            client.username_pw_set(settings.username, settings.password.get_secret_value())
        if settings.tls:
            context = ssl.create_default_context(
                cafile=str(settings.tls_ca) if settings.tls_ca else None
            )
            client.tls_set_context(context)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        self.client = client

    def will(self, topic: str, payload: bytes) -> None:
        """The message the broker publishes (retained, QoS 1) if the connection is lost."""
        self.client.will_set(topic, payload, qos=1, retain=True)

    async def connect(self, within: float) -> None:
        """Connect and wait for the CONNACK; BrokerLost when refused or unreachable."""
        s = self.settings
        try:
            await asyncio.to_thread(self.client.connect, s.broker_host, s.broker_port, _KEEPALIVE)
        except (OSError, ssl.SSLError) as exc:
            raise BrokerLost(f"{s.broker_host}:{s.broker_port}: {exc}") from exc
        self.client.loop_start()
        try:
            async with asyncio.timeout(within):
                await self._connected
        except TimeoutError:
            self.close()
            raise BrokerLost(f"no CONNACK from {s.broker_host}:{s.broker_port}") from None
        except BrokerLost:
            self.close()
            raise

    def subscribe(self, topic_filter: str, qos: int = 1) -> None:
        """Subscribe (paho sends it in order after what is queued)."""
        self.client.subscribe(topic_filter, qos)

    def publish(self, topic: str, payload: bytes, *, qos: int = 0, retain: bool = False) -> None:
        """Publish; raises BrokerLost when the connection is gone."""
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            raise BrokerLost(f"publish on {topic} failed: {mqtt.error_string(info.rc)}")

    async def publish_and_wait(
        self, topic: str, payload: bytes, *, retain: bool, within: float
    ) -> None:
        """Publish at QoS 1 and wait for the broker's acknowledgement."""
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            raise BrokerLost(f"publish on {topic} failed: {mqtt.error_string(info.rc)}")
        await asyncio.to_thread(info.wait_for_publish, within)

    def ack(self, delivery: Delivery) -> None:
        """Acknowledge a QoS 1 message (nothing to do for QoS 0)."""
        if delivery.qos:
            self.client.ack(delivery.mid, delivery.qos)

    def close(self) -> None:
        """Disconnect cleanly (no will) and stop paho's thread."""
        self.client.disconnect()
        self.client.loop_stop()

    # -- paho's thread -------------------------------------------------------------------------

    def _on_connect(self, _c: Any, _u: Any, _flags: Any, reason: Any, _props: Any) -> None:
        def settle() -> None:
            if self._connected.done():
                return
            if reason.is_failure:
                self._connected.set_exception(BrokerLost(f"broker refused: {reason}"))
            else:
                self._connected.set_result(None)

        self._loop.call_soon_threadsafe(settle)

    def _on_disconnect(self, _c: Any, _u: Any, _flags: Any, reason: Any, _props: Any) -> None:
        lost = BrokerLost(f"disconnected: {reason}")

        def settle() -> None:
            if not self._connected.done():
                self._connected.set_exception(lost)
            self.messages.put_nowait(lost)

        self._loop.call_soon_threadsafe(settle)

    def _on_message(self, _c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        delivery = Delivery(message.topic, bytes(message.payload), message.qos, message.mid)
        self._loop.call_soon_threadsafe(self.messages.put_nowait, delivery)
