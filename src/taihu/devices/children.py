"""Child devices of gateways: which gateway owns which device, and moving devices between them.

A gateway addresses its children by name (ThingsBoard's gateway API), so a child's name is unique
among its gateway's children, and every other device's name within its enterprise. A name a
gateway sends means:

    its own child of that name              → that device
    a device of its enterprise that is      → refused: the gateway does not own it; an enterprise
      nobody's child (or a gateway) so named   user may move the device under the gateway
    anything else                           → a new child of the gateway, with the profile its
                                              ``type`` names (created when missing, at most
                                              GATEWAY_PROFILE_LIMIT per enterprise)

Another gateway's child of the same name is another device: two gateways may each have a PLC-1.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from taihu.accounts import Principal, Role, record_audit
from taihu.core import N_, Clock, Conflict, InvalidInput, Message, SystemClock
from taihu.devices.models import Device, DeviceProfile
from taihu.devices.service import (
    PROFILE_NAME_LENGTH,
    DeviceAuth,
    DeviceService,
    clean_name,
)

__all__ = ["GATEWAY_PROFILE_LIMIT", "ChildDevices", "ChildRefused"]

# How many device profiles the gateways of one enterprise may create by naming a child's type.
# Profiles are shared by the whole platform and listed in full, so this bounds what one
# enterprise's gateways can add to that list; more types need a profile defined by the bureau.
GATEWAY_PROFILE_LIMIT = 20


class ChildRefused(Exception):
    """A gateway named a device it may not act for, or a profile it may not create."""

    def __init__(self, name: str, reason: Message, device_id: int | None = None) -> None:
        super().__init__(f"device {name!r} refused: {reason.render()}")
        self.name = name
        self.reason = reason
        self.device_id = device_id  # the device the name belongs to, when one does


def _gateway_actor(gateway: DeviceAuth) -> Principal:
    """The gateway as the actor of what it causes: an enterprise user of its own enterprise."""
    return Principal(
        name=f"gateway:{gateway.name}",
        role=Role.ENTERPRISE,
        enterprise_ids=frozenset({gateway.enterprise_id}),
    )


class ChildDevices:
    """Gateways' children within one unit of work."""

    def __init__(self, session: AsyncSession, clock: Clock | None = None) -> None:
        self.session = session
        self.clock = clock or SystemClock()
        self.registry = DeviceService(session, self.clock)

    async def resolve(self, gateway: DeviceAuth, name: str, profile: str | None) -> Device:
        """The gateway's child so named, created if new; ChildRefused when not the gateway's."""
        name = clean_name(name, "device")
        own = await self.registry.named(gateway.enterprise_id, gateway.device_id, name)
        if own is not None:
            device = await self.session.get(Device, own)
            assert device is not None  # found by id in this very unit of work
            return device
        taken = await self.registry.named(gateway.enterprise_id, None, name)
        if taken is not None:
            raise ChildRefused(name, Message(N_("it is not a child of this gateway")), taken)
        chosen = await self._profile(gateway, name, profile)
        issued = await self.registry.create(
            _gateway_actor(gateway), gateway.enterprise_id, name, profile=chosen.name,
            gateway_id=gateway.device_id,
        )  # fmt: skip
        return issued.device

    async def _profile(self, gateway: DeviceAuth, child: str, wanted: str | None) -> DeviceProfile:
        """The profile a child's type names: created with defaults when missing, within the cap."""
        if wanted is None or not wanted.strip():
            return await self.registry.profile_named(_gateway_actor(gateway), None)
        try:
            name = clean_name(wanted, "profile", PROFILE_NAME_LENGTH)
        except InvalidInput as exc:
            why = Message(exc.template, **exc.details)
            raise ChildRefused(child, Message(N_("type: {error}"), error=why)) from None
        found = await self.session.scalar(
            sa.select(DeviceProfile).where(DeviceProfile.name == name)
        )
        if found is not None:
            return found
        made = await self.session.scalar(
            sa.select(sa.func.count())
            .select_from(DeviceProfile)
            .where(DeviceProfile.created_by_enterprise_id == gateway.enterprise_id)
        )
        if (made or 0) >= GATEWAY_PROFILE_LIMIT:
            raise ChildRefused(
                child,
                Message(
                    N_("no device profile named {profile}, and the enterprise's gateways "
                       "created {limit} profiles already (the limit)"),
                    profile=repr(name), limit=GATEWAY_PROFILE_LIMIT,
                ),
            )  # fmt: skip
        # Profiles belong to the platform; this one records the enterprise it was made for.
        return await self.registry.create_profile(
            Principal.system(f"taihu (for gateway:{gateway.name})"), name,
            description=f"created for gateway {gateway.name}'s devices of type {name}",
            created_by_enterprise_id=gateway.enterprise_id,
        )  # fmt: skip

    async def record_refusal(self, gateway: DeviceAuth, refusal: ChildRefused, topic: str) -> None:
        """Audit a refusal of a gateway's message for a device it does not own."""
        await record_audit(
            self.session, _gateway_actor(gateway), "device.gateway_refused", "device",
            refusal.device_id if refusal.device_id is not None else refusal.name,
            after={"gateway_id": gateway.device_id, "name": refusal.name, "topic": topic,
                   "reason": refusal.reason.render()},
            at=self.clock.now(),
        )  # fmt: skip

    async def move(self, actor: Principal, device_id: int, gateway_id: int | None) -> Device:
        """Put a device under a gateway of its enterprise (``None``: under none), audited."""
        device = await self.registry.get(actor, device_id)
        actor.require_enterprise(device.enterprise_id)
        if device.kind == "gateway":
            raise InvalidInput(
                N_("device {device} is a gateway; gateways are not children"),
                device=device.id,
                code="gateway_nesting",
            )
        if gateway_id is not None:
            gateway = await self.registry.get(actor, gateway_id)
            if gateway.kind != "gateway":
                raise InvalidInput(
                    N_("device {gateway_id} is not a gateway"),
                    gateway_id=gateway_id,
                    code="not_a_gateway",
                )
            if gateway.enterprise_id != device.enterprise_id:
                raise InvalidInput(
                    N_("gateway {gateway_id} belongs to another enterprise"),
                    gateway_id=gateway_id,
                    code="other_enterprise",
                )
        if gateway_id == device.gateway_id:
            return device
        clash = await self.registry.named(device.enterprise_id, gateway_id, device.name)
        if clash is not None:
            raise Conflict(
                N_("device {clash} is named {name!r} there already"),
                clash=clash,
                name=device.name,
                code="device_exists",
            )
        before = device.gateway_id
        device.gateway_id = gateway_id
        await self.session.flush()
        await record_audit(
            self.session, actor, "device.gateway_set", "device", device.id,
            before={"gateway_id": before}, after={"gateway_id": gateway_id}, at=self.clock.now(),
        )  # fmt: skip
        return device
