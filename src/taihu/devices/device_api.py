"""ThingsBoard's HTTP device API: the access token in the path, ThingsBoard's shapes.

A 200 means the data is stored. 401 for an unknown token; 400 for a malformed payload (nothing
of it is stored); 429 with Retry-After over the device's rate limit.
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

from taihu.core import InvalidInput, TooManyRequests, Unauthenticated
from taihu.devices.dependencies import Hub
from taihu.devices.hub import DeviceHub
from taihu.devices.service import DeviceAuth
from taihu.devices.values import BadPayload, parse_attributes, parse_telemetry

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
    400: {"description": "Malformed payload; nothing was stored"},
    401: {"description": "Unknown or revoked access token"},
    403: {"description": "Not used: the token is the only credential"},
    429: {"description": "Over the device's rate limit (Retry-After)"},
}


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


async def _device(hub: DeviceHub, token: str) -> DeviceAuth:
    auth = await hub.authenticate(token)
    if auth is None:
        raise Unauthenticated("unknown or revoked device access token", code="bad_device_token")
    return auth


async def _payload(request: Request, hub: DeviceHub, auth: DeviceAuth) -> Any:
    body = await request.body()
    try:
        document = hub.decode(body)  # again: the size limit applies to the raw bytes
    except BadPayload as exc:
        hub.reject_payload(auth, str(exc))
        raise InvalidInput(str(exc), code="bad_payload") from None
    if not hub.state(auth).limiter.take(time.monotonic()):
        hub.reject_rate(auth, 1)
        raise TooManyRequests(f"over the rate limit {auth.rate_limits}", retry_after=1)
    return document


@router.post(
    "/api/v1/{token}/telemetry",
    summary="Post telemetry (device API)",
    description="Any of ThingsBoard's shapes: `{k: v}`, `[{k: v}]`, `{ts, values}` and arrays "
    "of them. Answers once the points are stored.",
    responses=_RESPONSES,
)
async def post_telemetry(
    token: str,
    request: Request,
    hub: Hub,
    _body: TelemetryIn,
) -> None:
    auth = await _device(hub, token)
    document = await _payload(request, hub, auth)
    try:
        points = parse_telemetry(document, await hub.stamp(auth.device_id, document))
    except BadPayload as exc:
        hub.reject_payload(auth, str(exc))
        raise InvalidInput(str(exc), code="bad_payload") from None
    hub.stats.messages += 1
    if hub.admit_points(auth, len(points), 1) is not None:
        limit = auth.data_point_limits
        raise TooManyRequests(f"over the data point limit {limit}", retry_after=1)
    ack = await (await hub.submit_points(auth.device_id, points))
    if ack.reason >= 0x80:
        raise InvalidInput(ack.message or "not stored", code="not_stored")


@router.post(
    "/api/v1/{token}/attributes",
    summary="Post client attributes (device API)",
    description="A JSON object of attribute values reported by the device.",
    responses=_RESPONSES,
)
async def post_attributes(
    token: str,
    request: Request,
    hub: Hub,
    _body: AttributesPayload,
) -> None:
    auth = await _device(hub, token)
    document = await _payload(request, hub, auth)
    try:
        values = parse_attributes(document)
    except BadPayload as exc:
        hub.reject_payload(auth, str(exc))
        raise InvalidInput(str(exc), code="bad_payload") from None
    hub.stats.messages += 1
    await hub.store_client_attributes(auth, values)


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
