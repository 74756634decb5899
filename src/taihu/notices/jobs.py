"""The delivery job: publish the scheduled notices that are due, then work through the outbox.

Each e-mail outbox row (``NoticeDelivery``) is sent in a unit of work of its own and its
outcome committed at once: ``sent``, or another try after ``retry_seconds * 2^(attempts-1)``,
or ``failed`` after ``max_attempts`` tries (the last error is kept). E-mail waits while no SMTP
server is configured. A crash between handing an e-mail over and committing leaves the row
pending, so that one e-mail may go twice (at least once). SMS go through ``outbox.py``, which
claims before sending and never repeats a call whose outcome it lost (at most once).
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial

import sqlalchemy as sa

from taihu.accounts import Principal, record_audit
from taihu.core import N_, Clock, Database, PeriodicJob, Translate, render_text, singleton_lease
from taihu.notices.body import render_body
from taihu.notices.channels import DeliveryError, Mailer, OutgoingMail
from taihu.notices.models import Notice, NoticeDelivery
from taihu.notices.outbox import deliver_sms, record_reports
from taihu.notices.service import NoticeService
from taihu.notices.sms import RateLimiter, SmsGateway, SmsReceiver
from taihu.notices.survey_reminders import remind_overdue_surveys
from taihu.settings import NoticeSettings, SmsSettings

__all__ = ["DeliveryRound", "NoticeJobs", "deliver_due", "publish_due", "remind_surveys"]

log = logging.getLogger("taihu.notices")
SYSTEM = "notices"
_BATCH = 200


@dataclass(slots=True)
class DeliveryRound:
    """What one round did."""

    published: list[int] = field(default_factory=list)
    reminded: int = 0  # enterprises reminded of an overdue survey
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    unknown: int = 0  # SMS whose provider answer was lost (not sent again)


async def publish_due(db: Database, clock: Clock) -> list[int]:
    """Publish the scheduled notices whose time has come; a bad one does not stop the others."""
    async with db.session() as session:
        due = list(await session.scalars(
            sa.select(Notice.id).where(Notice.status == "draft", Notice.publish_at.is_not(None),
                                       Notice.publish_at <= clock.now())
        ))  # fmt: skip
    done = []
    for notice_id in due:
        try:
            async with db.session() as session:
                service = NoticeService(session, clock)
                await service.publish(Principal.system(SYSTEM), notice_id)
            done.append(notice_id)
        except Exception:  # an audience emptied since scheduling: the others still go out
            log.exception("scheduled notice %s could not be published", notice_id)
    return done


async def remind_surveys(db: Database, clock: Clock) -> int:
    """Today's reminders of overdue surveys; how many enterprises they reached."""
    try:
        async with db.session() as session:
            return (await remind_overdue_surveys(session, clock)).enterprises
    except Exception:  # another server reminded the same enterprise first: tomorrow's round
        log.exception("survey reminders failed")
        return 0


def _compose(
    notice: Notice, purpose: str, settings: NoticeSettings, translate: Translate
) -> tuple[str, str, str]:
    """Subject, plain text and HTML of a notice's message."""
    subject = notice.title
    if purpose == "reminder":
        subject = render_text(N_("Reminder: {title}"), {"title": notice.title}, translate)
    link = f"{settings.console_url.rstrip('/')}/inbox/{notice.id}" if settings.console_url else ""
    text = f"{notice.title}\n\n{notice.body}\n"
    page = f"<h1>{html.escape(notice.title)}</h1>\n{render_body(notice.body)}"
    if link:
        prompt = render_text(N_("Read it and answer in the console: {link}"), {"link": link},
                             translate)  # fmt: skip
        text += f"\n{prompt}\n"
        page += f'<p><a href="{html.escape(link)}">{html.escape(prompt)}</a></p>'
    return subject, text, page


