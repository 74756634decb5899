"""Commands to devices across processes: shared attribute pushes and RPC over core NATS.

    api process                                   transport process holding device 42
    hub.rpc(42, …) ── not held here ──► request COMMAND_PREFIX.42 ──► hub.rpc(42, …, forward=False)
                   ◄── reply inbox ◄── {"result": …} / {"error": "offline" | "timeout"} ◄──┘

A process subscribes to ``COMMAND_PREFIX.DEVICE_ID`` while it holds a way to the device (an MQTT
session, a gateway speaking for it, a Sparkplug route) and unsubscribes when the last goes, so the
subject routes without a table. Core NATS, not JetStream: a command is for the device connected
now, never stored for later. NATS answers "no responders" at once when no process holds the
device: the caller then gets the same ``LookupError`` as in one process. A request that gets no
reply (the holder died mid-call) ends as a ``TimeoutError`` after the RPC's own wait.

    request body                                     reply body
    {"op": "rpc", "method", "params", "wait",        {"result": …} | {"error": "offline" |
     "oneway"}                                         "timeout" | "invalid" | "bad", "message"}
    {"op": "shared", "values": {…}}                  {"sent": sessions that got it}
    {"op": "online"}                                 {"sessions": n}
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import nats.errors
import orjson
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from taihu.core import InvalidInput, drain, raise_if_cancelled
from taihu.devices.downlink import NOT_CONNECTED
from taihu.devices.hub import DeviceHub

if TYPE_CHECKING:
    from taihu.devices.bus import JetStreamBus

__all__ = ["BusCommands", "decode_command"]

log = logging.getLogger("taihu.devices.commands")
_MARGIN = 1.0  # seconds an RPC request waits beyond the device's wait, for the holder's answer
_ONLINE_WAIT = 1.0  # seconds a presence question waits for the holder's answer
_STOP_WITHIN = 5.0  # seconds the commands under way get to finish at shutdown
_OPS = ("rpc", "shared", "online")


def decode_command(data: bytes) -> dict[str, Any]:
    """A command from a request body; ``ValueError`` when it is not one."""
    body = orjson.loads(data)
    if not isinstance(body, dict) or body.get("op") not in _OPS:
        raise ValueError('a command is {"op": "rpc" | "shared" | "online", …}')
    if body["op"] == "rpc" and not (
        isinstance(body.get("method"), str) and isinstance(body.get("wait"), int | float)
    ):
        raise ValueError('an RPC command is {"op": "rpc", "method": "…", "params": …, "wait": s}')
    if body["op"] == "shared" and not isinstance(body.get("values"), dict):
        raise ValueError('a shared attribute command is {"op": "shared", "values": {…}}')
    return body


class BusCommands:
    """The hub's ``CommandRouter`` over NATS: offers its devices, reaches the others'."""

    def __init__(self, bus: JetStreamBus, hub: DeviceHub) -> None:
        self.bus = bus
        self.hub = hub
        self.settings = bus.settings
        self._subscriptions: dict[int, Subscription] = {}
        self._moved: asyncio.Queue[int] = asyncio.Queue()
        self._follower: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def subject(self, device_id: int) -> str:
        """The subject of a device's commands."""
        return f"{self.settings.command_prefix}.{device_id}"

    async def start(self) -> None:
        """Offer the devices held now and follow the hub from here on (the bus is open)."""
        self._follower = asyncio.get_running_loop().create_task(
            self._follow(), name="taihu-commands"
        )
        self.hub.commands = self
        for device_id in {*self.hub.sessions, *self.hub.gateway_children, *self.hub.remote}:
            self.moved(device_id)

    async def stop(self) -> None:
        """Stop offering devices; the commands under way get a bounded while to answer."""
        if self.hub.commands is self:
            self.hub.commands = None
        if self._follower is not None:
            self._follower.cancel()
            # It ends at once (it raises a cancel nats-py lost, see _follow); the bound only
            # keeps a stop from hanging should some other call lose one.
            done, _ = await asyncio.wait({self._follower}, timeout=_STOP_WITHIN)
            if not done:
                log.warning("the command follower did not end within %s s", _STOP_WITHIN)
            self._follower = None
        await drain(self._tasks, _STOP_WITHIN)
        for subscription in self._subscriptions.values():
            with contextlib.suppress(Exception):  # the connection may be gone already
                await subscription.unsubscribe()
        self._subscriptions.clear()

    # -- offering this process's devices -------------------------------------------------------

    def moved(self, device_id: int) -> None:
        """Follow the hub: subscribe to or leave the device's subject (in the background)."""
        self._moved.put_nowait(device_id)

    async def _follow(self) -> None:
        while True:
            # nats-py can return from a cancel instead of raising it: flush() when its PONG
            # came in the same turn of the event loop as the stop (Python 3.11's wait_for), and
            # subscribe/unsubscribe while the flush queue is full. A session that ends as the
            # process stops (the gateway's, in the tests) moves its device just before the stop,
            # so the stop often meets a flush. The follower would then wait here for a move that
            # never comes.
            raise_if_cancelled()
            moved = {await self._moved.get()}
            while not self._moved.empty():
                moved.add(self._moved.get_nowait())
            for device_id in moved:
                raise_if_cancelled()
                try:
                    await self._offer(device_id)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # the connection closing: offered again on its next move
                    log.warning("commands to device %s not offered: %s", device_id, exc)
            try:
                nc = self.bus.nc
                if nc is not None and nc.is_connected:
                    # The subscriptions are on the server once this returns: a command sent
                    # after a device is seen online finds its process.
                    await nc.flush(timeout=math.ceil(self.settings.command_timeout))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the bus away: nats-py resubscribes on reconnecting
                log.warning("command subscriptions not confirmed: %s", exc)

    async def _offer(self, device_id: int) -> None:
        held, offered = self.hub.reachable(device_id), device_id in self._subscriptions
        nc = self.bus.nc
        if held and not offered and nc is not None:
            self._subscriptions[device_id] = await nc.subscribe(
                self.subject(device_id), cb=self._received
            )
        elif offered and not held:
            await self._subscriptions.pop(device_id).unsubscribe()

    async def _received(self, msg: Msg) -> None:
        # Answered in a task of its own: an RPC waiting on its device holds up no other command.
        task = asyncio.get_running_loop().create_task(self._answer(msg), name="taihu-command")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer(self, msg: Msg) -> None:
        device_id = int(msg.subject.rsplit(".", 1)[1])
        try:
            reply = await self._run(device_id, decode_command(msg.data))
        except InvalidInput as exc:  # a value the device's transport cannot send (Sparkplug)
            reply = {"error": "invalid", "message": exc.template, "code": exc.code,
                     "details": exc.details}  # fmt: skip
        except ValueError as exc:
            reply = {"error": "bad", "message": str(exc)}
        except LookupError as exc:
            reply = {"error": "offline", "message": str(exc)}
        except TimeoutError:
            reply = {"error": "timeout", "message": "the device did not answer in time"}
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the device's connection broke while sending
            log.warning("command to device %s failed: %s", device_id, exc)
            reply = {"error": "offline", "message": str(exc) or type(exc).__name__}
        if msg.reply:
            with contextlib.suppress(Exception):  # the asker is gone: nothing to tell
                await msg.respond(orjson.dumps(reply, default=str))

    async def _run(self, device_id: int, command: dict[str, Any]) -> dict[str, Any]:
        hub = self.hub
        if command["op"] == "rpc":
            result = await hub.rpc(
                device_id, command["method"], command.get("params"), wait=float(command["wait"]),
                oneway=bool(command.get("oneway")), forward=False,
            )  # fmt: skip
            return {"result": result}
        if command["op"] == "shared":
            return {"sent": await hub.push_shared(device_id, command["values"], forward=False)}
        return {"sessions": max(hub.connected(device_id), int(hub.reachable(device_id)))}

    # -- reaching other processes' devices (taihu.devices.remote.CommandRouter) ----------------

    async def _request(self, device_id: int, command: dict[str, Any], within: float) -> Any:
        """The holder's reply; ``LookupError`` when no process holds the device."""
        nc = self.bus.nc
        # The caller answers NOT_CONNECTED in the reader's language (a catalog message); why
        # goes to the log.
        if nc is None or not nc.is_connected:
            log.warning("command to device %s not sent: the bus is not connected", device_id)
            raise LookupError(NOT_CONNECTED)
        try:
            msg = await nc.request(self.subject(device_id), orjson.dumps(command), timeout=within)
        except nats.errors.NoRespondersError:
            raise LookupError(NOT_CONNECTED) from None
        except nats.errors.TimeoutError:
            raise TimeoutError from None
        reply = orjson.loads(msg.data)
        if not isinstance(reply, dict):
            log.warning("a malformed answer to a command to device %s: %r", device_id, reply)
            raise LookupError(NOT_CONNECTED)
        if reply.get("error") == "timeout":
            raise TimeoutError
        if reply.get("error") == "invalid":  # the holder's 400, with its message id and values
            details = reply.get("details")
            raise InvalidInput(str(reply.get("message")), code=str(reply.get("code")),
                               **(details if isinstance(details, dict) else {}))  # fmt: skip
        if "error" in reply:
            if reply.get("message") != NOT_CONNECTED:
                log.info("command to device %s: %s", device_id, reply.get("message"))
            raise LookupError(NOT_CONNECTED)
        return reply

    async def rpc(
        self, device_id: int, method: str, params: Any, *, wait: float, oneway: bool
    ) -> Any:
        """Call a method on a device another process holds; its answer (None for one-way)."""
        command = {"op": "rpc", "method": method, "params": params, "wait": wait,
                   "oneway": oneway}  # fmt: skip
        timeout = self.settings.command_timeout if oneway else wait + _MARGIN
        reply = await self._request(device_id, command, timeout)
        return None if oneway else reply.get("result")

    async def push_shared(self, device_id: int, values: dict[str, Any]) -> int:
        """Push shared attributes to a device another process holds; how many sessions got them.

        0 when no process holds the device or the holder did not answer (the values are stored
        either way: the device reads them when it asks).
        """
        command = {"op": "shared", "values": values}
        try:
            reply = await self._request(device_id, command, self.settings.command_timeout)
        except (LookupError, TimeoutError, InvalidInput, orjson.JSONDecodeError) as exc:
            log.debug("shared attributes of device %s not pushed: %r", device_id, exc)
            return 0
        sent = reply.get("sent")
        return sent if isinstance(sent, int) else 0

    async def online(self, device_ids: Sequence[int]) -> set[int]:
        """Those of the devices another process holds (asked all at once)."""

        async def held(device_id: int) -> bool:
            try:
                await self._request(device_id, {"op": "online"}, _ONLINE_WAIT)
            except (LookupError, TimeoutError, orjson.JSONDecodeError):
                return False
            return True

        found = await asyncio.gather(*(held(d) for d in device_ids))
        return {d for d, yes in zip(device_ids, found, strict=True) if yes}
