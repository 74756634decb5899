"""HTTP routes of the device hub: registry, attributes, and ThingsBoard-compatible queries."""

from __future__ import annotations

from typing import Annotated, Any, Protocol

from fastapi import APIRouter, BackgroundTasks, Query, Request, status
from sqlalchemy.ext.asyncio import AsyncSession

from taihu.accounts import ERROR_RESPONSES, CurrentPrincipal, Principal
from taihu.core import N_, Id, InvalidInput, PageNumber, PageSize, reader_translation
from taihu.devices import device_api, query_api
from taihu.devices.children import ChildDevices
from taihu.devices.dependencies import Devices, Hub
from taihu.devices.rejects import reject_summary
from taihu.devices.schemas import (
    AttributeOut,
    AttributesIn,
    DeviceCreatedOut,
    DeviceCreateIn,
    DeviceGatewayIn,
    DeviceOut,
    DevicePage,
    ProfileCreateIn,
    ProfileOut,
    ProfileTimeoutIn,
    RejectOut,
    RejectsOut,
    TokenOut,
)
from taihu.devices.service import SCOPES

__all__ = ["LINKER_STATE", "IdentifierLinker", "router"]

router = APIRouter(tags=["devices"])
router.include_router(device_api.router)
router.include_router(query_api.router)
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    404: {"description": "No such device (or not visible to you)"},
}
# The app's state attribute with the ``IdentifierLinker`` that links a new device to the
# identifier it is registered with: set by the layer that assembles devices and nameplates
# (``web``), as devices know nothing of identifiers.
LINKER_STATE = "device_identifier_linker"


class IdentifierLinker(Protocol):
    """Links a device to its identifier in the request's unit of work (nameplates' checks)."""

    async def __call__(
        self,
        request: Request,
        session: AsyncSession,
        actor: Principal,
        device_id: int,
        identifier: str,
    ) -> None:
        """Link it, or raise the refusal (the request's unit of work is then rolled back)."""


@router.get(
    "/api/device-profiles",
    summary="List device profiles",
    description="Every signed-in user; profiles are shared by the whole platform.",
    response_model=list[ProfileOut],
    responses=ERROR_RESPONSES,
)
async def list_profiles(_principal: CurrentPrincipal, devices: Devices) -> list[ProfileOut]:
    return [ProfileOut.model_validate(p) for p in await devices.list_profiles()]


@router.post(
    "/api/device-profiles",
    summary="Define a device profile",
    description="Admin and bureau. Telemetry keys with units and types, retention in days, "
    "rate limits in ThingsBoard's `capacity:seconds,…` form.",
    status_code=status.HTTP_201_CREATED,
    response_model=ProfileOut,
    responses={**ERROR_RESPONSES, 409: {"description": "The name is taken"}},
)
async def create_profile(
    body: ProfileCreateIn, principal: CurrentPrincipal, devices: Devices
) -> ProfileOut:
    profile = await devices.create_profile(
        principal, body.name, description=body.description,
        telemetry_keys=[k.model_dump() for k in body.telemetry_keys],
        retention_days=body.retention_days, rate_limits=body.rate_limits,
        data_point_limits=body.data_point_limits, inactivity_timeout=body.inactivity_timeout,
    )  # fmt: skip
    return ProfileOut.model_validate(profile)


@router.put(
    "/api/device-profiles/{profile_id}/inactivity-timeout",
    summary="Set a profile's inactivity timeout",
    description="Admin and bureau. Seconds without data before the profile's devices count as "
    "inactive; `null` returns to the `TAIHU_ALARMS_INACTIVITY_TIMEOUT` setting.",
    response_model=ProfileOut,
    responses={**ERROR_RESPONSES, 404: {"description": "No such profile"}},
)
async def set_inactivity_timeout(
    profile_id: Id, body: ProfileTimeoutIn, principal: CurrentPrincipal, devices: Devices
) -> ProfileOut:
    profile = await devices.set_inactivity_timeout(principal, profile_id, body.inactivity_timeout)
    return ProfileOut.model_validate(profile)


@router.get(
    "/api/devices",
    summary="List devices",
    description="Enterprise users see their enterprises' devices; staff see every device.",
    response_model=DevicePage,
    responses=ERROR_RESPONSES,
)
async def list_devices(
    principal: CurrentPrincipal,
    devices: Devices,
    enterprise_id: Annotated[Id | None, Query(description="Only this enterprise")] = None,
    q: Annotated[str | None, Query(max_length=200, description="Name part")] = None,
    page: PageNumber = 1,
    page_size: PageSize = 50,
) -> DevicePage:
    rows, total = await devices.list_devices(
        principal, enterprise_id=enterprise_id, search=q, limit=page_size,
        offset=(page - 1) * page_size,
    )  # fmt: skip
    return DevicePage(
        items=[DeviceOut.model_validate(d) for d in rows],
        total=total,
        page=page,
        page_size=page_size,
    )


