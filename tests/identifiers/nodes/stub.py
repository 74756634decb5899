"""A scripted Handle node on a loopback UDP port: real datagrams, answers chosen by the test."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, cast

from taihu.identifiers.handle import HandleValue
from taihu.identifiers.server import site_for
from taihu.identifiers.wire import (
    Body,
    Envelope,
    Header,
    Message,
    ReferralBody,
    ResponseCode,
    decode_message,
    encode_message,
    encode_site,
)

Script = Callable[[Message], tuple[ResponseCode, Body] | None]


def referral_to(prefix: str, port: int, ttl: int = 86400) -> ReferralBody:
    """RC 302's body: the prefix record of ``prefix`` naming a node on loopback ``port``."""
    site = HandleValue(index=1, type="HS_SITE", data=encode_site(site_for("127.0.0.1", port)),
                       ttl=ttl)  # fmt: skip
    return ReferralBody(f"0.NA/{prefix}", (site,))


class StubNode(asyncio.DatagramProtocol):
    """Answers each request with what ``script`` says (``None``: stays silent)."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.requests: list[Message] = []
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast("asyncio.DatagramTransport", transport)

    def datagram_received(self, data: bytes, addr: Any) -> None:
        request = decode_message(data)
        self.requests.append(request)
        answer = self.script(request)
        if answer is None or self.transport is None:
            return
        code, body = answer
        header = Header(request.header.opcode, code)
        reply = Message(Envelope(request.envelope.request_id), header, body)
        self.transport.sendto(encode_message(reply), addr)

    @property
    def port(self) -> int:
        """The loopback port it listens on."""
        assert self.transport is not None
        return int(self.transport.get_extra_info("sockname")[1])


@asynccontextmanager
async def stub_node(script: Script) -> AsyncIterator[StubNode]:
    """A stub node listening on a free loopback UDP port for the block's duration."""
    loop = asyncio.get_running_loop()
    transport, node = await loop.create_datagram_endpoint(
        lambda: StubNode(script), local_addr=("127.0.0.1", 0)
    )
    try:
        yield node
    finally:
        transport.close()
