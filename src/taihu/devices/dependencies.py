"""FastAPI dependencies of the device hub's routes."""

from __future__ import annotations

from typing import Annotated, Any, Protocol

from fastapi import Depends, Request

from taihu.core import DbSession, RuntimeDep
from taihu.devices.hub import DeviceHub
from taihu.devices.service import DeviceService

__all__ = ["FLEET_STATE", "Devices", "Hub", "HubFigures", "get_hub", "hub_figures"]

# The app.state attribute of the bus's processes figures (``taihu.devices.fleet``), None without.
FLEET_STATE = "device_fleet"


class HubFigures(Protocol):
    """Where the hub overview comes from: this process's hub, or the processes of a cluster."""

    def overview(self) -> dict[str, Any]:
        """Figures for the hub overview."""
        ...


def get_hub(request: Request) -> DeviceHub:
    """The process's device hub (built with the application)."""
    hub: DeviceHub = request.app.state.device_hub
    return hub


def hub_figures(request: Request) -> HubFigures:
    """The overview across processes with a bus, else this process's hub."""
    fleet: HubFigures | None = getattr(request.app.state, FLEET_STATE, None)
    return fleet if fleet is not None else get_hub(request)


def _devices(session: DbSession, runtime: RuntimeDep) -> DeviceService:
    return DeviceService(session, runtime.clock)


Hub = Annotated[DeviceHub, Depends(get_hub)]
Devices = Annotated[DeviceService, Depends(_devices)]
