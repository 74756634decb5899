"""Devices reached through a session other than the hub's own MQTT listener (Sparkplug B).

Such a session registers a route for each device it speaks for while the device is alive: the
hub then sends the device's server-side RPC and shared attribute updates along it, and the
device counts as connected for presence (the hub's observer is told).
"""

from __future__ import annotations

from typing import Any, Protocol

__all__ = ["RemoteRoute"]


class RemoteRoute(Protocol):
    """How to reach a device that another transport speaks for."""

    async def rpc(self, device_id: int, method: str, params: Any) -> Any:
        """Send a server-side RPC; the answer to give the caller (the transport has none)."""

    async def push_shared(self, device_id: int, values: dict[str, Any]) -> None:
        """Send shared attribute updates."""
