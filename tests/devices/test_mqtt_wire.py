"""The listener at the byte level: what real clients cannot be made to send."""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator
from typing import Any

import pytest

from taihu.devices.mqtt import (
    ConnAck,
    Connect,
    Disconnect,
    Properties,
    PubAck,
    Publish,
    decode_packet,
    encode_packet,
    split_packet,
    varint,
)
from tests.devices.conftest import DEADLINE

_WRITERS: list[asyncio.StreamWriter] = []


@pytest.fixture(autouse=True)
async def _close_connections() -> AsyncIterator[None]:
    yield
    while _WRITERS:
        writer = _WRITERS.pop()
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def _open(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    _WRITERS.append(writer)
    return reader, writer


# bytes read past a packet, per connection
_LEFT: weakref.WeakKeyDictionary[asyncio.StreamReader, bytearray] = weakref.WeakKeyDictionary()


async def _read(reader: asyncio.StreamReader, version: int) -> Any:
    """The next packet, or None when the server closed the connection."""
    async with asyncio.timeout(DEADLINE):
        data = _LEFT.setdefault(reader, bytearray())
        while True:
            head = split_packet(data, 1 << 20)
            if head and len(data) >= head[1] + head[2]:
                body = bytes(data[head[1] : head[1] + head[2]])
                del data[: head[1] + head[2]]
                return decode_packet(head[0], body, version)
            chunk = await reader.read(4096)
            if not chunk:
                return None
            data += chunk


async def _connect(port: int, token: str | None, version: int = 5, **kw: Any) -> Any:
    reader, writer = await _open(port)
    writer.write(encode_packet(Connect(version, "wire", username=token, **kw), version))
    return reader, writer, await _read(reader, version)


async def test_311_connack_return_codes(port: int, make_device: Any) -> None:
    dev = await make_device()
    assert (await _connect(port, "dev_unknown", 4))[2] == ConnAck(reason=0x05)
    assert (await _connect(port, None, 4))[2] == ConnAck(reason=0x04)
    assert (await _connect(port, dev.token, 4))[2] == ConnAck(reason=0x00)


async def test_slowloris_is_cut_off(port: int) -> None:
    reader, writer = await _open(port)
    writer.write(b"\x10\x20\x00\x04MQ")  # a CONNECT that never completes
    assert await _read(reader, 4) is None  # closed after connect_timeout


async def test_oversize_packet_is_refused_before_it_is_read(port: int, make_device: Any) -> None:
    dev = await make_device()
    reader, writer, ack = await _connect(port, dev.token)
    assert ack.reason == 0
    assert ack.properties.maximum_packet_size == 8192
    # Only the header of a 100 MB PUBLISH: the server must not wait for (or buffer) the body.
    writer.write(b"\x32" + varint(100_000_000))
    answer = await _read(reader, 5)
    assert answer == Disconnect(0x95, answer.properties)
    assert await _read(reader, 5) is None


async def test_keep_alive_expiry(port: int, make_device: Any) -> None:
    dev = await make_device()
    reader, _writer, ack = await _connect(port, dev.token, keep_alive=1)
    assert ack.reason == 0
    answer = await _read(reader, 5)  # silence for 1.5 x keep alive
    assert isinstance(answer, Disconnect)
    assert answer.reason == 0x8D


async def test_topic_alias_and_qos2(port: int, make_device: Any, client: Any) -> None:
    dev = await make_device()
    reader, writer, _ = await _connect(port, dev.token)
    t = 1_764_057_600_000
    first = Publish("v1/devices/me/telemetry", b'{"ts": %d, "values": {"a": 1}}' % t, 1,
                    packet_id=1, properties=Properties(topic_alias=2))  # fmt: skip
    again = Publish("", b'{"ts": %d, "values": {"a": 2}}' % (t + 1), 1, packet_id=2,
                    properties=Properties(topic_alias=2))  # fmt: skip
    writer.write(encode_packet(first, 5) + encode_packet(again, 5))
    assert await _read(reader, 5) == PubAck(1)
    assert await _read(reader, 5) == PubAck(2)
    writer.write(encode_packet(Publish("v1/devices/me/telemetry", b"{}", 2, packet_id=3), 5))
    answer = await _read(reader, 5)
    assert isinstance(answer, Disconnect)
    assert answer.reason == 0x9B  # QoS 2 is not supported


async def test_unknown_topic_gets_0x90(port: int, make_device: Any) -> None:
    dev = await make_device()
    reader, writer, _ = await _connect(port, dev.token)
    writer.write(encode_packet(Publish("factory/line1", b"{}", 1, packet_id=5), 5))
    answer = await _read(reader, 5)
    assert isinstance(answer, PubAck)
    assert (answer.packet_id, answer.reason) == (5, 0x90)
