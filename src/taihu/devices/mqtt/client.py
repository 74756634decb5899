"""A small asyncio MQTT 5 client for simulated devices and load tests (QoS 0 and 1 publish).

Publishing pipelines QoS 1 messages up to the server's receive maximum; ``publish`` returns a
future that resolves to the PUBACK reason code.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from types import TracebackType

from taihu.devices.mqtt.codec import (
    ConnAck,
    Connect,
    PingReq,
    PubAck,
    Publish,
    decode_packet,
    encode_packet,
    split_packet,
)

__all__ = ["MqttClient", "MqttRefused"]


class MqttRefused(ConnectionError):
    """The server refused the connection (CONNACK reason code)."""

    def __init__(self, reason: int) -> None:
        super().__init__(f"CONNACK reason 0x{reason:02x}")
        self.reason = reason


class MqttClient:
    """One MQTT 5 connection: ``async with MqttClient(host, port, token) as c: …``."""

    def __init__(
        self, host: str, port: int, username: str, *, client_id: str = "", keep_alive: int = 60
    ) -> None:
        self.host = host
        self.port = port
        self.username = username
        self.client_id = client_id
        self.keep_alive = keep_alive
        self.receive_maximum = 65_535
        self._ids = itertools.cycle(range(1, 65_536))
        self._pending: dict[int, asyncio.Future[int]] = {}
        self._window: asyncio.Semaphore | None = None
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task[None] | None = None
        self._rest = bytearray()  # bytes read past the CONNACK

    async def __aenter__(self) -> MqttClient:
        await self.connect()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def connect(self) -> None:
        """Open the connection; raises ``MqttRefused`` when the server says no."""
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        self._writer.write(
            encode_packet(Connect(5, self.client_id, self.keep_alive, username=self.username), 5)
        )
        ack = await self._read()
        if not isinstance(ack, ConnAck) or ack.reason:
            raise MqttRefused(getattr(ack, "reason", 0x80))
        self.receive_maximum = ack.properties.receive_maximum or 65_535
        self._window = asyncio.Semaphore(self.receive_maximum)
        self._task = asyncio.create_task(self._receive(), name=f"mqtt-client {self.client_id}")

    async def _read(self) -> object:
        assert self._reader is not None
        data = bytearray()
        while True:
            head = split_packet(data, 1 << 24)
            if head and len(data) >= head[1] + head[2]:
                first, offset, length = head
                packet = decode_packet(first, bytes(data[offset : offset + length]), 5)
                del data[: offset + length]
                self._rest = data
                return packet
            chunk = await self._reader.read(65_536)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            data += chunk

    async def _receive(self) -> None:
        assert self._reader is not None
        data = self._rest
        try:
            while True:
                head = split_packet(data, 1 << 24)
                if head and len(data) >= head[1] + head[2]:
                    first, offset, length = head
                    packet = decode_packet(first, bytes(data[offset : offset + length]), 5)
                    del data[: offset + length]
                    if isinstance(packet, PubAck):
                        waiter = self._pending.pop(packet.packet_id, None)
                        if waiter and not waiter.done():
                            waiter.set_result(packet.reason)
                        if self._window is not None:
                            self._window.release()
                    continue
                chunk = await self._reader.read(65_536)
                if not chunk:
                    break
                data += chunk
        finally:
            for waiter in self._pending.values():
                if not waiter.done():
                    waiter.set_exception(ConnectionError("connection lost"))

    async def publish(self, topic: str, payload: bytes, qos: int = 1) -> asyncio.Future[int]:
        """Send a message; the future resolves to the PUBACK reason (0 at once for QoS 0)."""
        assert self._writer is not None
        assert self._window is not None
        done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        if qos == 0:
            self._writer.write(encode_packet(Publish(topic, payload), 5))
            done.set_result(0)
        else:
            await self._window.acquire()
            packet_id = next(self._ids)
            self._pending[packet_id] = done
            self._writer.write(encode_packet(Publish(topic, payload, 1, packet_id=packet_id), 5))
        await self._writer.drain()
        return done

    async def ping(self) -> None:
        """Send PINGREQ (the answer is read and ignored)."""
        assert self._writer is not None
        self._writer.write(encode_packet(PingReq(), 5))
        await self._writer.drain()

    async def close(self) -> None:
        """Close the connection."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await self._task
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(ConnectionError):
                await self._writer.wait_closed()
