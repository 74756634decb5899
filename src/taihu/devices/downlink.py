"""Commands to devices: server-side RPC and shared attribute pushes.

    the device is held by                        the command goes
    a session subscribed to the topic            on v1/devices/me/rpc/request/{id}, the answer
                                                 comes back on v1/devices/me/rpc/response/{id}
    a gateway speaking for it                    through the gateway (taihu.devices.gateway)
    another transport (taihu.devices.remote)     through its route (Sparkplug)
    another process, with a message bus          to that process's hub (taihu.devices.commands)

A call waits for its answer up to its ``wait``; a one-way call and a push wait for none.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import TYPE_CHECKING, Any

import orjson

from taihu.core import N_
from taihu.devices.session import ATTRIBUTES, RPC_REQUEST

if TYPE_CHECKING:
    from taihu.devices.hub import DeviceHub

__all__ = ["NOT_CONNECTED", "Downlink"]

# A catalog message: the API answers it in the reader's language.
NOT_CONNECTED = N_("the device is not connected or not subscribed to RPC requests")


class Downlink:
    """The hub's commands to devices, with the server-side RPC calls awaiting their answer."""

    def __init__(self, hub: DeviceHub) -> None:
        self.hub = hub  # read at each call: the assembly sets its ``commands`` later
        self._waiters: dict[tuple[int, str], asyncio.Future[Any]] = {}
        self._ids = itertools.count(1)

    async def rpc(
        self, device_id: int, method: str, params: Any, *, wait: float, oneway: bool,
        forward: bool = True,
    ) -> Any:  # fmt: skip
        """Call a method on a connected device; its answer (None for one-way).

        A device this process does not hold is called through ``commands`` (unless not
        ``forward``: the call came from another process).
        """
        hub = self.hub
        targets = [s for s in hub.sessions.get(device_id, []) if s.subscribed(RPC_REQUEST + "1")]
        via = hub.gateway_children.get(device_id)  # a child device, reached through its gateway
        if not targets and via is None and (route := hub.remote.get(device_id)) is not None:
            answer = await route.rpc(device_id, method, params)
            return None if oneway else answer
        if not targets and via is None:
            if forward and hub.commands is not None and not hub.reachable(device_id):
                return await hub.commands.rpc(device_id, method, params, wait=wait, oneway=oneway)
            raise LookupError(NOT_CONNECTED)
        request_id = str(next(self._ids))
        waiter: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if not oneway:
            self._waiters[(device_id, request_id)] = waiter
        payload = orjson.dumps({"method": method, "params": params})
        try:
            if targets:
                await targets[-1].connection.push(RPC_REQUEST + request_id, payload)
            elif via is not None:
                await via[0].rpc(via[1], request_id, method, params)
            if oneway:
                return None
            async with asyncio.timeout(wait):
                return await waiter
        finally:
            self._waiters.pop((device_id, request_id), None)

    def rpc_answered(self, device_id: int, request_id: str, payload: bytes) -> None:
        """A device answered a server-side RPC."""
        waiter = self._waiters.get((device_id, request_id))
        if waiter is None or waiter.done():
            return
        try:
            waiter.set_result(orjson.loads(payload))
        except orjson.JSONDecodeError:
            waiter.set_result(payload.decode("utf-8", "replace"))

    async def push_shared(
        self, device_id: int, values: dict[str, Any], *, forward: bool = True
    ) -> int:
        """Push shared attribute updates to the device's subscribed sessions; how many got it.

        A device this process does not hold gets them through ``commands`` (unless not
        ``forward``: the command came from another process).
        """
        hub = self.hub
        if forward and hub.commands is not None and not hub.reachable(device_id):
            return await hub.commands.push_shared(device_id, values)
        sent = 0
        for session in list(hub.sessions.get(device_id, [])):
            if session.subscribed(ATTRIBUTES):
                await session.connection.push(ATTRIBUTES, orjson.dumps(values))
                sent += 1
        if device_id in hub.gateway_children:
            gateway, name = hub.gateway_children[device_id]
            await gateway.push_shared(name, values)
            sent += 1
        if (route := hub.remote.get(device_id)) is not None:
            await route.push_shared(device_id, values)
            sent += 1
        return sent