async def deliver_due(
    db: Database, clock: Clock, settings: NoticeSettings, *, mailer: Mailer | None,
    sms: SmsGateway, translate: Translate, sms_settings: SmsSettings | None = None,
    limiter: RateLimiter | None = None,
) -> DeliveryRound:  # fmt: skip
    """Send the outbox rows that are due (e-mail only with a mailer); what happened."""
    result = DeliveryRound()
    texts = await deliver_sms(db, clock, settings, sms_settings or SmsSettings(), sms, limiter)
    result.sent, result.retrying = texts.sent, texts.retrying
    result.failed, result.unknown = texts.failed, texts.unknown
    if mailer is None:
        return result
    async with db.session() as session:
        due = list(await session.scalars(
            sa.select(NoticeDelivery.id).where(
                NoticeDelivery.status == "pending", NoticeDelivery.next_attempt_at <= clock.now(),
                NoticeDelivery.channel == "email")
            .order_by(NoticeDelivery.next_attempt_at, NoticeDelivery.id).limit(_BATCH)
        ))  # fmt: skip
    for delivery_id in due:
        async with db.session() as session:
            row = await session.get(NoticeDelivery, delivery_id, with_for_update=True)
            notice = await session.get(Notice, row.notice_id) if row else None
            if row is None or notice is None or row.status != "pending":
                continue  # another process took it
            subject, text, page = _compose(notice, row.purpose, settings, translate)
            row.attempts += 1
            try:
                await mailer.send(OutgoingMail(row.address, subject, text, page))
            except DeliveryError as exc:
                row.last_error = str(exc)[:300]
                if row.attempts >= settings.max_attempts:
                    row.status = "failed"
                    result.failed += 1
                else:
                    wait = settings.retry_seconds * 2 ** (row.attempts - 1)
                    row.next_attempt_at = clock.now() + timedelta(seconds=wait)
                    result.retrying += 1
            else:
                row.status, row.sent_at, row.last_error = "sent", clock.now(), None
                result.sent += 1
            if row.status != "pending":
                await record_audit(session, Principal.system(SYSTEM), f"notice.{row.status}",
                                   "notice", row.notice_id,
                                   after={"delivery": row.id, "channel": row.channel,
                                          "address": row.address, "attempts": row.attempts,
                                          "error": row.last_error}, at=clock.now())  # fmt: skip
    return result


class NoticeJobs:
    """The server's periodic round of :func:`publish_due` and :func:`deliver_due`."""

    def __init__(
        self, db: Database, settings: NoticeSettings, clock: Clock, *, mailer: Mailer | None,
        sms: SmsGateway, translate: Translate, sms_settings: SmsSettings | None = None,
    ) -> None:  # fmt: skip
        self.db, self.settings, self.clock = db, settings, clock
        self.mailer, self.sms, self.translate = mailer, sms, translate
        self.sms_settings = sms_settings or SmsSettings()
        self.limiter = RateLimiter(self.sms_settings.rate_per_second)
        every = max(settings.job_seconds, 1)
        self._job = PeriodicJob("notices", self.round, every,
                                lease=singleton_lease(db, "notices", every))  # fmt: skip
        self._receiver: asyncio.Task[None] | None = None

    async def round(self) -> DeliveryRound:
        """One round: publish what is due, send what is due."""
        published = await publish_due(self.db, self.clock)
        reminded = await remind_surveys(self.db, self.clock)
        result = await deliver_due(self.db, self.clock, self.settings, mailer=self.mailer,
                                   sms=self.sms, translate=self.translate,
                                   sms_settings=self.sms_settings,
                                   limiter=self.limiter)  # fmt: skip
        result.published, result.reminded = published, reminded
        return result

    def start(self) -> None:
        """Start the round (unless TAIHU_NOTICES_JOB_SECONDS is 0) and an SMPP bind's reports."""
        if not self.settings.job_seconds:
            return
        self._job.start()
        if isinstance(self.sms, SmsReceiver):
            record = partial(record_reports, self.db, self.clock, self.sms.name)
            self._receiver = asyncio.get_running_loop().create_task(
                self.sms.receive(record), name="notices-sms-reports"
            )

    async def stop(self) -> None:
        """Let a round under way finish, then stop (and unbind an SMS connection)."""
        await self._job.stop()
        if self._receiver is not None:
            self._receiver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._receiver
            self._receiver = None
        if isinstance(self.sms, SmsReceiver):
            await self.sms.aclose()
