"""Devices reached through something other than this process's own sessions.

``RemoteRoute``: a session other than the hub's MQTT listener (Sparkplug B) registers a route for
each device it speaks for while the device is alive: the hub then sends the device's server-side
RPC and shared attribute updates along it, and the device counts as connected for presence (the
hub's observer is told).

``CommandRouter``: with a message bus, the way to devices that another process holds
(``taihu.devices.commands``); the hub asks it only for devices it cannot reach itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

__all__ = ["CommandRouter", "RemoteRoute"]


class RemoteRoute(Protocol):
    """How to reach a device that another transport speaks for."""

    async def rpc(self, device_id: int, method: str, params: Any) -> Any:
        """Send a server-side RPC; the answer to give the caller (the transport has none)."""

    async def push_shared(self, device_id: int, values: dict[str, Any]) -> None:
        """Send shared attribute updates."""


class CommandRouter(Protocol):
    """Commands to devices held by other processes, and this process's devices offered to them."""

    def moved(self, device_id: int) -> None:
        """This process gained its first or lost its last way to a device (cheap, never blocks)."""

    async def rpc(
        self, device_id: int, method: str, params: Any, *, wait: float, oneway: bool
    ) -> Any:
        """The answer of the process holding the device.

        ``LookupError`` when no process holds it, ``TimeoutError`` when no answer within ``wait``.
        """

    async def push_shared(self, device_id: int, values: dict[str, Any]) -> int:
        """How many sessions of the process holding the device got the update (0: none)."""

    async def online(self, device_ids: Sequence[int]) -> set[int]:
        """Those of the devices another process holds."""
