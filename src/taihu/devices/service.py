"""The device registry: profiles, devices, access tokens and attributes, scoped per enterprise.

Reads follow the principal's view of enterprises; writes need the right to act for the device's
enterprise and leave an audit entry in the same unit of work.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from taihu.accounts import Principal, Role, record_audit
from taihu.core import (
    N_,
    Clock,
    Conflict,
    InvalidInput,
    Message,
    NotFound,
    SystemClock,
    hash_token,
    new_token,
)
from taihu.devices.limits import parse_rate_limits
from taihu.devices.models import Device, DeviceAttribute, DeviceProfile, DeviceToken
from taihu.enterprises import Enterprise

__all__ = [
    "DEFAULT_PROFILE",
    "INACTIVITY_TIMEOUT_RANGE",
    "KEY_TYPES",
    "PROFILE_NAME_LENGTH",
    "SCOPES",
    "DeviceAuth",
    "DeviceService",
    "IssuedDevice",
    "clean_name",
]

DEFAULT_PROFILE = "default"
SCOPES = ("client", "shared", "server")
KEY_TYPES = ("long", "double", "boolean", "string", "json")
PROFILE_NAME_LENGTH = 100  # the column's width
# A profile's inactivity timeout in seconds: at least a tick or two, at most 30 days.
INACTIVITY_TIMEOUT_RANGE = (10, 30 * 86_400)
_TOKEN_PREFIX = "dev"  # noqa: S105 - the visible prefix of device tokens, not a secret


@dataclass(frozen=True, slots=True)
class IssuedDevice:
    """A device just created, with the only copy of its access token."""

    device: Device
    token: str


@dataclass(frozen=True, slots=True)
class DeviceAuth:
    """What the transports need to know about an authenticated device."""

    device_id: int
    name: str
    enterprise_id: int
    kind: str
    profile_id: int
    rate_limits: str
    token_hash: str
    data_point_limits: str = ""

    @property
    def is_gateway(self) -> bool:
        """Whether the device is a gateway."""
        return self.kind == "gateway"


_WHAT = {"device": N_("device"), "profile": N_("device profile")}


def clean_name(name: str, what: str, longest: int = 200) -> str:
    """A name with its white space collapsed; refused when empty or longer than ``longest``."""
    name = " ".join(name.split())
    kind = Message(_WHAT.get(what, what))
    if not name:
        raise InvalidInput(N_("a {what} needs a name"), what=kind, code="bad_name")
    if len(name) > longest:
        raise InvalidInput(
            N_("a {what} name is at most {longest} characters"),
            what=kind,
            longest=longest,
            code="bad_name",
        )
    return name


def _check_timeout(seconds: int | None) -> None:
    low, high = INACTIVITY_TIMEOUT_RANGE
    if seconds is not None and not low <= seconds <= high:
        raise InvalidInput(
            N_("the inactivity timeout is {low} to {high} seconds"),
            low=low,
            high=high,
            code="bad_inactivity_timeout",
        )


class DeviceService:
    """The device registry within one unit of work."""

    def __init__(self, session: AsyncSession, clock: Clock | None = None) -> None:
        self.session = session
        self.clock = clock or SystemClock()

    # -- profiles --------------------------------------------------------------------------------

    async def create_profile(
        self,
        actor: Principal,
        name: str,
        *,
        telemetry_keys: list[dict[str, Any]] | None = None,
        retention_days: int = 365,
        rate_limits: str = "",
        description: str = "",
        data_point_limits: str = "",
        created_by_enterprise_id: int | None = None,
        inactivity_timeout: int | None = None,
    ) -> DeviceProfile:
        """Define a device profile (admin or bureau; or the platform for a gateway's child)."""
        actor.require_role(Role.BUREAU)
        name = clean_name(name, "profile", PROFILE_NAME_LENGTH)
        _check_timeout(inactivity_timeout)
        keys = [self._check_key(k) for k in telemetry_keys or []]
        if not 1 <= retention_days <= 36_500:
            raise InvalidInput(N_("retention_days must be 1 to 36500"), code="bad_retention")
        try:
            parse_rate_limits(rate_limits)
            parse_rate_limits(data_point_limits)
        except ValueError as exc:
            raise InvalidInput(str(exc), code="bad_rate_limits") from None
        if await self.session.scalar(sa.select(DeviceProfile.id).where(DeviceProfile.name == name)):
            raise Conflict(
                N_("a device profile named {name!r} exists already"),
                name=name,
                code="profile_exists",
            )
        profile = DeviceProfile(
            name=name, description=description, telemetry_keys=keys,
            retention_days=retention_days, rate_limits=rate_limits.replace(" ", ""),
            data_point_limits=data_point_limits.replace(" ", ""),
            created_by_enterprise_id=created_by_enterprise_id,
            inactivity_timeout=inactivity_timeout, created_at=self.clock.now(),
        )  # fmt: skip
        self.session.add(profile)
        await self.session.flush()
        await record_audit(
            self.session, actor, "device_profile.create", "device_profile", profile.id,
            after={"name": name, "telemetry_keys": keys, "retention_days": retention_days,
                   "rate_limits": profile.rate_limits,
                   "data_point_limits": profile.data_point_limits,
                   "created_by_enterprise_id": created_by_enterprise_id,
                   "inactivity_timeout": inactivity_timeout},
            at=self.clock.now(),
        )  # fmt: skip
        return profile

    async def set_inactivity_timeout(
        self, actor: Principal, profile_id: int, seconds: int | None
    ) -> DeviceProfile:
        """Set a profile's inactivity timeout in seconds (None: the alarms setting applies)."""
        actor.require_role(Role.BUREAU)
        _check_timeout(seconds)
        profile = await self.profile(profile_id)
        before = profile.inactivity_timeout
        profile.inactivity_timeout = seconds
        await self.session.flush()
        await record_audit(
            self.session, actor, "device_profile.update", "device_profile", profile.id,
            before={"inactivity_timeout": before}, after={"inactivity_timeout": seconds},
            at=self.clock.now(),
        )  # fmt: skip
        return profile

    @staticmethod
    def _check_key(spec: dict[str, Any]) -> dict[str, Any]:
        key = str(spec.get("key", "")).strip()
        kind = str(spec.get("type", "double"))
        if not key or len(key) > 255:
            raise InvalidInput(N_("telemetry keys need a name of 1-255 characters"), code="bad_key")
        if kind not in KEY_TYPES:
            raise InvalidInput(
                N_("key {key}: type {kind!r} is not one of {choices}"),
                key=key,
                kind=kind,
                choices=", ".join(KEY_TYPES),
                code="bad_key",
            )
        return {"key": key, "unit": str(spec.get("unit", "")), "type": kind}

    async def profile_named(self, actor: Principal, name: str | None) -> DeviceProfile:
        """A profile by name; the default profile is created on first use."""
        wanted = name or DEFAULT_PROFILE
        profile = await self.session.scalar(
            sa.select(DeviceProfile).where(DeviceProfile.name == wanted)
        )
        if profile is not None:
            return profile
        if name and name != DEFAULT_PROFILE:
            raise NotFound(
                N_("no device profile named {name!r}"), name=name, code="profile_not_found"
            )
        # The default profile belongs to the platform, whoever's device needed it first.
        return await self.create_profile(
            Principal.system(f"taihu (for {actor.name})"),
            DEFAULT_PROFILE,
            description="devices without a profile",
        )

    async def list_profiles(self) -> list[DeviceProfile]:
        """Every device profile, by name."""
        return list(
            await self.session.scalars(sa.select(DeviceProfile).order_by(DeviceProfile.name))
        )

    async def profile(self, profile_id: int) -> DeviceProfile:
        """One profile."""
        profile = await self.session.get(DeviceProfile, profile_id)
        if profile is None:
            raise NotFound(
                N_("no device profile {profile_id}"),
                profile_id=profile_id,
                code="profile_not_found",
            )
        return profile

    # -- devices ---------------------------------------------------------------------------------

    async def create(
        self,
        actor: Principal,
        enterprise_id: int,
        name: str,
        *,
        profile: str | None = None,
        gateway: bool = False,
        gateway_id: int | None = None,
    ) -> IssuedDevice:
        """Register a device for an enterprise and issue its first access token.

        Its identifier is given by linking (``taihu.nameplates``), never stored unchecked here.
        """
        actor.require_enterprise(enterprise_id)
        if await self.session.get(Enterprise, enterprise_id) is None:
            raise NotFound(
                N_("no enterprise {enterprise_id}"),
                enterprise_id=enterprise_id,
                code="enterprise_not_found",
            )
        name = clean_name(name, "device")
        if await self.named(enterprise_id, gateway_id, name) is not None:
            if gateway_id is None:
                raise Conflict(
                    N_("enterprise {enterprise_id} has a device named {name!r} already"),
                    code="device_exists", enterprise_id=enterprise_id, name=name,
                )  # fmt: skip
            raise Conflict(
                N_("gateway {gateway_id} has a child named {name!r} already"),
                code="device_exists", gateway_id=gateway_id, name=name,
            )  # fmt: skip
        chosen = await self.profile_named(actor, profile)
        device = Device(
            enterprise_id=enterprise_id, profile_id=chosen.id, name=name,
            kind="gateway" if gateway else "device", gateway_id=gateway_id,
            created_at=self.clock.now(),
        )  # fmt: skip
        self.session.add(device)
        await self.session.flush()
        plain = await self._issue_token(device)
        await record_audit(
            self.session, actor, "device.create", "device", device.id,
            after={"name": name, "enterprise_id": enterprise_id, "kind": device.kind,
                   "profile": chosen.name, "gateway_id": gateway_id},
            at=self.clock.now(),
        )  # fmt: skip
        return IssuedDevice(device, plain)

    async def named(self, enterprise_id: int, gateway_id: int | None, name: str) -> int | None:
        """The device so named among a gateway's children, or (no gateway) the enterprise's rest."""
        where = (
            Device.gateway_id == gateway_id
            if gateway_id is not None
            else sa.and_(Device.enterprise_id == enterprise_id, Device.gateway_id.is_(None))
        )
        return await self.session.scalar(sa.select(Device.id).where(where, Device.name == name))

    async def _issue_token(self, device: Device) -> str:
        plain, digest = new_token(_TOKEN_PREFIX)
        self.session.add(
            DeviceToken(device_id=device.id, token_hash=digest, created_at=self.clock.now())
        )
        await self.session.flush()
        return plain

    async def get(self, actor: Principal, device_id: int) -> Device:
        """One device the principal may see (404 otherwise, so ids do not leak)."""
        device = await self.session.get(Device, device_id)
        if device is None or not actor.can_see_enterprise(device.enterprise_id):
            raise NotFound(
                N_("no device {device_id}"), device_id=device_id, code="device_not_found"
            )
        return device

    @staticmethod
    def may_read_data(actor: Principal, device: Device) -> bool:
        """Whether the principal reads a device's own data (the bureau sees only aggregates)."""
        return actor.is_admin or device.enterprise_id in actor.enterprise_ids

    async def get_for_data(self, actor: Principal, device_id: int) -> Device:
        """A device whose own data the principal may read: admins and its enterprise's users."""
        device = await self.get(actor, device_id)
        if not self.may_read_data(actor, device):
            raise NotFound(
                N_("no device {device_id}"), device_id=device_id, code="device_not_found"
            )
        return device

    async def list_devices(
        self,
        actor: Principal,
        *,
        enterprise_id: int | None = None,
        search: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> tuple[list[Device], int]:
        """The devices a principal may see, by enterprise and name, and their count."""
        conditions: list[sa.ColumnElement[bool]] = []
        if not actor.sees_all_enterprises:
            conditions.append(Device.enterprise_id.in_(sorted(actor.enterprise_ids)))
        if enterprise_id is not None:
            conditions.append(Device.enterprise_id == enterprise_id)
        if search:
            conditions.append(Device.name.contains(search.strip(), autoescape=True))
        total = await self.session.scalar(
            sa.select(sa.func.count()).select_from(Device).where(*conditions)
        )
        rows = await self.session.scalars(
            sa.select(Device).where(*conditions)
            .order_by(Device.enterprise_id, Device.name, Device.id).limit(limit).offset(offset)
        )  # fmt: skip
        return list(rows), int(total or 0)

    async def rotate_token(self, actor: Principal, device_id: int) -> str:
        """Revoke a device's tokens and issue a new one (connected sessions are dropped)."""
        device = await self.get(actor, device_id)
        actor.require_enterprise(device.enterprise_id)
        revoked = await self._revoke(device.id)
        plain = await self._issue_token(device)
        await record_audit(
            self.session, actor, "device.token_rotate", "device", device.id,
            after={"revoked": revoked}, at=self.clock.now(),
        )  # fmt: skip
        return plain

    async def set_public_state(self, actor: Principal, device_id: int, public: bool) -> Device:
        """Let anyone resolving the device's identifier see its latest telemetry, or not."""
        device = await self.get(actor, device_id)
        actor.require_enterprise(device.enterprise_id)
        before, device.public_state = device.public_state, public
        await self.session.flush()
        await record_audit(
            self.session, actor, "device.public_state", "device", device.id,
            before={"public_state": before}, after={"public_state": public}, at=self.clock.now(),
        )  # fmt: skip
        return device

    async def revoke_tokens(self, actor: Principal, device_id: int) -> int:
        """Revoke every token of a device; it cannot connect until a token is rotated in."""
        device = await self.get(actor, device_id)
        actor.require_enterprise(device.enterprise_id)
        revoked = await self._revoke(device.id)
        await record_audit(
            self.session, actor, "device.token_revoke", "device", device.id,
            after={"revoked": revoked}, at=self.clock.now(),
        )  # fmt: skip
        return revoked

    async def active_tokens(self, device_id: int) -> int:
        """How many access tokens of a device still work."""
        count = await self.session.scalar(
            sa.select(sa.func.count()).select_from(DeviceToken)
            .where(DeviceToken.device_id == device_id, DeviceToken.revoked_at.is_(None))
        )  # fmt: skip
        return int(count or 0)

    async def _revoke(self, device_id: int) -> int:
        result = await self.session.execute(
            sa.update(DeviceToken)
            .where(DeviceToken.device_id == device_id, DeviceToken.revoked_at.is_(None))
            .values(revoked_at=self.clock.now())
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def authenticate(self, token: str) -> DeviceAuth | None:
        """The device an access token belongs to, or None for unknown or revoked tokens."""
        digest = hash_token(token)
        row = (
            await self.session.execute(
                sa.select(Device, DeviceProfile.rate_limits, DeviceProfile.data_point_limits)
                .join(DeviceToken, DeviceToken.device_id == Device.id)
                .join(DeviceProfile, DeviceProfile.id == Device.profile_id)
                .where(DeviceToken.token_hash == digest, DeviceToken.revoked_at.is_(None))
            )
        ).first()
        if row is None:
            return None
        device, limits, point_limits = row
        return DeviceAuth(
            device.id, device.name, device.enterprise_id, device.kind, device.profile_id,
            limits, digest, point_limits,
        )  # fmt: skip

    # -- attributes ------------------------------------------------------------------------------

    async def attributes(
        self, device_id: int, scope: str | None = None, keys: list[str] | None = None
    ) -> list[DeviceAttribute]:
        """Attributes of a device, optionally of one scope and some keys."""
        conditions = [DeviceAttribute.device_id == device_id]
        if scope:
            conditions.append(DeviceAttribute.scope == scope)
        if keys is not None:
            conditions.append(DeviceAttribute.key.in_(keys))
        return list(
            await self.session.scalars(
                sa.select(DeviceAttribute).where(*conditions)
                .order_by(DeviceAttribute.scope, DeviceAttribute.key)
            )
        )  # fmt: skip

    async def put_attributes(self, device_id: int, scope: str, values: dict[str, Any]) -> None:
        """Write attributes of one scope (no permission check: callers have checked)."""
        if scope not in SCOPES:
            raise InvalidInput(
                N_("scope must be one of {choices}"), choices=", ".join(SCOPES), code="bad_scope"
            )
        existing = {a.key: a for a in await self.attributes(device_id, scope, list(values))}
        now = self.clock.now()
        for key, value in values.items():
            if key in existing:
                existing[key].value = value
                existing[key].updated_at = now
            else:
                self.session.add(
                    DeviceAttribute(
                        device_id=device_id, scope=scope, key=key, value=value, updated_at=now
                    )
                )
        await self.session.flush()

    async def set_attributes(
        self, actor: Principal, device_id: int, scope: str, values: dict[str, Any]
    ) -> Device:
        """Set shared or server attributes of a device (users act for its enterprise)."""
        if scope not in ("shared", "server"):
            raise InvalidInput(
                N_("users set shared or server attributes; client attributes come from the device"),
                code="bad_scope",
            )
        if not values:
            raise InvalidInput(N_("no attributes given"), code="no_attributes")
        device = await self.get(actor, device_id)
        actor.require_enterprise(device.enterprise_id)
        before = {a.key: a.value for a in await self.attributes(device_id, scope, list(values))}
        await self.put_attributes(device_id, scope, values)
        await record_audit(
            self.session, actor, "device.attributes_set", "device", device.id,
            before={"scope": scope, "values": before}, after={"scope": scope, "values": values},
            at=self.clock.now(),
        )  # fmt: skip
        return device
