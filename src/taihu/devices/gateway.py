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

Child devices are created on first mention, under the gateway's enterprise, linked to it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

import orjson

from taihu.devices.mqtt.transport import Ack
from taihu.devices.service import DeviceService
from taihu.devices.values import BadPayload, Point, parse_attributes, parse_telemetry

if TYPE_CHECKING:
    from taihu.devices.hub import DeviceSession

__all__ = ["GatewaySession"]

PREFIX = "v1/gateway/"


class GatewaySession:
    """The gateway side of a device session."""

    def __init__(self, session: DeviceSession) -> None:
        self.session = session
        self.hub = session.hub
        self.children: dict[str, int] = {}

    async def child(self, name: object, profile: object = None) -> int:
        """The id of a child device by name, created under the gateway's enterprise if new."""
        if not isinstance(name, str) or not name.strip():
            raise BadPayload("a child device needs a name")
        if name not in self.children:
            async with self.hub.db.session() as db:
                device = await DeviceService(db, self.hub.clock).child_device(
                    self.session.auth, name, profile if isinstance(profile, str) else None
                )
            self.children[name] = device.id
            self.hub.gateway_children[device.id] = (self, name)
        return self.children[name]

    async def publish(  # noqa: PLR0911
        self, topic: str, payload: bytes, qos: int = 1
    ) -> Awaitable[Ack]:
        """Handle one message on a gateway topic (one return per topic)."""
        document = self.hub.decode(payload)
        kind = topic[len(PREFIX) :]
        if kind == "telemetry":
            return await self._telemetry(document, qos)
        if kind == "connect":
            await self.child(_obj(document).get("device"), _obj(document).get("type"))
            return _done(Ack())
        if kind == "disconnect":
            name = _obj(document).get("device")
            if isinstance(name, str) and name in self.children:
                self.hub.gateway_children.pop(self.children.pop(name), None)
            return _done(Ack())
        if kind == "attributes":
            return self.hub.spawn(self._attributes(document), self.session.auth, topic)
        if kind == "attributes/request":
            request = _obj(document)
            return self.hub.spawn(self._attribute_request(request), self.session.auth, topic)
        if kind == "rpc":
            request = _obj(document)
            child = await self.child(request.get("device"))
            self.hub.rpc_answered(child, str(request.get("id")), orjson.dumps(request.get("data")))
            return _done(Ack())
        return _done(self.hub.reject_topic(self.session.auth, topic, "of the gateway API"))

    async def _telemetry(self, document: Any, qos: int) -> Awaitable[Ack]:
        now = self.hub.now_ms()
        batches: list[tuple[int, list[Point]]] = []
        for name, entries in _obj(document).items():
            batches.append((await self.child(name), parse_telemetry(entries, now)))
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
            child = await self.child(name)
            async with self.hub.db.session() as db:
                await DeviceService(db, self.hub.clock).put_attributes(
                    child, "client", parse_attributes(values)
                )
        return Ack()

    async def _attribute_request(self, request: dict[str, Any]) -> Ack:
        child = await self.child(request.get("device"))
        keys = request.get("keys") or ([request["key"]] if "key" in request else None)
        if keys is not None and not isinstance(keys, list):
            raise BadPayload("keys must be a list of attribute names")
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
            self.hub.gateway_children.pop(child, None)


def _obj(document: Any) -> dict[str, Any]:
    if not isinstance(document, dict):
        raise BadPayload("expected a JSON object")
    return document


def _done(ack: Ack) -> asyncio.Future[Ack]:
    future: asyncio.Future[Ack] = asyncio.get_running_loop().create_future()
    future.set_result(ack)
    return future
