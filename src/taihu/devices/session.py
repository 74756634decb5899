"""One device's MQTT session: the device API (ThingsBoard's), routed by topic.

    topic (device → hub)                          what happens
    v1/devices/me/telemetry                        points → ingest queue → PUBACK when stored
    v1/devices/me/attributes                       client attributes stored → PUBACK
    v1/devices/me/attributes/request/{id}          answer on v1/devices/me/attributes/response/{id}
    v1/devices/me/rpc/request/{id}                 client-side RPC (getSessionLimits, …)
    v1/devices/me/rpc/response/{id}                the answer to a server-side RPC
    v1/gateway/…                                   gateways only: see taihu.devices.gateway

    topic (hub → device, after SUBSCRIBE)
    v1/devices/me/attributes                       shared attribute updates
    v1/devices/me/rpc/request/{id}                 server-side RPC (see taihu.devices.downlink)

A message the API refuses is answered as ``taihu.devices.refusals`` says.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from taihu.core import N_, Message
from taihu.devices.limits import RateLimiter
from taihu.devices.mqtt.codec import Publish, Subscription, topic_matches
from taihu.devices.mqtt.reasons import Reason
from taihu.devices.mqtt.transport import Ack, Connection, Oversize
from taihu.devices.values import BadPayload, parse_attributes

if TYPE_CHECKING:
    from taihu.devices.gateway import GatewaySession
    from taihu.devices.hub import DeviceHub
    from taihu.devices.service import DeviceAuth

__all__ = [
    "ATTRIBUTES",
    "ATTR_REQUEST",
    "ATTR_RESPONSE",
    "RPC_REQUEST",
    "RPC_RESPONSE",
    "TELEMETRY",
    "DeviceSession",
    "DeviceState",
    "HubStats",
    "settled",
]

ME = "v1/devices/me/"
TELEMETRY = ME + "telemetry"
ATTRIBUTES = ME + "attributes"
ATTR_REQUEST = ME + "attributes/request/"
ATTR_RESPONSE = ME + "attributes/response/"
RPC_REQUEST = ME + "rpc/request/"
RPC_RESPONSE = ME + "rpc/response/"
_RECENT_ERRORS = 20


@dataclass(slots=True)
class HubStats:
    """Counters of the hub since it started."""

    messages: int = 0
    rejected: int = 0
    connections: int = 0
    refused: int = 0


@dataclass(slots=True)
class DeviceState:
    """What the hub knows about one device while it runs."""

    limiter: RateLimiter  # messages
    points: RateLimiter  # telemetry data points
    malformed: int = 0
    rate_limited: int = 0
    refused_children: int = 0  # gateway items for devices the gateway does not own
    last_activity: float = 0.0
    errors: deque[tuple[float, str]] = field(default_factory=lambda: deque(maxlen=_RECENT_ERRORS))


def settled(ack: Ack) -> asyncio.Future[Ack]:
    """A future already resolved to ``ack`` (the answer of a message handled at once)."""
    future: asyncio.Future[Ack] = asyncio.get_running_loop().create_future()
    future.set_result(ack)
    return future


class DeviceSession:
    """One MQTT connection of an authenticated device (or gateway)."""

    def __init__(self, hub: DeviceHub, auth: DeviceAuth, connection: Connection) -> None:
        self.hub = hub
        self.auth = auth
        self.connection = connection
        self.filters: set[str] = set()
        self.gateway: GatewaySession | None = None

    def subscribed(self, topic: str) -> bool:
        """Whether the client subscribed to a topic."""
        return any(topic_matches(f, topic) for f in self.filters)

    async def publish(self, packet: Publish) -> Awaitable[Ack]:  # noqa: PLR0911 - by topic
        """Route a message by topic (see the module docstring)."""
        hub, topic = self.hub, packet.topic
        hub.stats.messages += 1
        state = hub.state(self.auth)
        state.last_activity = time.time()
        if not state.limiter.take(time.monotonic()):
            return settled(hub.reject_rate(self.auth, packet.qos, topic=topic))
        try:
            if topic == TELEMETRY:
                return await hub.submit_telemetry(self.auth, packet.payload, packet.qos)
            if topic == ATTRIBUTES:
                values = parse_attributes(hub.decode(packet.payload))
                return hub.spawn(hub.store_client_attributes(self.auth, values), self.auth, topic)
            if topic.startswith(ATTR_REQUEST):
                request = hub.decode(packet.payload)
                request_id = topic[len(ATTR_REQUEST) :]
                return hub.spawn(self._attribute_request(request_id, request), self.auth, topic)
            if topic.startswith(RPC_RESPONSE):
                hub.rpc_answered(self.auth.device_id, topic[len(RPC_RESPONSE) :], packet.payload)
                return settled(Ack())
            if topic.startswith(RPC_REQUEST):
                request = hub.decode(packet.payload)
                return settled(await self._client_rpc(topic[len(RPC_REQUEST) :], request))
            if topic.startswith("v1/gateway/") and self.gateway is not None:
                return await self.gateway.publish(topic, packet.payload, packet.qos)
        except BadPayload as exc:
            return settled(hub.reject_payload(self.auth, exc.message, topic=topic))
        except Exception as exc:
            # Raised here, it would end the connection unacknowledged: the client would send
            # the message again on every reconnect, and nothing after it would get through.
            return settled(hub.failed(self.auth, topic, exc))
        return settled(
            hub.reject_topic(self.auth, topic, N_("{topic} is not a topic of the device API"))
        )

    async def too_large(self, packet: Oversize, limit: int) -> Ack:
        """A message over the maximum packet size: recorded, answered 0x97 (permanent).

        MQTT 5 would have the server DISCONNECT with 0x95, but clients that ignore the limit
        the CONNACK announced (paho) then send it again on every reconnect: a PUBACK ends it.
        """
        message = Message(N_("packet of {size} bytes exceeds the maximum of {limit}"),
                          size=packet.size, limit=limit)  # fmt: skip
        code = Reason.PACKET_TOO_LARGE if packet.qos == 0 else Reason.QUOTA_EXCEEDED
        return self.hub.refuse(self.auth, "too_large", code, message, topic=packet.topic)

    async def _attribute_request(self, request_id: str, request: Any) -> Ack:
        if not isinstance(request, dict):
            raise BadPayload(N_('an attribute request is {"clientKeys": "a,b", "sharedKeys": "c"}'))
        answer = await self.hub.read_attributes(
            self.auth.device_id, request.get("clientKeys"), request.get("sharedKeys")
        )
        await self.connection.push(ATTR_RESPONSE + request_id, orjson.dumps(answer))
        return Ack()

    async def _client_rpc(self, request_id: str, request: Any) -> Ack:
        if not isinstance(request, dict) or not isinstance(request.get("method"), str):
            raise BadPayload(N_('a client-side RPC is {"method": "…", "params": …}'))
        method = request["method"]
        result: Any
        if method == "getSessionLimits":
            result = self.hub.session_limits(self.auth)
        elif method == "getCurrentTime":
            result = {"currentTime": self.hub.now_ms()}
        else:
            result = {"error": f"unknown method {method!r}"}
        await self.connection.push(RPC_RESPONSE + request_id, orjson.dumps(result))
        return Ack()

    async def subscribe(self, subscriptions: tuple[Subscription, ...]) -> list[int]:
        """Grant the device API's topics (QoS 0 or 1), refuse others."""
        granted = []
        for s in subscriptions:
            if s.topic_filter.startswith(("v1/devices/me/", "v1/gateway/")):
                self.filters.add(s.topic_filter)
                granted.append(min(s.qos, 1))
            else:
                granted.append(Reason.NOT_AUTHORIZED)
        return granted

    async def unsubscribe(self, topic_filters: tuple[str, ...]) -> None:
        """Forget subscriptions."""
        self.filters.difference_update(topic_filters)

    async def closed(self) -> None:
        """Leave the hub's registry."""
        self.hub.unregister(self)
        if self.gateway is not None:
            await self.gateway.closed()