@router.post(
    "/api/devices",
    summary="Register a device",
    description="Admins and the enterprise's users. The access token is in the answer, once. "
    "With `identifier`, the device is linked to it as `PUT /api/devices/{device_id}/identifier` "
    "links it (the same checks and errors; nothing is registered when the link is refused).",
    status_code=status.HTTP_201_CREATED,
    response_model=DeviceCreatedOut,
    responses={
        **ERROR_RESPONSES,
        403: {"description": "Not the enterprise's, or the identifier is not under its prefix"},
        404: {"description": "No such enterprise, profile or handle"},
        409: {
            "description": "The enterprise has a device so named, or another device carries "
            "the identifier"
        },
    },
)
async def create_device(
    body: DeviceCreateIn, principal: CurrentPrincipal, devices: Devices, request: Request
) -> DeviceCreatedOut:
    issued = await devices.create(
        principal, body.enterprise_id, body.name, profile=body.profile, gateway=body.gateway
    )
    if body.identifier is not None:
        # Stored unchecked it would claim any identifier: only a link proves the device's.
        linker: IdentifierLinker | None = getattr(request.app.state, LINKER_STATE, None)
        if linker is None:
            raise InvalidInput(
                N_("register the device without an identifier, then link it with "
                   "PUT /api/devices/<id>/identifier"),
                code="identifier_not_linkable",
            )  # fmt: skip
        await linker(request, devices.session, principal, issued.device.id, body.identifier)
    return DeviceCreatedOut(
        device=DeviceOut.model_validate(issued.device), access_token=issued.token
    )


@router.get(
    "/api/devices/{device_id}",
    summary="One device",
    description="404 also when the caller may not see it.",
    response_model=DeviceOut,
    responses=_NOT_FOUND,
)
async def get_device(device_id: Id, principal: CurrentPrincipal, devices: Devices) -> DeviceOut:
    return DeviceOut.model_validate(await devices.get(principal, device_id))


@router.get(
    "/api/devices/{device_id}/rejects",
    summary="A device's refused messages",
    description="Messages the hub refused (malformed payload, unknown topic, rate limit, store "
    "unavailable …): a count by reason and the last 20, newest first. Written about a second "
    "after the refusal. Those who may read the device's data.",
    response_model=RejectsOut,
    responses=_NOT_FOUND,
)
async def get_rejects(device_id: Id, principal: CurrentPrincipal, devices: Devices) -> RejectsOut:
    await devices.get_for_data(principal, device_id)
    summary = await reject_summary(devices.session, device_id)
    translate = reader_translation()
    recent = [
        RejectOut(at=r.at, reason=r.reason, code=r.code, transport=r.transport, topic=r.topic,
                  detail=r.detail.render(translate), message_id=r.detail.id,
                  params=dict(r.detail.params))
        for r in summary["recent"]
    ]  # fmt: skip
    return RejectsOut.model_validate({**summary, "recent": recent})


@router.put(
    "/api/devices/{device_id}/gateway",
    summary="Move a device under a gateway (or detach it)",
    description="Admins and the enterprise's users. The gateway must be of the device's "
    "enterprise; the device then answers to the name it has under that gateway only, and the "
    "gateway it left can no longer write to it or receive its commands. Audited.",
    response_model=DeviceOut,
    responses={
        **_NOT_FOUND,
        409: {"description": "A device of that name is where the device would go"},
    },
)
async def set_gateway(
    device_id: Id,
    body: DeviceGatewayIn,
    principal: CurrentPrincipal,
    devices: Devices,
    hub: Hub,
    later: BackgroundTasks,
) -> DeviceOut:
    device = await ChildDevices(devices.session, devices.clock).move(
        principal, device_id, body.gateway_id
    )
    later.add_task(hub.forget_child, device_id)  # after the commit
    return DeviceOut.model_validate(device)


@router.post(
    "/api/devices/{device_id}/token",
    summary="Rotate a device's access token",
    description="Revokes every token of the device and answers a new one, once. Connected "
    "sessions using a revoked token are closed.",
    response_model=TokenOut,
    responses=_NOT_FOUND,
)
async def rotate_token(
    device_id: Id, principal: CurrentPrincipal, devices: Devices, hub: Hub, later: BackgroundTasks
) -> TokenOut:
    token = await devices.rotate_token(principal, device_id)
    later.add_task(hub.drop, device_id)  # after the commit, like every push below
    return TokenOut(access_token=token)


@router.delete(
    "/api/devices/{device_id}/token",
    summary="Revoke a device's access tokens",
    description="The device cannot connect until a new token is rotated in.",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=_NOT_FOUND,
)
async def revoke_token(
    device_id: Id, principal: CurrentPrincipal, devices: Devices, hub: Hub, later: BackgroundTasks
) -> None:
    await devices.revoke_tokens(principal, device_id)
    later.add_task(hub.drop, device_id)


@router.get(
    "/api/devices/{device_id}/attributes",
    summary="A device's attributes",
    description="Client, shared and server attributes (or one scope).",
    response_model=list[AttributeOut],
    responses=_NOT_FOUND,
)
async def get_attributes(
    device_id: Id,
    principal: CurrentPrincipal,
    devices: Devices,
    scope: Annotated[str | None, Query(pattern="^(client|shared|server)$")] = None,
) -> list[AttributeOut]:
    await devices.get_for_data(principal, device_id)
    return [
        AttributeOut(
            scope=a.scope,
            key=a.key,
            value=a.value,
            lastUpdateTs=int(a.updated_at.timestamp() * 1000),
        )
        for a in await devices.attributes(device_id, scope)
    ]


@router.post(
    "/api/devices/{device_id}/attributes/{scope}",
    summary="Set shared or server attributes",
    description=f"Scope is one of {', '.join(SCOPES[1:])}. Shared attributes are pushed to the "
    "device's subscribed sessions.",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=_NOT_FOUND,
)
async def set_attributes(
    device_id: Id,
    scope: str,
    body: AttributesIn,
    principal: CurrentPrincipal,
    devices: Devices,
    hub: Hub,
    later: BackgroundTasks,
) -> None:
    await devices.set_attributes(principal, device_id, scope, body.values)
    if scope == "shared":
        later.add_task(hub.push_shared, device_id, body.values)
