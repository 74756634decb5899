"""The Handle listeners over real UDP and TCP sockets, driven by the wire client."""

from __future__ import annotations

import pytest

from taihu.identifiers.wire import (
    HandleClient,
    HandleResponseError,
    ResponseCode,
)
from tests.identifiers.wire.conftest import PREFIX, Node


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_resolution(node: Node, transport: str) -> None:
    async with HandleClient(node.host, node.port, transport=transport) as client:  # type: ignore[arg-type]
        reply = await client.resolve(f"{PREFIX}/W1")
        assert reply.handle == f"{PREFIX}/W1"
        assert [(v.index, v.type) for v in reply.values] == [
            (1, "URL"),
            (2, "EMAIL"),
            (100, "HS_ADMIN"),
        ]
        assert reply.values[0].data == b"https://example.cn/w1"
        only = await client.resolve(f"{PREFIX}/W1", types=("EMAIL",))
        assert [v.index for v in only.values] == [2]
        with pytest.raises(HandleResponseError) as missing:
            await client.resolve(f"{PREFIX}/NOPE")
        assert missing.value.code is ResponseCode.HANDLE_NOT_FOUND
        with pytest.raises(HandleResponseError) as elsewhere:
            await client.resolve("99.1/W1")
        assert elsewhere.value.code is ResponseCode.SERVER_NOT_RESP
        assert elsewhere.value.text == "That prefix doesn't live here"
