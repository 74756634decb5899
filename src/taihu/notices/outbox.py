"""The SMS outbox: claim a batch, send it once, record each number; settle lost answers by reports.

A provider call goes in three steps, each its own transaction:

1. **claim**: up to the provider's batch size of due rows of one notice and purpose (one
   template) are marked ``sending`` with a fresh ``out_id`` and committed — before anything
   leaves. Two processes cannot claim the same row: the update is conditional on ``pending``.
2. **send**: one provider call for the claimed numbers, under the rate limit.
3. **mark**: each row ``sent`` (with the provider's id), back to ``pending`` with backoff
   (throttled, a per-number frequency limit), or ``failed`` (a permanent per-number error, or
   too many tries); each outcome audited.

A crash (``kill -9``) between 1 and 3 leaves rows ``sending``. They are never sent again:
neither Alibaba's SendSms nor Tencent's SendSms deduplicates (``OutId``/``SessionContext`` are
only echoed back), so a repeat would reach the phone twice. Rows still ``sending`` after
``TAIHU_SMS_CLAIM_SECONDS`` become ``unknown``; a delivery report naming the row's ``out_id``
or provider id settles it (``sent``, with the report). The promise is therefore *at most once*
per row, and exactly once for every row the provider took, once its report arrives; a row
claimed but never handed over before the crash stays ``unknown`` for a person to resend.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from taihu.accounts import Principal, record_audit
from taihu.core import Clock, Database
from taihu.notices.models import Notice, NoticeContact, NoticeDelivery
from taihu.notices.sms import (
    DeliveryReport,
    RateLimiter,
    SmsBatch,
    SmsGateway,
    SmsOutcome,
    SmsRetry,
    SmsUncertain,
)
from taihu.settings import NoticeSettings, SmsSettings

__all__ = ["SmsRound", "deliver_sms", "record_reports", "recover_stale"]

log = logging.getLogger("taihu.notices")
SYSTEM = Principal.system("notices")
_TITLE = 20  # template variables are short: providers cap them (Alibaba at 35 characters)


@dataclass(slots=True)
class SmsRound:
    """What one round of the SMS outbox did (messages, not calls)."""

    calls: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    unknown: int = 0


def _template(settings: SmsSettings, gateway: SmsGateway, purpose: str) -> str:
    code = settings.template_reminder if purpose == "reminder" else settings.template_notice
    code = code or settings.template_notice
    return code or (purpose if gateway.name == "log" else "")


async def _audit(session: AsyncSession, row: NoticeDelivery, action: str, clock: Clock) -> None:
    await record_audit(session, SYSTEM, action, "notice", row.notice_id,
                       after={"delivery": row.id, "channel": "sms", "address": row.address,
                              "key": row.idempotency_key, "out_id": row.out_id,
                              "provider": row.provider, "provider_ref": row.provider_ref,
                              "attempts": row.attempts, "error": row.last_error},
                       at=clock.now())  # fmt: skip


async def recover_stale(db: Database, clock: Clock, settings: SmsSettings) -> int:
    """Mark rows left ``sending`` longer than the claim time ``unknown`` (not to send again)."""
    cutoff = clock.now() - timedelta(seconds=settings.claim_seconds)
    async with db.session() as session:
        rows = list(await session.scalars(
            sa.select(NoticeDelivery).where(NoticeDelivery.channel == "sms",
                                            NoticeDelivery.status == "sending",
                                            NoticeDelivery.claimed_at < cutoff)
            .with_for_update()
        ))  # fmt: skip
        for row in rows:
            row.status = "unknown"
            row.last_error = "no answer recorded (process stopped?): not resent, awaiting a report"
            await _audit(session, row, "notice.sms_unknown", clock)
    return len(rows)


async def _claim(
    db: Database, clock: Clock, gateway: SmsGateway
) -> tuple[str, list[NoticeDelivery], Notice, int] | None:
    """Claim one batch: its out-id, rows, notice and how many opted out (None: nothing due)."""
    now, out_id = clock.now(), uuid.uuid4().hex
    async with db.session() as session:
        due = sa.and_(NoticeDelivery.channel == "sms", NoticeDelivery.status == "pending",
                      NoticeDelivery.next_attempt_at <= now)  # fmt: skip
        first = (await session.execute(
            sa.select(NoticeDelivery.notice_id, NoticeDelivery.purpose).where(due)
            .order_by(NoticeDelivery.next_attempt_at, NoticeDelivery.id).limit(1)
        )).first()  # fmt: skip
        if first is None:
            return None
        candidates = (await session.execute(
            sa.select(NoticeDelivery.id, NoticeDelivery.address, NoticeDelivery.enterprise_id)
            .where(due, NoticeDelivery.notice_id == first[0], NoticeDelivery.purpose == first[1])
            .order_by(NoticeDelivery.id).limit(gateway.batch_size * 2)
        )).all()  # fmt: skip
        opted_out = {(e, p) for e, p in (await session.execute(
            sa.select(NoticeContact.enterprise_id, NoticeContact.phone).where(
                NoticeContact.enterprise_id.in_({c[2] for c in candidates}),
                NoticeContact.sms_opt_out_at.is_not(None))
        )).all()}  # fmt: skip
        ids: list[int] = []
        phones: set[str] = set()
        dropped: list[int] = []
        for id_, phone, enterprise_id in candidates:
            if (enterprise_id, phone) in opted_out:
                dropped.append(id_)
            elif phone not in phones and len(ids) < gateway.batch_size:
                ids.append(id_)  # a number once per call: outcomes are per number
                phones.add(phone)
        for row in await session.scalars(
            sa.select(NoticeDelivery).where(NoticeDelivery.id.in_(dropped))
        ):  # fmt: skip
            row.status, row.last_error = "failed", "opted out (退订)"
            await _audit(session, row, "notice.failed", clock)
        await session.execute(
            sa.update(NoticeDelivery)
            .where(NoticeDelivery.id.in_(ids), NoticeDelivery.status == "pending")
            .values(status="sending", out_id=out_id, claimed_at=now, provider=gateway.name,
                    attempts=NoticeDelivery.attempts + 1)
            .execution_options(synchronize_session=False)
        )  # fmt: skip
        rows = list(await session.scalars(
            sa.select(NoticeDelivery).where(NoticeDelivery.out_id == out_id)
            .order_by(NoticeDelivery.id)
        ))  # fmt: skip
        notice = await session.get(Notice, first[0])
    if notice is None:
        return None
    return (out_id, rows, notice, len(dropped)) if rows or dropped else None


async def _mark(
    db: Database, clock: Clock, settings: NoticeSettings, rows: list[NoticeDelivery],
    outcomes: dict[str, SmsOutcome] | None, error: Exception | None, result: SmsRound,
) -> None:  # fmt: skip
    """Record a call's outcome on each of its rows, in one transaction."""
    now = clock.now()
    async with db.session() as session:
        for claimed in rows:
            row = await session.get(NoticeDelivery, claimed.id, with_for_update=True)
            if row is None or row.status != "sending" or row.out_id != claimed.out_id:
                continue  # settled meanwhile (a report, or a person)
            outcome = outcomes.get(row.address) if outcomes is not None else None
            if isinstance(error, SmsUncertain) or (outcomes is not None and outcome is None):
                row.status, row.last_error = "unknown", str(error or "no outcome")[:300]
                result.unknown += 1
                await _audit(session, row, "notice.sms_unknown", clock)
                continue
            if outcome is not None and outcome.status == "sent":
                row.status, row.sent_at, row.last_error = "sent", now, None
                row.provider_ref = (outcome.provider_ref or "")[:64] or None
                result.sent += 1
                await _audit(session, row, "notice.sent", clock)
                continue
            why = (f"{outcome.code}: {outcome.message}" if outcome else str(error))[:300]
            row.last_error = why
            if (outcome is not None and outcome.status == "permanent") or (
                row.attempts >= settings.max_attempts
            ):
                row.status = "failed"
                result.failed += 1
                await _audit(session, row, "notice.failed", clock)
            else:
                row.status = "pending"
                wait = settings.retry_seconds * 2 ** (row.attempts - 1)
                row.next_attempt_at = now + timedelta(seconds=wait)
                result.retrying += 1


