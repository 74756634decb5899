"""ThingsBoard-compatible telemetry queries, server-side RPC, and the hub's figures."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from taihu.accounts import ERROR_RESPONSES, CurrentPrincipal, Principal, Role
from taihu.core import MAX_MILLIS, N_, Conflict, Id, InvalidInput, Millis, NotFound, TaihuError
from taihu.devices.dependencies import Devices, Hub, hub_figures
from taihu.devices.hub import DeviceHub
from taihu.devices.service import DeviceService
from taihu.devices.tsdb import AGGREGATIONS, Aggregation

__all__ = ["router"]

router = APIRouter(tags=["telemetry"])
_RESPONSES: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    404: {"description": "No such device (or not visible to you)"},
}
_MAX_BUCKETS = 10_000


class RpcIn(BaseModel):
    """A server-side RPC call."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"method": "setSpeed", "params": {"rpm": 1200}, "timeout": 5000}]
        }
    )

    method: str = Field(min_length=1, max_length=200)
    params: Any = None
    timeout: int = Field(default=10_000, ge=100, le=60_000, description="Milliseconds")


def _keys(keys: str) -> list[str]:
    wanted = [k.strip() for k in keys.split(",") if k.strip()]
    if not wanted:
        raise InvalidInput(N_("keys: give at least one key"), code="bad_keys")
    return wanted


def _series(samples: dict[str, Any], strict: bool) -> dict[str, list[dict[str, Any]]]:
    # ThingsBoard answers values as strings unless useStrictDataTypes=true: a JSON value as
    # compact JSON text (as Jackson writes it), a boolean as true/false.
    def shown(v: Any) -> Any:
        if strict or isinstance(v, str):
            return v
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, dict | list):
            return orjson.dumps(v).decode()
        return str(v)

    return {k: [{"ts": s.ts, "value": shown(s.value)} for s in v] for k, v in samples.items()}


@router.get(
    "/api/plugins/telemetry/DEVICE/{device_id}/values/timeseries",
    summary="Time series of a device (ThingsBoard)",
    description="Without `startTs`/`endTs`: the latest values. With them: raw points (agg=NONE, "
    "at most `limit` per key, newest first unless orderBy=ASC) or one aggregate per `interval` "
    "ms (AVG, MIN, MAX, SUM, COUNT; stamped with the middle of the interval). "
    "Admins and the device's enterprise.",
    responses=_RESPONSES,
)
async def timeseries(
    device_id: Id,
    principal: CurrentPrincipal,
    devices: Devices,
    hub: Hub,
    keys: Annotated[str | None, Query(max_length=4000)] = None,
    startTs: Millis | None = None,  # noqa: N803 - ThingsBoard's names
    endTs: Millis | None = None,  # noqa: N803
    interval: Annotated[int, Query(ge=0, le=MAX_MILLIS)] = 0,
    agg: Annotated[str, Query(pattern="^(AVG|MIN|MAX|SUM|COUNT|NONE)$")] = "NONE",
    limit: Annotated[int, Query(ge=1, le=50_000)] = 100,
    orderBy: Annotated[str, Query(pattern="^(ASC|DESC)$")] = "DESC",  # noqa: N803
    useStrictDataTypes: bool = False,  # noqa: N803
) -> dict[str, list[dict[str, Any]]]:
    await devices.get_for_data(principal, device_id)
    wanted = _keys(keys) if keys else None
    if startTs is None or endTs is None:
        return _series(
            {k: [s] for k, s in (await hub.store.latest(device_id, wanted)).items()},
            useStrictDataTypes,
        )
    if endTs <= startTs:
        raise InvalidInput(N_("endTs must be after startTs"), code="bad_range")
    wanted = wanted or await hub.store.keys(device_id)
    if agg == "NONE":
        found = await hub.store.raw(
            device_id, wanted, startTs, endTs, limit=limit, descending=orderBy == "DESC"
        )
        return _series(found, useStrictDataTypes)
    if interval <= 0:
        raise InvalidInput(N_("an aggregation needs interval (ms) > 0"), code="bad_interval")
    if (endTs - startTs) / interval > _MAX_BUCKETS:
        raise InvalidInput(
            N_("at most {max_buckets} intervals per query"),
            max_buckets=_MAX_BUCKETS,
            code="bad_interval",
        )
    aggregation: Aggregation = AGGREGATIONS[AGGREGATIONS.index(agg)]
    found = await hub.store.aggregate([device_id], wanted, startTs, endTs, interval, aggregation)
    return _series(found, useStrictDataTypes)


@router.get(
    "/api/plugins/telemetry/DEVICE/{device_id}/keys/timeseries",
    summary="Telemetry keys of a device (ThingsBoard)",
    description="The keys the device has reported.",
    responses=_RESPONSES,
)
async def timeseries_keys(
    device_id: Id, principal: CurrentPrincipal, devices: Devices, hub: Hub
) -> list[str]:
    await devices.get_for_data(principal, device_id)
    return await hub.store.keys(device_id)


