"""Sparkplug edge nodes and devices as Taihu devices: found by name, created on birth, audited.

An edge node is a gateway device named ``<group_id>/<edge_node_id>`` of the enterprise the
settings map it to; its Sparkplug devices are its children, named by their device id, as the
gateway API's children are (taihu.devices.children decides which names the node may use).
"""

from __future__ import annotations

import sqlalchemy as sa

from taihu.accounts import Principal, Role
from taihu.core import Clock, Database
from taihu.devices.children import ChildDevices, ChildRefused
from taihu.devices.models import Device
from taihu.devices.service import DeviceAuth, DeviceService

__all__ = ["NodeRefused", "SparkplugRegistry", "node_name"]


class NodeRefused(Exception):
    """A name the edge node may not use (a device that is not its own)."""


def node_name(group_id: str, edge_node_id: str) -> str:
    """The Taihu device name of an edge node."""
    return f"{group_id}/{edge_node_id}"


def _actor(enterprise_id: int, name: str) -> Principal:
    """The edge node as the actor of what it causes: a user of its enterprise."""
    return Principal(
        name=f"sparkplug:{name}", role=Role.ENTERPRISE, enterprise_ids=frozenset({enterprise_id})
    )


class SparkplugRegistry:
    """Looks up and creates the devices of edge nodes, one unit of work each."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def node(self, enterprise_id: int, group_id: str, edge_node_id: str) -> DeviceAuth:
        """The gateway device of an edge node, created on its first birth."""
        name = node_name(group_id, edge_node_id)
        for attempt in range(2):
            try:
                return await self._node(enterprise_id, name)
            except sa.exc.IntegrityError:
                if attempt:  # created by another process meanwhile: found on the second try
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    async def _node(self, enterprise_id: int, name: str) -> DeviceAuth:
        async with self.db.session() as session:
            registry = DeviceService(session, self.clock)
            found = await registry.named(enterprise_id, None, name)
            if found is None:
                issued = await registry.create(
                    _actor(enterprise_id, name), enterprise_id, name, gateway=True
                )
                device = issued.device
            else:
                existing = await session.get(Device, found)
                assert existing is not None  # found by id in this very unit of work
                device = existing
                if device.kind != "gateway":
                    raise NodeRefused(
                        f"device {found} of enterprise {enterprise_id} is named {name!r} "
                        "and is not a gateway"
                    )
            return _auth(device)

    async def device(self, node: DeviceAuth, device_id: str) -> int:
        """The child of an edge node's device so named, created on its first birth."""
        for attempt in range(2):
            try:
                async with self.db.session() as session:
                    child = await ChildDevices(session, self.clock).resolve(node, device_id, None)
                    return child.id
            except sa.exc.IntegrityError:
                if attempt:
                    raise
            except ChildRefused as refusal:
                async with self.db.session() as session:
                    await ChildDevices(session, self.clock).record_refusal(
                        node, refusal, "spBv1.0 DBIRTH"
                    )
                raise NodeRefused(str(refusal)) from None
        raise AssertionError("unreachable")  # pragma: no cover


def _auth(device: Device) -> DeviceAuth:
    return DeviceAuth(
        device_id=device.id, name=device.name, enterprise_id=device.enterprise_id,
        kind=device.kind, profile_id=device.profile_id, rate_limits="", token_hash="",
    )  # fmt: skip
