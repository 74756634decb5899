"""ThingsBoard's HTTP device API: the access token in the path, ThingsBoard's shapes.

A 200 (empty body, as ThingsBoard answers) means the data is stored. The token is checked before
the body is read: 401 for an unknown token, whatever the body. Then 413 for a body over the
payload limit (read no further than the limit); 400 for a malformed payload (nothing of it is
stored); 429 with Retry-After over the device's rate limit; 503 with Retry-After when the store
is unavailable (send again). Every refusal is recorded on the device, as over MQTT.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import ConfigDict, RootModel

from taihu.core import N_, InvalidInput, Message, TaihuError, TooManyRequests, Unauthenticated
from taihu.devices.dependencies import Hub
from taihu.devices.hub import DeviceHub
from taihu.devices.mqtt.reasons import Reason
from taihu.devices.service import DeviceAuth
from taihu.devices.values import BadPayload, parse_attributes

__all__ = ["router"]


class _DeviceRoute(APIRoute):
    """Answers a body that is not JSON with ThingsBoard's 400 rather than FastAPI's 422."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def _handle(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                first = exc.errors()[0] if exc.errors() else {}
                return JSONResponse(
                    {
                        "error": "bad_payload",
                        "message": f"payload is not valid JSON: {first.get('msg', '')}",
                    },
                    status_code=400,
                )

        return _handle


router = APIRouter(tags=["device API"], route_class=_DeviceRoute)
_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "Stored (an empty body, as ThingsBoard answers)", "content": {}},
    400: {
        "description": "Malformed payload, or more data points than the limit ever allows; "
        "nothing was stored"
    },
    401: {"description": "Unknown or revoked access token (checked before the body is read)"},
    403: {"description": "Not used: the token is the only credential"},
    413: {"description": "The body is over the payload limit (TAIHU_MQTT_MAX_PACKET_SIZE)"},
    429: {"description": "Over the device's rate limit (Retry-After)"},
    503: {"description": "The store is unavailable; nothing was stored, send again (Retry-After)"},
}


class PayloadTooLarge(TaihuError):
    """The body is over the payload limit."""

    status = 413
    default_code = "payload_too_large"


class NotStored(TooManyRequests):  # a TooManyRequests for its Retry-After header
    """The store is unavailable for now: nothing was stored, send again."""

    status = 503
    default_code = "not_stored"


class TelemetryIn(RootModel[Any]):
    """Telemetry in any of ThingsBoard's shapes (checked by the hub, not by the schema)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"temperature": 21.5, "running": True},
                {"ts": 1764057600000, "values": {"temperature": 21.5}},
                [{"ts": 1764057600000, "values": {"speed": 1200}}],
            ]
        }
    )


class AttributesPayload(RootModel[Any]):
    """Client attributes: a JSON object of key: value."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"firmware": "1.4.2", "model": "DTSU666"}]}
    )


def _body_schema(model: type[RootModel[Any]]) -> dict[str, Any]:
    # The body is read by the handler (after the token, within the limit), not by FastAPI:
    # its shape is documented here instead.
    schema = model.model_json_schema()
    return {"requestBody": {"required": True,
                            "content": {"application/json": {"schema": schema}}}}  # fmt: skip


async def _device(hub: DeviceHub, token: str) -> DeviceAuth:
    auth = await hub.authenticate(token)
    if auth is None:
        raise Unauthenticated(N_("unknown or revoked device access token"), code="bad_device_token")
    return auth


async def _read(request: Request, hub: DeviceHub, auth: DeviceAuth) -> bytes:
    """The body, refused as soon as it is known to be over the limit."""
    limit = hub.settings.max_packet_size
    declared = request.headers.get("content-length", "")
    size = int(declared) if declared.isdigit() else 0
    body = bytearray()
    if size <= limit:
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                size = len(body)
                break
    if size > limit or len(body) > limit:
        message = Message(N_("payload over the limit of {limit} bytes"), limit=limit)
        hub.refuse(auth, "too_large", Reason.PACKET_TOO_LARGE, message, transport="http",
                   topic=request.url.path.rsplit("/", 1)[-1])  # fmt: skip
        raise PayloadTooLarge(message.id, limit=limit)
    return bytes(body)


