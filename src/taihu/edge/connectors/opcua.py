"""OPC UA servers (asyncua): variables by node id, by subscription or polling."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from asyncua import ua
from asyncua.client.client import Client
from asyncua.common.node import Node
from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256

from taihu.edge.config import OpcUaDevice
from taihu.edge.connectors.base import Collector, PolledConnector, plain

__all__ = ["OpcUaConnector", "browse"]


def _timestamp(data: Any) -> tuple[int, bool]:
    """The value's source time when the server gives one, else now (ms); whether it is now."""
    value = getattr(getattr(data, "monitored_item", None), "Value", None)
    stamp = getattr(value, "SourceTimestamp", None) or getattr(value, "ServerTimestamp", None)
    if stamp is not None:
        return int(stamp.timestamp() * 1000), False
    return int(time.time() * 1000), True


class _Changes:
    """asyncua's data change handler: each change becomes a reading."""

    def __init__(self, connector: OpcUaConnector, sink: Collector) -> None:
        self.connector = connector
        self.sink = sink

    def datachange_notification(self, node: Node, val: Any, data: Any) -> None:
        """One changed value (called by asyncua on the event loop)."""
        key = self.connector.keys.get(node.nodeid.to_string())
        if key is not None:
            ts, stamped = _timestamp(data)
            self.sink.emit(self.connector.name, ts, {key: plain(val)}, stamped=stamped)
            self.connector.health.ok(1)


async def connect(url: str, config: OpcUaDevice | None = None, wait: float = 4.0) -> Client:
    """A connected client, with the device's security and user when given."""
    client = Client(url, timeout=wait)
    if config is not None:
        security = config.security
        if security.policy == "Basic256Sha256":
            # The URI must be the one in the gateway's certificate.
            client.application_uri = security.application_uri
            assert security.certificate is not None
            assert security.private_key is not None
            await client.set_security(
                SecurityPolicyBasic256Sha256,
                certificate=str(security.certificate),
                private_key=str(security.private_key),
                server_certificate=(
                    str(security.server_certificate) if security.server_certificate else None
                ),
                mode=getattr(ua.MessageSecurityMode, security.mode),
            )
        if config.username:
            client.set_user(config.username)
            client.set_password(config.password or "")
    await client.connect()
    return client


class OpcUaConnector(PolledConnector):
    """One OPC UA server and the variables read from it."""

    def __init__(self, config: OpcUaDevice) -> None:
        super().__init__(config.name, "opcua", config.timeout, config.backoff, [config.interval])
        self.config = config
        self.client: Client | None = None
        self.nodes: list[Node] = []
        self.keys: dict[str, str] = {}

    async def open(self) -> None:
        """Connect and resolve the node ids."""
        self.client = await connect(self.config.url, self.config, self.config.timeout)
        self.nodes = [self.client.get_node(n.node) for n in self.config.nodes]
        self.keys = {
            node.nodeid.to_string(): n.key
            for node, n in zip(self.nodes, self.config.nodes, strict=True)
        }

    async def close(self) -> None:
        """Disconnect."""
        if self.client is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(self.timeout):
                    await self.client.disconnect()
            self.client = None

    async def read(self, group: int) -> dict[str, Any]:  # noqa: ARG002 - one group
        """Read every node at once."""
        assert self.client is not None
        values = await self.client.read_values(self.nodes)
        return {n.key: plain(v) for n, v in zip(self.config.nodes, values, strict=True)}

    async def _poll(self, sink: Collector) -> None:
        if self.config.mode == "polling":
            await super()._poll(sink)
            return
        assert self.client is not None
        period_ms = self.config.interval * 1000
        subscription = await self.client.create_subscription(period_ms, _Changes(self, sink))
        results = await subscription.subscribe_data_change(
            self.nodes, sampling_interval=ua.Double(period_ms)
        )
        for node, result in zip(self.config.nodes, _as_list(results), strict=True):
            if isinstance(result, ua.StatusCode):
                raise ConnectionError(f"cannot subscribe to {node.node}: {result.name}")
        self.health.ok(0)
        self.backoff.reset()
        while True:  # the subscription delivers; here only the connection is watched
            await asyncio.sleep(self.config.interval)
            async with asyncio.timeout(self.timeout):
                await self.client.check_connection()


def _as_list(results: Any) -> list[Any]:
    return results if isinstance(results, list) else [results]


async def browse(url: str, depth: int = 3, wait: float = 4.0) -> list[tuple[int, str, str, str]]:
    """The server's Objects tree: (depth, node id, browse name, node class) for each node."""
    client = await connect(url, wait=wait)
    found: list[tuple[int, str, str, str]] = []

    async def walk(node: Node, level: int) -> None:
        for child in await node.get_children():
            name = (await child.read_browse_name()).to_string()
            kind = (await child.read_node_class()).name
            found.append((level, child.nodeid.to_string(), name, kind))
            if level + 1 < depth and kind == "Object":
                await walk(child, level + 1)

    try:
        await walk(client.nodes.objects, 0)
    finally:
        await client.disconnect()
    return found
