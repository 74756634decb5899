"""What Taihu's Handle client asks for: RESOLUTION with PUBL, as the Handle.Net resolver does.

A Handle.Net server answers 402 to a RESOLUTION without PUBL for a handle that holds one value
anyone may not read; with PUBL it leaves such values out. A real UDP socket stands in for the
server and records the request the client sent.
"""

from __future__ import annotations

import asyncio
from typing import cast

import pytest

from taihu.identifiers.wire import (
    Envelope,
    ErrorBody,
    HandleClient,
    HandleResponseError,
    Header,
    Message,
    OpCode,
    OpFlag,
    ResponseCode,
    decode_message,
    encode_message,
)


class _Recorder(asyncio.DatagramProtocol):
    """Records each request and answers it RC 100 (handle not found)."""

    def __init__(self) -> None:
        self.requests: list[Message] = []
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast("asyncio.DatagramTransport", transport)  # uvloop's is no subclass

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        request = decode_message(data)
        self.requests.append(request)
        reply = Message(
            Envelope(request.envelope.request_id),
            Header(request.header.opcode, ResponseCode.HANDLE_NOT_FOUND),
            ErrorBody(""),
        )
        assert self.transport is not None
        self.transport.sendto(encode_message(reply), addr)


async def _resolved_flags(**options: bool) -> OpFlag:
    loop = asyncio.get_running_loop()
    transport, recorder = await loop.create_datagram_endpoint(
        _Recorder, local_addr=("127.0.0.1", 0)
    )
    port = transport.get_extra_info("sockname")[1]
    try:
        async with HandleClient("127.0.0.1", port, timeout=5.0) as client:
            with pytest.raises(HandleResponseError):
                await client.resolve("88.118.8/W1", **options)
    finally:
        transport.close()
    (request,) = recorder.requests
    assert request.header.opcode is OpCode.RESOLUTION
    return request.header.flags


async def test_a_resolution_asks_for_public_values_only_by_default() -> None:
    flags = await _resolved_flags()
    assert flags & OpFlag.PUBL
    assert not flags & OpFlag.AUTH


async def test_an_authoritative_resolution_keeps_publ_and_adds_auth() -> None:
    flags = await _resolved_flags(authoritative=True)
    assert flags & OpFlag.PUBL
    assert flags & OpFlag.AUTH


async def test_public_only_can_be_turned_off() -> None:
    assert not await _resolved_flags(public_only=False) & OpFlag.PUBL