@router.get(
    "/api/telemetry/aggregate",
    summary="A key aggregated across devices",
    description="One aggregate per interval over every device of an enterprise (and profile). "
    "Bureau, auditors and admins for any enterprise; enterprise users for their own. For the "
    "operation monitor (e.g. an enterprise's total power).",
    responses=ERROR_RESPONSES,
)
async def aggregate_across(
    principal: CurrentPrincipal,
    devices: Devices,
    hub: Hub,
    enterprise_id: Id,
    key: Annotated[str, Query(min_length=1, max_length=255)],
    startTs: Millis,  # noqa: N803
    endTs: Millis,  # noqa: N803
    interval: Annotated[int, Query(gt=0, le=MAX_MILLIS)],
    agg: Annotated[str, Query(pattern="^(AVG|MIN|MAX|SUM|COUNT)$")] = "SUM",
    profile_id: Id | None = None,
) -> dict[str, list[dict[str, Any]]]:
    if not principal.can_see_enterprise(enterprise_id):
        raise NotFound(
            N_("no enterprise {enterprise_id}"),
            enterprise_id=enterprise_id,
            code="enterprise_not_found",
        )
    if endTs <= startTs or (endTs - startTs) / interval > _MAX_BUCKETS:
        raise InvalidInput(N_("bad range or too many intervals"), code="bad_range")
    rows, _ = await devices.list_devices(principal, enterprise_id=enterprise_id, limit=100_000)
    ids = [d.id for d in rows if profile_id is None or d.profile_id == profile_id]
    aggregation: Aggregation = AGGREGATIONS[AGGREGATIONS.index(agg)]
    found = await hub.store.aggregate(ids, [key], startTs, endTs, interval, aggregation)
    return _series(found, strict=True)


class DeviceTimeout(TaihuError):
    """The device did not answer a two-way RPC within its timeout."""

    status = 504  # as ThingsBoard answers a two-way RPC nobody answered
    default_code = "device_timeout"


@router.post(
    "/api/plugins/rpc/twoway/{device_id}",
    summary="Call a method on a device and wait (ThingsBoard)",
    description="Sends `{method, params}` on `v1/devices/me/rpc/request/{id}` and answers the "
    "device's response. 409 when the device is not connected; 504 on timeout.",
    responses={
        **_RESPONSES,
        409: {"description": "Device not connected"},
        504: {"description": "The device did not answer within the timeout"},
    },
)
async def rpc_twoway(
    device_id: Id, body: RpcIn, principal: CurrentPrincipal, devices: Devices, hub: Hub
) -> Any:
    return await _rpc(device_id, body, principal, devices, hub, oneway=False)


@router.post(
    "/api/plugins/rpc/oneway/{device_id}",
    summary="Send a method call to a device (ThingsBoard)",
    description="Like two-way, without waiting for an answer.",
    responses={**_RESPONSES, 409: {"description": "Device not connected"}},
)
async def rpc_oneway(
    device_id: Id, body: RpcIn, principal: CurrentPrincipal, devices: Devices, hub: Hub
) -> None:
    await _rpc(device_id, body, principal, devices, hub, oneway=True)


async def _rpc(
    device_id: Id,
    body: RpcIn,
    principal: Principal,
    devices: DeviceService,
    hub: DeviceHub,
    *,
    oneway: bool,
) -> Any:
    device = await devices.get(principal, device_id)
    principal.require_enterprise(device.enterprise_id)
    try:
        return await hub.rpc(
            device_id, body.method, body.params, wait=body.timeout / 1000, oneway=oneway
        )
    except LookupError as exc:
        raise Conflict(str(exc), code="device_offline") from None
    except TimeoutError:
        raise DeviceTimeout(N_("the device did not answer in time")) from None


_OVERVIEW_EXAMPLE = {
    "connected_devices": 1, "sessions": 1, "messages": 360, "messages_per_second": 0.5,
    "rejected": 0, "refused_connections": 0, "points_written": 360, "pending_points": 0,
    "malformed_by_device": {}, "mqtt_port": 1883, "partial": False,
    "processes": [
        {"id": "4711-9f1c2a7b", "host": "node-1", "pid": 4711, "roles": ["api", "ingest"],
         "this": True, "connected_devices": 0, "sessions": 0, "messages": 0,
         "messages_per_second": 0.0, "rejected": 0, "points_written": 360, "pending_points": 0,
         "mqtt_port": None, "last_seen": "2026-12-07T09:00:00+00:00"},
        {"id": "5120-03be77d1", "host": "node-2", "pid": 5120, "roles": ["transport"],
         "this": False, "connected_devices": 1, "sessions": 1, "messages": 360,
         "messages_per_second": 0.5, "rejected": 0, "points_written": 0, "pending_points": 0,
         "mqtt_port": 1883, "last_seen": "2026-12-07T08:59:58.412000+00:00"},
    ],
}  # fmt: skip


@router.get(
    "/api/device-hub",
    summary="Device hub figures",
    description="Connected devices, messages, messages per second, rejected messages and "
    "connections, points written. With a message bus (`TAIHU_CLUSTER_NATS_URLS`) the figures "
    "are summed over the live processes of the cluster, each listed in `processes`, and "
    "`partial` tells that the others' figures could not be read lately; without one they are "
    "this process's and neither key is present. Staff roles.",
    responses={
        **ERROR_RESPONSES,
        200: {"content": {"application/json": {"example": _OVERVIEW_EXAMPLE}}},
    },
)
async def hub_overview(principal: CurrentPrincipal, request: Request) -> dict[str, Any]:
    principal.require_role(Role.BUREAU, Role.AUDITOR)
    return hub_figures(request).overview()
