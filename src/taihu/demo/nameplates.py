"""Demo nameplates: the first enterprise's loom and meter carry identifiers of its own prefix.

The loom shares its state: resolving ``88.118.1/LOOM-01`` (REST, the Handle protocol, ``/r/…``)
gives a ``URL`` value to its public page with presence and latest values, while the meter's page
says only that it exists. The device list and the identifier pages link each other.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from taihu.accounts import Principal
from taihu.core import Database, FrozenClock
from taihu.devices import Device, DeviceService
from taihu.identifiers import Handle, HandleValue, IdentifierService
from taihu.nameplates import NameplateService

__all__ = ["NAMEPLATES", "seed_nameplates"]

# (device name, handle suffix, its record's values, whether its state is public)
NAMEPLATES: tuple[tuple[str, str, dict[str, str], bool], ...] = (
    ("织机-01", "LOOM-01", {"equipmentName": "织机-01", "equipmentType": "喷水织机",
                            "model": "ZW-408", "commissioned": "2024-05-20"}, True),
    ("电表-总进线", "METER-01", {"equipmentName": "电表-总进线", "equipmentType": "三相电能表",
                                 "model": "DTSD-341", "commissioned": "2023-09-01"}, False),
)  # fmt: skip


async def seed_nameplates(
    db: Database, enterprise_id: int, prefix: str, base_url: str, now: datetime
) -> list[str]:
    """Register and link the identifiers of an enterprise's demo devices; the handles linked."""
    system = Principal.system("demo")
    clock = FrozenClock(now)
    linked = []
    async with db.session() as session:
        identifiers = IdentifierService(session, clock)
        nameplates = NameplateService(session, identifiers, clock)
        registry = DeviceService(session, clock)
        for name, suffix, items, public in NAMEPLATES:
            device_id = await session.scalar(
                sa.select(Device.id).where(
                    Device.enterprise_id == enterprise_id, Device.name == name
                )
            )
            if device_id is None:  # that enterprise runs no such device
                continue
            handle = Handle(f"{prefix}/{suffix}")
            values = [
                HandleValue(index=2000 + n, type=key, data=value.encode())
                for n, (key, value) in enumerate(items.items())
            ]
            await identifiers.put(system, handle, values)
            await nameplates.link(system, device_id, handle.text, base_url)
            if public:
                await registry.set_public_state(system, device_id, public=True)
            linked.append(handle.text)
    return linked
