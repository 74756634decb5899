"""Alarm notifications: subscriptions per person and the outbox their notifications wait in.

The engine hands each flush's written transitions to ``enqueue`` in the same transaction, so a
transition is never written without its notifications (nor they without it). A subscription
hears of its enterprise's (or, for staff without one, every enterprise's) alarms from its
``min_severity`` up; beyond ``TAIHU_ALARMS_NOTIFY_LIMIT`` notifications within
``TAIHU_ALARMS_NOTIFY_WINDOW`` the rest are kept as ``suppressed`` and not sent. Console
notifications are delivered by being stored; webhooks and e-mail wait for ``delivery``.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, cast
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from taihu.accounts import Principal, Role, record_audit
from taihu.alarms.models import AlarmNotification, AlarmSubscription
from taihu.alarms.rules import SEVERITIES
from taihu.alarms.transitions import Change
from taihu.core import N_, Clock, InvalidInput, NotFound, SystemClock
from taihu.settings import AlarmSettings

__all__ = ["CHANNELS", "SubscriptionService", "enqueue", "payload"]

CHANNELS = ("console", "webhook", "email", "sms")
_MOBILE = re.compile(r"1[3-9][0-9]{9}")  # a mainland mobile number, as SMS providers take it
# The table, not the mapped class: a plain executemany without the ORM's bulk path.
_NOTIFICATIONS = cast("sa.Table", AlarmNotification.__table__)
_RANK = {severity: rank for rank, severity in enumerate(SEVERITIES)}  # 0 is the gravest


def payload(change: Change) -> dict[str, Any]:
    """The JSON a webhook receives (and an e-mail and the console show)."""
    return {
        "event": change.kind,
        "alarm_id": change.alarm_id,
        "device_id": change.device_id,
        "enterprise_id": change.enterprise_id,
        "name": change.name,
        "severity": change.severity,
        "value": change.value,
        "at": change.at.isoformat(),
    }


async def enqueue(
    session: AsyncSession, changes: Sequence[Change], settings: AlarmSettings, now: datetime
) -> int:
    """Queue the notifications of written changes for the subscriptions they concern."""
    subscriptions = list(await session.scalars(sa.select(AlarmSubscription)))
    if not subscriptions:
        return 0
    since = now - timedelta(seconds=settings.notify_window)
    sent: dict[int, int] = {
        row[0]: row[1]
        for row in await session.execute(
            sa.select(AlarmNotification.subscription_id, sa.func.count())
            .where(
                AlarmNotification.created_at >= since,
                AlarmNotification.status != "suppressed",
            )
            .group_by(AlarmNotification.subscription_id)
        )
    }
    rows = []
    for change in changes:
        rank = _RANK.get(change.severity, len(SEVERITIES))
        for sub in subscriptions:
            if sub.enterprise_id is not None and sub.enterprise_id != change.enterprise_id:
                continue
            if rank > _RANK.get(sub.min_severity, len(SEVERITIES)):
                continue
            count = sent.get(sub.id, 0)
            over = count >= settings.notify_limit
            if not over:
                sent[sub.id] = count + 1
            status = "suppressed" if over else ("sent" if sub.channel == "console" else "pending")
            rows.append(
                {"subscription_id": sub.id, "alarm_id": change.alarm_id, "event": change.kind,
                 "channel": sub.channel, "payload": payload(change), "status": status,
                 "attempts": 0, "created_at": now, "next_at": now,
                 "sent_at": now if status == "sent" else None}
            )  # fmt: skip
    if rows:
        await session.execute(sa.insert(_NOTIFICATIONS), rows)
    return len(rows)


def _no_subscription(subscription_id: int) -> NotFound:
    return NotFound(
        N_("no alarm subscription {subscription_id}"),
        subscription_id=subscription_id,
        code="subscription_not_found",
    )


def _checked_target(channel: str, target: str) -> tuple[str, str]:
    """The target as stored, and a fresh secret for a webhook; or ``InvalidInput``."""
    if channel == "webhook":
        parts = urlsplit(target)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise _bad(N_("a webhook needs an http(s) URL"))
        return target, secrets.token_hex(32)
    if channel == "email":
        if "@" not in target or len(target) > 254:
            raise _bad(N_("an e-mail subscription needs an address"))
        return target, ""
    if channel == "sms":
        target = target.strip().removeprefix("+86").replace(" ", "").replace("-", "")
        if not _MOBILE.fullmatch(target):
            raise _bad(N_("an SMS subscription needs an 11-digit mobile number"))
        return target, ""
    return "", ""


def _bad(message: str, **fields: Any) -> InvalidInput:
    return InvalidInput(message, code="bad_subscription", **fields)


class SubscriptionService:
    """A person's alarm subscriptions and their console notifications."""

    def __init__(self, session: AsyncSession, clock: Clock | None = None) -> None:
        self.session = session
        self.clock = clock or SystemClock()

    async def subscribe(
        self,
        actor: Principal,
        *,
        channel: str,
        min_severity: str = "warning",
        enterprise_id: int | None = None,
        target: str = "",
    ) -> AlarmSubscription:
        """Subscribe the actor; a webhook gets a fresh secret (shown once, in the answer)."""
        if actor.user_id is None:
            raise _bad(N_("only a person's account can subscribe"))
        if channel not in CHANNELS:
            raise _bad(N_("unknown channel {channel}"), channel=channel)
        if min_severity not in SEVERITIES:
            raise _bad(N_("unknown severity {severity}"), severity=min_severity)
        if actor.role is Role.ENTERPRISE:
            if enterprise_id is None and len(actor.enterprise_ids) == 1:
                enterprise_id = next(iter(actor.enterprise_ids))
            if enterprise_id not in actor.enterprise_ids:
                raise _bad(N_("choose one of your own enterprises"))
        target, secret = _checked_target(channel, target)
        now = self.clock.now()
        sub = AlarmSubscription(
            user_id=actor.user_id, enterprise_id=enterprise_id, min_severity=min_severity,
            channel=channel, target=target, secret=secret, created_at=now,
        )  # fmt: skip
        self.session.add(sub)
        await self.session.flush()
        await record_audit(
            self.session, actor, "alarm_subscription.create", "alarm_subscription", sub.id,
            after={"channel": channel, "min_severity": min_severity,
                   "enterprise_id": enterprise_id, "target": target}, at=now,
        )  # fmt: skip
        return sub

    async def mine(self, actor: Principal) -> list[AlarmSubscription]:
        """The actor's subscriptions."""
        if actor.user_id is None:
            return []
        return list(
            await self.session.scalars(
                sa.select(AlarmSubscription)
                .where(AlarmSubscription.user_id == actor.user_id)
                .order_by(AlarmSubscription.id)
            )
        )

    async def unsubscribe(self, actor: Principal, subscription_id: int) -> None:
        """Delete one of the actor's subscriptions (with its notifications)."""
        sub = await self.session.get(AlarmSubscription, subscription_id)
        if sub is None or sub.user_id != actor.user_id:
            raise _no_subscription(subscription_id)
        await self.session.delete(sub)
        await record_audit(
            self.session, actor, "alarm_subscription.delete", "alarm_subscription",
            subscription_id, before={"channel": sub.channel, "target": sub.target},
            at=self.clock.now(),
        )  # fmt: skip

    def _inbox(self, actor: Principal) -> sa.Select[Any]:
        return (
            sa.select(AlarmNotification)
            .join(AlarmSubscription)
            .where(
                AlarmSubscription.user_id == (actor.user_id or -1),
                AlarmNotification.channel == "console",
                AlarmNotification.status == "sent",
            )
        )

    async def inbox(self, actor: Principal, *, limit: int = 50) -> list[AlarmNotification]:
        """The actor's console notifications, newest first."""
        statement = self._inbox(actor).order_by(AlarmNotification.id.desc()).limit(limit)
        return list(await self.session.scalars(statement))

    async def unread(self, actor: Principal) -> int:
        """How many of the actor's console notifications are unread."""
        inner = self._inbox(actor).where(AlarmNotification.read_at.is_(None)).subquery()
        return int(await self.session.scalar(sa.select(sa.func.count()).select_from(inner)) or 0)

    async def mark_read(self, actor: Principal) -> int:
        """Mark every console notification of the actor read."""
        ids = sa.select(AlarmNotification.id).join(AlarmSubscription).where(
            AlarmSubscription.user_id == (actor.user_id or -1),
            AlarmNotification.read_at.is_(None),
        )  # fmt: skip
        result = await self.session.execute(
            sa.update(AlarmNotification)
            .where(AlarmNotification.id.in_(ids))
            .values(read_at=self.clock.now())
        )
        return int(getattr(result, "rowcount", 0) or 0)
