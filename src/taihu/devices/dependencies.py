"""FastAPI dependencies of the device hub's routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from taihu.core import DbSession, RuntimeDep
from taihu.devices.hub import DeviceHub
from taihu.devices.service import DeviceService

__all__ = ["Devices", "Hub", "get_hub"]


def get_hub(request: Request) -> DeviceHub:
    """The process's device hub (built with the application)."""
    hub: DeviceHub = request.app.state.device_hub
    return hub


def _devices(session: DbSession, runtime: RuntimeDep) -> DeviceService:
    return DeviceService(session, runtime.clock)


Hub = Annotated[DeviceHub, Depends(get_hub)]
Devices = Annotated[DeviceService, Depends(_devices)]
