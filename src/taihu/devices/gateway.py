"""ThingsBoard's gateway API: one MQTT session speaking for many child devices.

    v1/gateway/connect              {"device": "Meter A", "type": "power-meter"}
    v1/gateway/disconnect           {"device": "Meter A"}
    v1/gateway/telemetry            {"Meter A": [{"ts": …, "values": {…}}], "Meter B": [{…}]}
    v1/gateway/attributes           {"Meter A": {"firmware": "1.2"}}   (client attributes)
    v1/gateway/attributes/request   {"id": 1, "device": "Meter A", "client": false, "key": "k"}
                                    → v1/gateway/attributes/response {"id": 1, "value": …}
    v1/gateway/rpc                  {"device": "Meter A", "id": 7, "data": {…}}   (an RPC answer)

    hub → gateway: v1/gateway/attributes {"device": …, "data": {…}} (shared attribute updates)
                   v1/gateway/rpc {"device": …, "data": {"id": …, "method": …, "params": …}}

A gateway acts only for its own children (taihu.devices.children says which names are its). A
child is created on first mention, under the gateway's enterprise, linked to it. A name the gateway
may not use is refused item by item, as the gateway API has no per-device answer: its data is not
stored, the refusal is counted and kept in the gateway's recent errors, and the first refusal of
each name in a session is logged and audited.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

import orjson
import sqlalchemy as sa

from taihu.core import N_, Message
from taihu.devices.children import ChildDevices, ChildRefused
from taihu.devices.mqtt.transport import Ack
from taihu.devices.service import DeviceService
from taihu.devices.values import BadPayload, Point, parse_attributes

if TYPE_CHECKING:
    from taihu.devices.session import DeviceSession

__all__ = ["GatewaySession"]

log = logging.getLogger("taihu.devices")

PREFIX = "v1/gateway/"
_TOLD_AT_MOST = 100  # names per session whose refusal is logged and audited (all are counted)
# Seconds a name stays resolved in a session. A move through the API of this process is seen at
# once; one made elsewhere (the CLI, another worker) within this time.
_RECHECK_AFTER = 30.0


class GatewaySession:
    """The gateway side of a device session."""

    def __init__(self, session: DeviceSession) -> None:
        self.session = session
        self.hub = session.hub
        self.children: dict[str, int] = {}
        self._checked: dict[str, float] = {}  # when each name was last resolved (monotonic)
        self._resolving = asyncio.Lock()
        self._told: set[str] = set()

    async def child(self, name: object, topic: str, profile: object = None) -> int | None:
        """The id of the gateway's child so named (created if new); None when refused."""
        if not isinstance(name, str) or not name.strip():
            raise BadPayload(N_("a child device needs a name"))
        if self._fresh(name):
            return self.children[name]
        async with self._resolving:  # one creation per name, however many messages name it
            if not self._fresh(name):
                wanted = profile if isinstance(profile, str) else None
                try:
                    try:
                        device_id = await self._resolve(name, wanted)
                    except sa.exc.IntegrityError:
                        # Another session of this gateway created it (or its profile) meanwhile.
                        device_id = await self._resolve(name, wanted)
                except ChildRefused as refusal:
                    self._release(name)
                    await self._refuse(topic, refusal)
                    return None
                if self.children.get(name) != device_id:
                    self._release(name)
                self.children[name] = device_id
                self._checked[name] = time.monotonic()
                self.hub.route_child(device_id, self, name)
        return self.children[name]

    def _fresh(self, name: str) -> bool:
        checked = self._checked.get(name)
        return (
            name in self.children
            and checked is not None
            and time.monotonic() - checked < _RECHECK_AFTER
        )

    def _release(self, name: str) -> None:
        """Stop speaking for the device a name stood for."""
        device_id = self.children.pop(name, None)
        self._checked.pop(name, None)
        if device_id is not None:
            self.hub.unroute_child(device_id, self)

    async def _resolve(self, name: str, profile: str | None) -> int:
        async with self.hub.db.session() as db:
            device = await ChildDevices(db, self.hub.clock).resolve(
                self.session.auth, name, profile
            )
            return device.id

    async def _refuse(self, topic: str, refusal: ChildRefused) -> None:
        auth = self.session.auth
        message = Message(N_("{topic}: device {name} refused: {reason}"), topic=PREFIX + topic,
                          name=repr(refusal.name), reason=refusal.reason)  # fmt: skip
        self.hub.refuse_child(auth, message, PREFIX + topic)
        if refusal.name in self._told or len(self._told) >= _TOLD_AT_MOST:
            return
        self._told.add(refusal.name)
        log.warning("gateway %s (%d): %s", auth.name, auth.device_id, refusal)
        async with self.hub.db.session() as db:
            await ChildDevices(db, self.hub.clock).record_refusal(auth, refusal, PREFIX + topic)

    def forget(self, device_id: int) -> None:
        """A device left this gateway (or came under it): resolve its name afresh."""
        for name, child in list(self.children.items()):
            if child == device_id:
                self._release(name)

    async def publish(  # noqa: PLR0911
        self, topic: str, payload: bytes, qos: int = 1
    ) -> Awaitable[Ack]:
        """Handle one message on a gateway topic (one return per topic)."""
        document = self.hub.decode(payload)
        kind = topic[len(PREFIX) :]
        if kind == "telemetry":
            return await self._telemetry(document, qos)
        if kind == "connect":
            await self.child(_obj(document).get("device"), kind, _obj(document).get("type"))
            return _done(Ack())
        if kind == "disconnect":
            name = _obj(document).get("device")
            if isinstance(name, str):
                self._release(name)
            return _done(Ack())
        if kind == "attributes":
            return self.hub.spawn(self._attributes(document), self.session.auth, topic)
        if kind == "attributes/request":
            request = _obj(document)
            return self.hub.spawn(self._attribute_request(request), self.session.auth, topic)
        if kind == "rpc":
            request = _obj(document)
            child = await self.child(request.get("device"), kind)
            if child is not None:
                data = orjson.dumps(request.get("data"))
                self.hub.rpc_answered(child, str(request.get("id")), data)
            return _done(Ack())
        api = N_("{topic} is not a topic of the gateway API")
        return _done(self.hub.reject_topic(self.session.auth, topic, api))

    async def _telemetry(self, document: Any, qos: int) -> Awaitable[Ack]:
        batches: list[tuple[int, list[Point]]] = []
        for name, entries in _obj(document).items():
            child = await self.child(name, "telemetry")
            if child is not None:  # a refused device's entries are dropped, the others kept
                batches.append((child, await self.hub.telemetry_points(child, entries)))
        # Children share the gateway's connection and so its data point limit.
        refused = self.hub.admit_points(self.session.auth, sum(len(p) for _, p in batches), qos)
        if refused is not None:
            return _done(refused)
        outcomes = [await self.hub.submit_points(child, points) for child, points in batches]

        async def _all() -> Ack:
            for outcome in outcomes:
                ack = await outcome
                if ack.reason >= 0x80:
                    return ack
            return Ack()

        return _all()

    async def _attributes(self, document: Any) -> Ack:
        for name, values in _obj(document).items():
            child = await self.child(name, "attributes")
            if child is None:
                continue
            async with self.hub.db.session() as db:
                await DeviceService(db, self.hub.clock).put_attributes(
                    child, "client", parse_attributes(values)
                )
        return Ack()

    async def _attribute_request(self, request: dict[str, Any]) -> Ack:
        child = await self.child(request.get("device"), "attributes/request")
        if child is None:
            return Ack()  # nothing to answer about a device the gateway does not own
        keys = request.get("keys") or ([request["key"]] if "key" in request else None)
        if keys is not None and not isinstance(keys, list):
            raise BadPayload(N_("keys must be a list of attribute names"))
        found = await self.hub.read_attributes(child, None, None)
        values = found.get("client" if request.get("client") else "shared", {})
        if keys is not None:
            values = {k: v for k, v in values.items() if k in keys}
        answer: dict[str, Any] = {"id": request.get("id"), "device": request.get("device")}
        if "key" in request:
            answer["value"] = values.get(request["key"])
        else:
            answer["values"] = values
        await self.session.connection.push(PREFIX + "attributes/response", orjson.dumps(answer))
        return Ack()

    async def push_shared(self, name: str, values: dict[str, Any]) -> None:
        """Tell the gateway of a child's shared attribute update."""
        if self.session.subscribed(PREFIX + "attributes"):
            payload = orjson.dumps({"device": name, "data": values})
            await self.session.connection.push(PREFIX + "attributes", payload)

    async def rpc(self, name: str, request_id: str, method: str, params: Any) -> None:
        """Send a server-side RPC for a child device."""
        data = {"id": int(request_id), "method": method, "params": params}
        await self.session.connection.push(
            PREFIX + "rpc", orjson.dumps({"device": name, "data": data})
        )

    async def closed(self) -> None:
        """The gateway went away: its children are no longer reachable through it."""
        for child in self.children.values():
            self.hub.unroute_child(child, self)


def _obj(document: Any) -> dict[str, Any]:
    if not isinstance(document, dict):
        raise BadPayload(N_("expected a JSON object"))
    return document


def _done(ack: Ack) -> asyncio.Future[Ack]:
    future: asyncio.Future[Ack] = asyncio.get_running_loop().create_future()
    future.set_result(ack)
    return future
