"""HTTP routes of device nameplates: link a device to its identifier, share its state."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from taihu.accounts import ERROR_RESPONSES, CurrentPrincipal, Principal
from taihu.core import DbSession, Id, RuntimeDep, get_runtime
from taihu.devices import DeviceService
from taihu.identifiers import Handle, Resolver, identifier_service
from taihu.nameplates.schemas import IdentifierIn, NameplateOut, PublicDeviceOut, PublicStateIn
from taihu.nameplates.service import NameplateService

__all__ = ["base_url", "forget_resolved", "link_new_device", "router"]

router = APIRouter(tags=["devices"])
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    404: {"description": "No such device (or not visible to you), or no such handle"},
}


def _nameplates(session: DbSession, runtime: RuntimeDep) -> NameplateService:
    return NameplateService(session, identifier_service(session, runtime), runtime.clock)


Nameplates = Annotated[NameplateService, Depends(_nameplates)]


def forget_resolved(request: Request, handle: str | None) -> None:
    """Drop a handle from this process's resolver cache (other processes read the change log)."""
    resolver: Resolver | None = getattr(request.app.state, "identifier_resolver", None)
    if resolver is not None and handle:
        resolver.invalidate(Handle(handle).key)


def base_url(request: Request) -> str:
    """The address this request reached the platform at (the proxy's when it is trusted)."""
    return str(request.base_url).rstrip("/")


async def link_new_device(
    request: Request, session: AsyncSession, actor: Principal, device_id: int, identifier: str
) -> None:
    """Link a device registered with an identifier (``POST /api/devices``): the same checks."""
    nameplates = _nameplates(session, get_runtime(request))
    device = await nameplates.link(actor, device_id, identifier, base_url(request))
    forget_resolved(request, device.identifier)


@router.put(
    "/api/devices/{device_id}/identifier",
    summary="Link a device to its identifier",
    description="Admins and the device's enterprise's users. The identifier must be a registered "
    "handle under a prefix of the device's enterprise; its record gets a `URL` value pointing at "
    "the device's public page (removed again with `null`). 403 `identifier_not_owned`, 409 "
    "`identifier_linked` when another device carries it.",
    response_model=NameplateOut,
    responses={**_NOT_FOUND, 409: {"description": "Another device carries the identifier"}},
)
async def set_identifier(
    device_id: Id,
    body: IdentifierIn,
    principal: CurrentPrincipal,
    nameplates: Nameplates,
    request: Request,
) -> NameplateOut:
    before = (await nameplates.devices.get(principal, device_id)).identifier
    if body.identifier is None:
        device = await nameplates.unlink(principal, device_id)
    else:
        device = await nameplates.link(principal, device_id, body.identifier, base_url(request))
    forget_resolved(request, before)
    forget_resolved(request, device.identifier)
    return NameplateOut.model_validate(device)


@router.put(
    "/api/devices/{device_id}/public-state",
    summary="Share a device's state with whoever resolves its identifier",
    description="Admins and the device's enterprise's users. Off by default: the public page "
    "then says only that the device exists.",
    response_model=NameplateOut,
    responses=_NOT_FOUND,
)
async def set_public_state(
    device_id: Id, body: PublicStateIn, principal: CurrentPrincipal, session: DbSession,
    runtime: RuntimeDep,
) -> NameplateOut:  # fmt: skip
    device = await DeviceService(session, runtime.clock).set_public_state(
        principal, device_id, body.public_state
    )
    return NameplateOut.model_validate(device)


@router.get(
    "/api/public/devices/{device_id}",
    summary="A device as its identifier shows it",
    description="No sign-in. Only devices that carry an identifier; name, enterprise, presence "
    "and latest telemetry only when the owner made the state public.",
    response_model=PublicDeviceOut,
    response_model_exclude_none=True,
    responses={404: {"description": "No such device, or it carries no identifier"}},
)
async def public_device(
    device_id: Id, nameplates: Nameplates, runtime: RuntimeDep
) -> PublicDeviceOut:
    view = await nameplates.public(runtime.db, device_id)
    return PublicDeviceOut.model_validate(asdict(view))
