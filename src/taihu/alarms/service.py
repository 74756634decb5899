"""Alarm rules, alarms and presence, read and written for a principal.

Profile rules are the platform's (admin, bureau); a device's own rules, acknowledging and
clearing are for the device's enterprise's users (and admins). Staff read every enterprise's
alarms, an enterprise's users their own. Every write is audited in its unit of work.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from taihu.accounts import Principal, Role, record_audit
from taihu.alarms.models import ACTIVE, Alarm, AlarmEvent, AlarmRule, DevicePresence, PresenceEvent
from taihu.alarms.rules import SEVERITIES, check_rule
from taihu.core import N_, Clock, Conflict, InvalidInput, NotFound, SystemClock
from taihu.devices import Device, DeviceProfile

__all__ = ["STATUSES", "AlarmFilter", "AlarmService"]

STATUSES = ("ACTIVE_UNACK", "ACTIVE_ACK", "CLEARED_UNACK", "CLEARED_ACK")


@dataclass(frozen=True, slots=True)
class AlarmFilter:
    """What an alarm list is narrowed to."""

    enterprise_id: int | None = None
    device_id: int | None = None
    severity: str | None = None
    status: str | None = None  # one of STATUSES, or ACTIVE / CLEARED / ANY
    limit: int = 50
    offset: int = 0


def _no_rule(rule_id: int) -> NotFound:
    return NotFound(N_("no alarm rule {rule_id}"), rule_id=rule_id, code="rule_not_found")


def _no_alarm(alarm_id: int) -> NotFound:
    return NotFound(N_("no alarm {alarm_id}"), alarm_id=alarm_id, code="alarm_not_found")


class AlarmService:
    """Alarm rules, alarms and presence within one unit of work."""

    def __init__(self, session: AsyncSession, clock: Clock | None = None) -> None:
        self.session = session
        self.clock = clock or SystemClock()

    # -- rules -----------------------------------------------------------------------------------

    async def _may_write_rules(
        self, actor: Principal, profile_id: int | None, device_id: int | None
    ) -> None:
        if (profile_id is None) == (device_id is None):
            raise InvalidInput(N_("a rule belongs to a profile or to a device"), code="bad_rule")
        if profile_id is not None:
            actor.require_role(Role.BUREAU)
            if await self.session.get(DeviceProfile, profile_id) is None:
                raise NotFound(
                    N_("no device profile {profile_id}"),
                    profile_id=profile_id,
                    code="profile_not_found",
                )
            return
        device = await self.session.get(Device, device_id)
        if device is None or not actor.can_see_enterprise(device.enterprise_id):
            raise NotFound(
                N_("no device {device_id}"), device_id=device_id, code="device_not_found"
            )
        actor.require_enterprise(device.enterprise_id)

    async def _check_name(self, rule: AlarmRule) -> None:
        clash = await self.session.scalar(
            sa.select(AlarmRule.id).where(
                AlarmRule.name == rule.name,
                AlarmRule.id != (rule.id or 0),
                AlarmRule.profile_id.is_(None)
                if rule.profile_id is None
                else AlarmRule.profile_id == rule.profile_id,
                AlarmRule.device_id.is_(None)
                if rule.device_id is None
                else AlarmRule.device_id == rule.device_id,
            )
        )
        if clash is not None:
            raise Conflict(
                N_("a rule named {name!r} exists already there"), name=rule.name, code="rule_exists"
            )

    async def create_rule(
        self,
        actor: Principal,
        *,
        name: str,
        kind: str,
        key: str = "",
        severity: str,
        spec: dict[str, Any],
        profile_id: int | None = None,
        device_id: int | None = None,
        enabled: bool = True,
    ) -> AlarmRule:
        """A new rule on a profile (admin, bureau) or a device (its enterprise's users)."""
        await self._may_write_rules(actor, profile_id, device_id)
        name = " ".join(name.split())
        if not 1 <= len(name) <= 100:
            raise InvalidInput(N_("a rule needs a name of 1-100 characters"), code="bad_rule")
        checked = check_rule(kind, key.strip(), severity, spec)
        now = self.clock.now()
        rule = AlarmRule(
            profile_id=profile_id,
            device_id=device_id,
            name=name,
            kind=kind,
            key=key.strip(),
            severity=severity,
            spec=checked,
            enabled=enabled,
            created_at=now,
            updated_at=now,
        )
        await self._check_name(rule)
        self.session.add(rule)
        await self.session.flush()
        await record_audit(
            self.session,
            actor,
            "alarm_rule.create",
            "alarm_rule",
            rule.id,
            after=self.rule_record(rule),
            at=now,
        )
        return rule

    @staticmethod
    def rule_record(rule: AlarmRule) -> dict[str, Any]:
        """A rule's fields for the audit log."""
        return {
            "name": rule.name,
            "kind": rule.kind,
            "key": rule.key,
            "severity": rule.severity,
            "spec": rule.spec,
            "enabled": rule.enabled,
            "profile_id": rule.profile_id,
            "device_id": rule.device_id,
        }

    async def rule(self, actor: Principal, rule_id: int) -> AlarmRule:
        """One rule the principal may see (profile rules are public like profiles)."""
        rule = await self.session.get(AlarmRule, rule_id)
        if rule is None:
            raise _no_rule(rule_id)
        if rule.device_id is not None:
            device = await self.session.get(Device, rule.device_id)
            if device is None or not actor.can_see_enterprise(device.enterprise_id):
                raise _no_rule(rule_id)
        return rule

    async def update_rule(self, actor: Principal, rule_id: int, **changes: Any) -> AlarmRule:
        """Change a rule's name, kind, key, severity, spec or enabled flag."""
        rule = await self.rule(actor, rule_id)
        await self._may_write_rules(actor, rule.profile_id, rule.device_id)
        before = self.rule_record(rule)
        values = {**before, **{k: v for k, v in changes.items() if v is not None}}
        name = " ".join(str(values["name"]).split())
        if not 1 <= len(name) <= 100:
            raise InvalidInput(N_("a rule needs a name of 1-100 characters"), code="bad_rule")
        spec = check_rule(values["kind"], values["key"].strip(), values["severity"], values["spec"])
        rule.name, rule.kind, rule.key = name, values["kind"], values["key"].strip()
        rule.severity, rule.spec, rule.enabled = values["severity"], spec, bool(values["enabled"])
        rule.updated_at = self.clock.now()
        await self._check_name(rule)
        await self.session.flush()
        await record_audit(
            self.session,
            actor,
            "alarm_rule.update",
            "alarm_rule",
            rule.id,
            before=before,
            after=self.rule_record(rule),
            at=rule.updated_at,
        )
        return rule

    async def delete_rule(self, actor: Principal, rule_id: int) -> None:
        """Remove a rule and its alarms."""
        rule = await self.rule(actor, rule_id)
        await self._may_write_rules(actor, rule.profile_id, rule.device_id)
        before = self.rule_record(rule)
        await self.session.delete(rule)
        await record_audit(
            self.session,
            actor,
            "alarm_rule.delete",
            "alarm_rule",
            rule_id,
            before=before,
            at=self.clock.now(),
        )

    async def rules(
        self, actor: Principal, *, profile_id: int | None = None, device_id: int | None = None
    ) -> list[AlarmRule]:
        """The rules of a profile or of a device (a device's own, not its profile's)."""
        query = sa.select(AlarmRule).order_by(AlarmRule.name)
        if device_id is not None:
            device = await self.session.get(Device, device_id)
            if device is None or not actor.can_see_enterprise(device.enterprise_id):
                raise NotFound(
                    N_("no device {device_id}"), device_id=device_id, code="device_not_found"
                )
            query = query.where(AlarmRule.device_id == device_id)
        elif profile_id is not None:
            query = query.where(AlarmRule.profile_id == profile_id)
        else:
            query = query.where(AlarmRule.profile_id.is_not(None))
        return list(await self.session.scalars(query))

    # -- alarms ----------------------------------------------------------------------------------

    async def alarms(self, actor: Principal, wanted: AlarmFilter) -> tuple[list[Alarm], int]:
        """Alarms the principal may see, newest first, and how many match."""
        query = sa.select(Alarm)
        if not actor.sees_all_enterprises:
            query = query.where(Alarm.enterprise_id.in_(actor.enterprise_ids or [-1]))
        if wanted.enterprise_id is not None:
            query = query.where(Alarm.enterprise_id == wanted.enterprise_id)
        if wanted.device_id is not None:
            query = query.where(Alarm.device_id == wanted.device_id)
        if wanted.severity is not None:
            if wanted.severity not in SEVERITIES:
                raise InvalidInput(
                    N_("a severity is one of {choices}"),
                    choices=", ".join(SEVERITIES),
                    code="bad_filter",
                )
            query = query.where(Alarm.severity == wanted.severity)
        status = (wanted.status or "ANY").upper()
        if status not in {*STATUSES, "ACTIVE", "CLEARED", "ANY", "ACK", "UNACK"}:
            raise InvalidInput(
                N_("a status is one of {choices}"),
                choices=", ".join((*STATUSES, "ACTIVE", "CLEARED", "ANY")),
                code="bad_filter",
            )
        if status.startswith("ACTIVE"):
            query = query.where(ACTIVE)
        elif status.startswith("CLEARED"):
            query = query.where(Alarm.cleared_at.is_not(None))
        if status.endswith("_ACK") or status == "ACK":
            query = query.where(Alarm.acknowledged_at.is_not(None))
        elif status.endswith("UNACK"):
            query = query.where(Alarm.acknowledged_at.is_(None))
        total = await self.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
        rows = await self.session.scalars(
            query.order_by(Alarm.started_at.desc(), Alarm.id.desc())
            .limit(wanted.limit)
            .offset(wanted.offset)
        )
        return list(rows), int(total or 0)

    async def alarm(self, actor: Principal, alarm_id: int) -> Alarm:
        """One alarm the principal may see (404 otherwise, so ids do not leak)."""
        alarm = await self.session.get(Alarm, alarm_id)
        if alarm is None or not actor.can_see_enterprise(alarm.enterprise_id):
            raise _no_alarm(alarm_id)
        return alarm

    async def history(self, actor: Principal, alarm_id: int) -> list[AlarmEvent]:
        """An alarm's life, oldest first."""
        await self.alarm(actor, alarm_id)
        return list(
            await self.session.scalars(
                sa.select(AlarmEvent)
                .where(AlarmEvent.alarm_id == alarm_id)
                .order_by(AlarmEvent.at, AlarmEvent.id)
            )
        )

    async def acknowledge(self, actor: Principal, alarm_id: int, comment: str = "") -> Alarm:
        """A person takes note of an alarm, with a comment (once; again is a no-op)."""
        alarm = await self.alarm(actor, alarm_id)
        actor.require_enterprise(alarm.enterprise_id)
        if len(comment) > 500:
            raise InvalidInput(N_("a comment is at most 500 characters"), code="bad_comment")
        if alarm.acknowledged_at is not None:
            return alarm
        now = self.clock.now()
        alarm.acknowledged_at, alarm.acknowledged_by = now, actor.name
        alarm.ack_comment = comment.strip() or None
        self._event(alarm, "acknowledged", now, actor, alarm.ack_comment)
        await record_audit(
            self.session,
            actor,
            "alarm.acknowledge",
            "alarm",
            alarm.id,
            after={"comment": alarm.ack_comment},
            at=now,
        )
        await self.session.flush()
        return alarm

    async def clear(self, actor: Principal, alarm_id: int, comment: str = "") -> Alarm:
        """A person clears an active alarm (a cleared one stays as it was)."""
        alarm = await self.alarm(actor, alarm_id)
        actor.require_enterprise(alarm.enterprise_id)
        if len(comment) > 500:
            raise InvalidInput(N_("a comment is at most 500 characters"), code="bad_comment")
        if alarm.cleared_at is not None:
            return alarm
        now = self.clock.now()
        alarm.cleared_at, alarm.cleared_by, alarm.updated_at = now, actor.name, now
        self._event(alarm, "cleared", now, actor, comment.strip() or None)
        await record_audit(
            self.session,
            actor,
            "alarm.clear",
            "alarm",
            alarm.id,
            after={"comment": comment.strip() or None},
            at=now,
        )
        await self.session.flush()
        return alarm

    def _event(
        self, alarm: Alarm, kind: str, at: datetime, actor: Principal, comment: str | None
    ) -> None:
        self.session.add(
            AlarmEvent(
                alarm_id=alarm.id,
                at=at,
                kind=kind,
                severity=alarm.severity,
                value=alarm.last_value,
                actor=actor.name,
                comment=comment,
            )
        )

    # -- presence --------------------------------------------------------------------------------

    async def presence(
        self, actor: Principal, device_id: int
    ) -> tuple[str | None, datetime | None, list[PresenceEvent]]:
        """A device's presence, since when, and its latest changes (newest first)."""
        device = await self.session.get(Device, device_id)
        if device is None or not actor.can_see_enterprise(device.enterprise_id):
            raise NotFound(
                N_("no device {device_id}"), device_id=device_id, code="device_not_found"
            )
        now = await self.session.get(DevicePresence, device_id)
        events = await self.session.scalars(
            sa.select(PresenceEvent)
            .where(PresenceEvent.device_id == device_id)
            .order_by(PresenceEvent.at.desc(), PresenceEvent.id.desc())
            .limit(50)
        )
        return (now.state if now else None, now.since if now else None, list(events))

    async def presence_counts(self, actor: Principal) -> dict[str, int]:
        """How many devices the principal sees are connected, disconnected or inactive."""
        query = (
            sa.select(DevicePresence.state, sa.func.count())
            .join(Device, Device.id == DevicePresence.device_id)
            .group_by(DevicePresence.state)
        )
        if not actor.sees_all_enterprises:
            query = query.where(Device.enterprise_id.in_(actor.enterprise_ids or [-1]))
        return {state: int(n) for state, n in await self.session.execute(query)}

    async def presence_of(self, device_ids: list[int]) -> dict[int, str]:
        """The presence of these devices (those the caller may list), by id."""
        if not device_ids:
            return {}
        rows = await self.session.execute(
            sa.select(DevicePresence.device_id, DevicePresence.state).where(
                DevicePresence.device_id.in_(device_ids)
            )
        )
        return {row[0]: row[1] for row in rows}

    async def presence_list(
        self, actor: Principal, state: str | None, *, limit: int = 200
    ) -> list[tuple[Device, str, datetime]]:
        """The devices the principal sees with their presence, in one state or all, oldest first."""
        query = (
            sa.select(Device, DevicePresence.state, DevicePresence.since)
            .join(DevicePresence, Device.id == DevicePresence.device_id)
            .order_by(DevicePresence.since, Device.id)
            .limit(limit)
        )
        if state is not None:
            query = query.where(DevicePresence.state == state)
        if not actor.sees_all_enterprises:
            query = query.where(Device.enterprise_id.in_(actor.enterprise_ids or [-1]))
        return [(d, s, since) for d, s, since in await self.session.execute(query)]