async def deliver_sms(
    db: Database, clock: Clock, settings: NoticeSettings, sms: SmsSettings, gateway: SmsGateway,
    limiter: RateLimiter | None = None, *, max_calls: int = 50,
) -> SmsRound:  # fmt: skip
    """Send due SMS in batches, up to ``max_calls`` provider calls; what happened."""
    result = SmsRound()
    result.unknown += await recover_stale(db, clock, sms)
    limiter = limiter or RateLimiter(sms.rate_per_second)
    for _ in range(max_calls):
        claimed = await _claim(db, clock, gateway)
        if claimed is None:
            break
        out_id, rows, notice, opted_out = claimed
        result.failed += opted_out
        if not rows:
            continue  # only opted-out numbers in this lot
        template = _template(sms, gateway, rows[0].purpose)
        if not template:
            log.warning("no SMS template set (TAIHU_SMS_TEMPLATE_NOTICE): SMS wait")
            await _mark(db, clock, settings, rows, None, SmsRetry("no SMS template set"), result)
            break
        batch = SmsBatch(template, {"title": notice.title[:_TITLE]}, [r.address for r in rows],
                         out_id)  # fmt: skip
        await limiter.wait()
        result.calls += 1
        try:
            outcomes = await gateway.send(batch)
        except (SmsRetry, SmsUncertain) as exc:
            await _mark(db, clock, settings, rows, None, exc, result)
            if isinstance(exc, SmsRetry):
                break  # throttled or down: the rest waits for the next round
            continue
        await _mark(db, clock, settings, rows, {o.phone: o for o in outcomes}, None, result)
    return result


async def record_reports(
    db: Database, clock: Clock, provider: str, reports: list[DeliveryReport]
) -> int:
    """Record delivery reports on their rows (settling ``sending``/``unknown``); matches."""
    matched = 0
    async with db.session() as session:
        for report in reports:
            phone = report.phone.removeprefix("+86").removeprefix("86")
            keys = []
            if report.provider_ref:
                keys.append(NoticeDelivery.provider_ref == report.provider_ref)
            if report.out_id:
                keys.append(NoticeDelivery.out_id == report.out_id)
            if not keys:
                continue
            row = await session.scalar(
                sa.select(NoticeDelivery).where(
                    NoticeDelivery.channel == "sms", NoticeDelivery.provider == provider,
                    NoticeDelivery.address == phone, sa.or_(*keys))
                .order_by(NoticeDelivery.id).limit(1).with_for_update()
            )  # fmt: skip
            if row is None:
                continue
            matched += 1
            if row.status in ("sending", "unknown"):
                row.status, row.sent_at = "sent", report.at or clock.now()
                row.last_error = None
            row.report = (report.code or ("DELIVERED" if report.delivered else "FAILED"))[:64]
            if report.delivered:
                row.delivered_at = report.at or clock.now()
            await _audit(session, row, "notice.sms_report", clock)
    return matched
