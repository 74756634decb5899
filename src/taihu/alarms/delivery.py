"""Delivery of queued alarm notifications: signed webhooks, and channels registered from above.

    outbox (pending, due) ──claim (lease)──► sender ──2xx──► sent
                                              └─fails──► retry after backoff x 2^n, then failed

A round claims due notifications by moving their ``next_at`` a lease ahead, so a second process
(or a round after a restart) leaves them alone while they are being sent; a notification is
marked sent in the database as soon as its receiver accepted it, and a restart sends only what
is still pending. A process killed between a receiver's answer and that write sends it once
more after the lease: receivers dedupe on ``X-Taihu-Delivery``, the notification's id.

Webhook requests carry ``X-Taihu-Timestamp`` and ``X-Taihu-Signature: sha256=HEX``, the
HMAC-SHA256 with the subscription's secret of ``TIMESTAMP.BODY`` (docs/alarms.md). E-mail is
the notices context's to send: it registers a sender for ``email`` at assembly (the notices
context sits above alarms).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

import orjson
import sqlalchemy as sa

from taihu.alarms.models import AlarmNotification, AlarmSubscription
from taihu.core import Clock, Database, PeriodicJob, SystemClock
from taihu.settings import AlarmSettings

__all__ = ["AlarmDelivery", "Outgoing", "Sender", "WebhookSender", "sign"]

log = logging.getLogger("taihu.alarms")
_BATCH = 100
_LEASE = timedelta(minutes=2)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header's value: ``sha256=`` and the HMAC of ``TIMESTAMP.BODY``."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One notification to send, with its subscription's address and secret."""

    delivery_id: int
    target: str
    secret: str
    payload: dict[str, Any]


class Sender(Protocol):
    """Sends one notification of a channel, or raises."""

    async def send(self, outgoing: Outgoing) -> None:
        """Send, or raise with a reason."""
        ...


class WebhookSender:
    """POSTs the notification's JSON, signed, to the subscription's URL."""

    def __init__(self, timeout: float, clock: Clock | None = None) -> None:
        self.timeout = timeout
        self.clock = clock or SystemClock()

    async def send(self, outgoing: Outgoing) -> None:
        """POST in a worker thread (urllib blocks); a status other than 2xx is a failure."""
        body = orjson.dumps(outgoing.payload)
        timestamp = str(int(self.clock.now().timestamp()))
        request = urllib.request.Request(  # noqa: S310 - http(s) only, checked at subscription
            outgoing.target,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "User-Agent": "Taihu-Alarms",
                "X-Taihu-Delivery": str(outgoing.delivery_id),
                "X-Taihu-Timestamp": timestamp,
                "X-Taihu-Signature": sign(outgoing.secret, timestamp, body),
            },
        )
        await asyncio.to_thread(self._post, request)

    def _post(self, request: urllib.request.Request) -> None:
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:  # noqa: S310
                answer.read()
        except urllib.error.HTTPError as exc:
            raise RuntimeError(f"HTTP {exc.code}") from exc


class AlarmDelivery:
    """Rounds of delivery of the outbox's due notifications, by channel."""

    def __init__(
        self, db: Database, settings: AlarmSettings | None = None, *, clock: Clock | None = None
    ) -> None:
        self.db = db
        self.settings = settings or AlarmSettings()
        self.clock = clock or SystemClock()
        self.senders: dict[str, Sender] = {
            "webhook": WebhookSender(self.settings.delivery_timeout, self.clock)
        }
        self._job = PeriodicJob("taihu-alarm-delivery", self.round, self.settings.delivery_interval)

    def register(self, channel: str, sender: Sender) -> None:
        """Send a channel's notifications with ``sender`` (e-mail, from the notices context)."""
        self.senders[channel] = sender

    def start(self) -> None:
        """Run rounds every ``TAIHU_ALARMS_DELIVERY_INTERVAL``."""
        self._job.start()

    async def stop(self) -> None:
        """Stop the rounds (what is pending stays in the outbox)."""
        await self._job.stop()

    async def _claim(self) -> list[Outgoing]:
        now = self.clock.now()
        channels = list(self.senders)
        async with self.db.session() as session:
            due = (
                sa.select(AlarmNotification.id)
                .where(
                    AlarmNotification.status == "pending",
                    AlarmNotification.next_at <= now,
                    AlarmNotification.channel.in_(channels),
                )
                .order_by(AlarmNotification.id)
                .limit(_BATCH)
            )
            claimed = list(
                await session.scalars(
                    sa.update(AlarmNotification)
                    .where(
                        AlarmNotification.id.in_(list(await session.scalars(due))),
                        AlarmNotification.status == "pending",
                        AlarmNotification.next_at <= now,
                    )
                    .values(next_at=now + _LEASE)
                    .returning(AlarmNotification.id)
                )
            )
            rows = await session.execute(
                sa.select(
                    AlarmNotification.id, AlarmNotification.channel, AlarmNotification.payload,
                    AlarmSubscription.target, AlarmSubscription.secret,
                )
                .join(AlarmSubscription)
                .where(AlarmNotification.id.in_(claimed))
                .order_by(AlarmNotification.id)
            )  # fmt: skip
            return [
                Outgoing(i, target, secret, {**p, "channel": c}) for i, c, p, target, secret in rows
            ]

    async def round(self) -> tuple[int, int]:
        """Send what is due; return (sent, failed attempts)."""
        sent = failed = 0
        for outgoing in await self._claim():
            channel = outgoing.payload.pop("channel")
            try:
                await self.senders[channel].send(outgoing)
            except Exception as exc:  # any failure of a receiver: retried later
                failed += 1
                await self._failed(outgoing.delivery_id, str(exc) or type(exc).__name__)
            else:
                sent += 1
                async with self.db.session() as session:
                    await session.execute(
                        sa.update(AlarmNotification)
                        .where(AlarmNotification.id == outgoing.delivery_id)
                        .values(
                            status="sent",
                            sent_at=self.clock.now(),
                            attempts=AlarmNotification.attempts + 1,
                            error=None,
                        )
                    )
        return sent, failed

    async def _failed(self, delivery_id: int, error: str) -> None:
        log.warning("alarm notification %s not delivered: %s", delivery_id, error)
        async with self.db.session() as session:
            attempts = 1 + int(
                await session.scalar(
                    sa.select(AlarmNotification.attempts).where(AlarmNotification.id == delivery_id)
                )
                or 0
            )
            backoff = self.settings.delivery_backoff * 2 ** (attempts - 1)
            done = attempts >= self.settings.delivery_attempts
            await session.execute(
                sa.update(AlarmNotification)
                .where(AlarmNotification.id == delivery_id)
                .values(
                    attempts=attempts,
                    status="failed" if done else "pending",
                    next_at=self.clock.now() + timedelta(seconds=backoff),
                    error=error[:500],
                )
            )