def _refused(hub: DeviceHub, auth: DeviceAuth, exc: BadPayload, topic: str) -> InvalidInput:
    """Record a malformed payload; the 400 that tells the device.

    In English unless the device's ``Accept-Language`` asks for Chinese, as every API error.
    """
    hub.reject_payload(auth, exc.message, topic=topic, transport="http")
    return InvalidInput(exc.message.id, code="bad_payload", **exc.message.params)


async def _payload(request: Request, hub: DeviceHub, auth: DeviceAuth) -> Any:
    body = await _read(request, hub, auth)
    topic = request.url.path.rsplit("/", 1)[-1]
    try:
        document = hub.decode(body)
    except BadPayload as exc:
        raise _refused(hub, auth, exc, topic) from None
    if not hub.state(auth).limiter.take(time.monotonic()):
        hub.reject_rate(auth, 1, topic=topic, transport="http")
        raise TooManyRequests(
            N_("over the rate limit {rate_limits}"), rate_limits=auth.rate_limits, retry_after=1
        )
    return document


@router.post(
    "/api/v1/{token}/telemetry",
    summary="Post telemetry (device API)",
    description="Any of ThingsBoard's shapes: `{k: v}`, `[{k: v}]`, `{ts, values}` and arrays "
    "of them. Answers once the points are stored.",
    responses=_RESPONSES,
    response_class=Response,
    openapi_extra=_body_schema(TelemetryIn),
)
async def post_telemetry(token: str, request: Request, hub: Hub) -> Response:
    auth = await _device(hub, token)
    document = await _payload(request, hub, auth)
    try:
        points = await hub.telemetry_points(auth.device_id, document)
    except BadPayload as exc:
        raise _refused(hub, auth, exc, "telemetry") from None
    hub.stats.messages += 1
    refused = hub.admit_points(auth, len(points), 1, topic="telemetry", transport="http")
    if refused is not None:
        template = N_("over the data point limit {limits} ({count} in this message)")
        limits, count = auth.data_point_limits, len(points)
        if not refused.transient:  # more points than the limit ever allows
            raise InvalidInput(template, code="too_many_points", limits=limits, count=count)
        raise TooManyRequests(template, retry_after=1, limits=limits, count=count)
    ack = await (await hub.submit_points(auth.device_id, points, "http"))
    if ack.reason >= 0x80:
        # The device reads the code and Retry-After; the sentence is in its Accept-Language.
        raise NotStored(ack.why or Message(N_("not stored")), retry_after=1)
    return Response()


@router.post(
    "/api/v1/{token}/attributes",
    summary="Post client attributes (device API)",
    description="A JSON object of attribute values reported by the device.",
    responses=_RESPONSES,
    response_class=Response,
    openapi_extra=_body_schema(AttributesPayload),
)
async def post_attributes(token: str, request: Request, hub: Hub) -> Response:
    auth = await _device(hub, token)
    document = await _payload(request, hub, auth)
    try:
        values = parse_attributes(document)
    except BadPayload as exc:
        raise _refused(hub, auth, exc, "attributes") from None
    hub.stats.messages += 1
    try:
        await hub.store_client_attributes(auth, values)
    except (OSError, TimeoutError) as exc:  # the database or the message bus is away
        raise NotStored(Message(N_("not stored: {error}"), error=str(exc)), retry_after=1) from None
    return Response()


@router.get(
    "/api/v1/{token}/attributes",
    summary="Read attributes (device API)",
    description="`clientKeys` and `sharedKeys` are comma-separated; without either, all of "
    'both scopes. Answers `{"client": {…}, "shared": {…}}`.',
    responses=_RESPONSES,
)
async def get_attributes(
    token: str,
    hub: Hub,
    clientKeys: Annotated[str | None, Query(max_length=4000)] = None,  # noqa: N803 - TB's name
    sharedKeys: Annotated[str | None, Query(max_length=4000)] = None,  # noqa: N803 - TB's name
) -> dict[str, dict[str, Any]]:
    auth = await _device(hub, token)
    return await hub.read_attributes(auth.device_id, clientKeys, sharedKeys)
