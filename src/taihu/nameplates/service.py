"""A device's nameplate: its Handle identifier, linked both ways, and what resolving it shows.

    device.identifier ──────────────► handle record (of the device's enterprise's prefix)
          ▲                                   │ URL value (written through registration)
          └──── /public/devices/{id} ◄────────┘ latest telemetry only if device.public_state

Devices and identifiers are contexts of one layer and know nothing of each other; this context
sits above both and keeps the two sides consistent in one unit of work.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from taihu.accounts import Principal, record_audit
from taihu.alarms import AlarmService
from taihu.core import (
    N_,
    Clock,
    Conflict,
    Database,
    InvalidInput,
    NotFound,
    PermissionDenied,
    SystemClock,
)
from taihu.devices import Device, DeviceService, store_for
from taihu.enterprises import Enterprise
from taihu.identifiers import HandleValue, IdentifierService, parse_handle

__all__ = ["LINK_INDEX_FROM", "NameplateService", "PublicDevice", "public_path"]

# Link values go at the first free index from here, clear of the indexes templates use (1-99).
LINK_INDEX_FROM = 100


def public_path(device_id: int) -> str:
    """The path of a device's public page, the target of its identifier's URL value."""
    return f"/public/devices/{device_id}"


@dataclass(frozen=True, slots=True)
class PublicDevice:
    """What anyone may see of a device reached through its identifier."""

    id: int
    identifier: str
    public_state: bool
    # Only when the owner shares the state:
    name: str | None = None
    enterprise: str | None = None
    presence: str | None = None
    telemetry: dict[str, dict[str, Any]] | None = None  # key -> {"ts": ms, "value": …}


class NameplateService:
    """Link devices and identifiers within one unit of work."""

    def __init__(
        self, session: AsyncSession, identifiers: IdentifierService, clock: Clock | None = None
    ) -> None:
        self.session = session
        self.identifiers = identifiers
        self.clock = clock or SystemClock()
        self.devices = DeviceService(session, self.clock)

    async def link(self, actor: Principal, device_id: int, text: str, base_url: str) -> Device:
        """Give a device an identifier of its own enterprise's prefix; the record links back."""
        device = await self.devices.get(actor, device_id)
        actor.require_enterprise(device.enterprise_id)
        handle = parse_handle(text.strip())
        prefix = await self.identifiers.get_prefix(handle.prefix)
        if prefix.enterprise_id != device.enterprise_id:
            raise PermissionDenied(
                N_("identifier {handle} is not under a prefix of the device's enterprise"),
                handle=handle.text,
                code="identifier_not_owned",
            )
        row = await self.identifiers.get_row(handle)
        if row is None:
            raise NotFound(
                N_("handle {handle} not found"), code="handle_not_found", handle=handle.text
            )
        claims = await self.session.scalars(
            sa.select(Device).where(Device.identifier == row.handle, Device.id != device.id)
        )
        other = None
        for claim in claims:  # an unverified claim (see _verified) blocks nothing
            if await self._verified(claim):
                other = claim.id
                break
        if other is not None:
            raise Conflict(
                N_("identifier {handle} is linked to device {device_id} already"),
                handle=row.handle,
                device_id=other,
                code="identifier_linked",
            )
        before = device.identifier
        if before is not None and before != row.handle:
            await self._remove_link(actor, device, before)
        # Also when the device stored this identifier unchecked, before links were made here.
        if before != row.handle or not await self._verified(device):
            values = await self.identifiers.values(handle)
            taken = {v.index for v in values}
            index = LINK_INDEX_FROM
            while index in taken:
                index += 1
            url = f"{base_url.rstrip('/')}{public_path(device.id)}"
            link = HandleValue(index=index, type="URL", data=url.encode())
            await self.identifiers.put(actor, handle, [link], indexes=[index])
        device.identifier = row.handle
        await self.session.flush()
        await record_audit(
            self.session, actor, "device.identifier_set", "device", device.id,
            before={"identifier": before}, after={"identifier": row.handle}, at=self.clock.now(),
        )  # fmt: skip
        return device

    async def unlink(self, actor: Principal, device_id: int) -> Device:
        """Take a device's identifier away and the link value out of its record."""
        device = await self.devices.get(actor, device_id)
        actor.require_enterprise(device.enterprise_id)
        before = device.identifier
        if before is None:
            return device
        await self._remove_link(actor, device, before)
        device.identifier = None
        await self.session.flush()
        await record_audit(
            self.session, actor, "device.identifier_clear", "device", device.id,
            before={"identifier": before}, after={"identifier": None}, at=self.clock.now(),
        )  # fmt: skip
        return device

    async def _remove_link(self, actor: Principal, device: Device, text: str) -> None:
        """Delete the URL values pointing at the device's page (the record may be gone)."""
        try:  # set before links were checked, it may name no record served here
            handle = parse_handle(text)
            await self.identifiers.get_prefix(handle.prefix)
        except (InvalidInput, NotFound):
            return
        if await self.identifiers.get_row(handle) is None:
            return
        path = public_path(device.id).encode()
        stale = [
            v.index
            for v in await self.identifiers.values(handle)
            if v.type == "URL" and v.data.endswith(path)
        ]
        if stale:
            await self.identifiers.delete(actor, handle, stale)

    async def _verified(self, device: Device) -> bool:
        """Whether the device's identifier record links back to it.

        Only a link made here writes the back link, and writing it takes the prefix owner's
        rights: an identifier merely stored on a device (given when it was created) proves
        nothing and is shown nowhere outside the owner's own pages.
        """
        if device.identifier is None:
            return False
        try:
            values = await self.identifiers.values(parse_handle(device.identifier))
        except (InvalidInput, NotFound):
            return False
        path = public_path(device.id).encode()
        return any(v.type == "URL" and v.data.endswith(path) for v in values)

    async def devices_of(self, handles: list[str]) -> dict[str, Device]:
        """The devices linked to these identifiers (the record links back), by identifier."""
        if not handles:
            return {}
        rows = await self.session.scalars(sa.select(Device).where(Device.identifier.in_(handles)))
        return {
            d.identifier: d for d in rows if d.identifier is not None and await self._verified(d)
        }

    async def public(self, db: Database, device_id: int) -> PublicDevice:
        """A device as anyone resolving its identifier sees it (404 without an identifier)."""
        device = await self.session.get(Device, device_id)
        if device is None or device.identifier is None or not await self._verified(device):
            raise NotFound(
                N_("no device {device_id}"), device_id=device_id, code="device_not_found"
            )
        if not device.public_state:
            return PublicDevice(device.id, device.identifier, public_state=False)
        enterprise = await self.session.get(Enterprise, device.enterprise_id)
        presence = await AlarmService(self.session, self.clock).presence_of([device.id])
        latest = await store_for(db).latest(device.id)
        return PublicDevice(
            device.id, device.identifier, public_state=True, name=device.name,
            enterprise=enterprise.name if enterprise is not None else None,
            presence=presence.get(device.id),
            telemetry={
                key: {"ts": s.ts, "at": datetime.fromtimestamp(s.ts / 1000, UTC), "value": s.value}
                for key, s in sorted(latest.items())
            },
        )  # fmt: skip
