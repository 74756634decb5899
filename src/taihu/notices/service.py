"""The bureau's side of notices: drafts, attachments, publishing, withdrawal, receipts, reminders.

A notice lives ``draft ──publish──► published ──withdraw──► withdrawn`` (a draft may be
withdrawn too, which cancels it). Publishing with a time still ahead only schedules it: the
notice stays a draft with ``publish_at`` set until the delivery job publishes it. Publishing
resolves the audience to enterprises, keeps them as recipients and puts one outbox row per
contact address and channel (``NoticeDelivery``) in the same unit of work.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from taihu.accounts import Principal, Role, record_audit
from taihu.core import N_, Clock, Conflict, InvalidInput, NotFound, SystemClock
from taihu.enterprises import Enterprise
from taihu.notices.audience import Audience, resolve_audience
from taihu.notices.body import MAX_BODY
from taihu.notices.models import (
    Notice,
    NoticeAttachment,
    NoticeContact,
    NoticeDelivery,
    NoticeRecipient,
)

__all__ = [
    "CHANNELS",
    "MAX_ATTACHMENT",
    "DeliveryCount",
    "NoticeDraft",
    "NoticeService",
    "Receipt",
    "Status",
]

CHANNELS = ("console", "email", "sms")
MAX_ATTACHMENT = 10 * 1024 * 1024
_MAX_ATTACHMENTS = 10


class Status:
    """The life of a notice."""

    DRAFT = "draft"
    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"
    ALL = (DRAFT, PUBLISHED, WITHDRAWN)


@dataclass(frozen=True, slots=True)
class NoticeDraft:
    """What the bureau writes: checked when constructed, nothing is stored from a bad draft."""

    title: str
    body: str
    audience: Audience
    channels: tuple[str, ...] = ("console",)
    require_ack: bool = False

    def __post_init__(self) -> None:
        title = " ".join(self.title.split())
        if not 1 <= len(title) <= 200:
            raise InvalidInput(N_("a notice title needs 1 to 200 characters"), code="bad_notice")
        if not self.body.strip() or len(self.body) > MAX_BODY:
            raise InvalidInput(N_("a notice body needs 1 to {limit} characters"),
                               code="bad_notice", limit=MAX_BODY)  # fmt: skip
        unknown = [c for c in self.channels if c not in CHANNELS]
        if unknown:
            raise InvalidInput(N_("no channel {channel} (one of {choices})"), code="bad_channel",
                               channel=", ".join(unknown), choices=", ".join(CHANNELS))  # fmt: skip
        # The console inbox always carries a notice: receipts are counted there.
        channels = tuple(c for c in CHANNELS if c == "console" or c in self.channels)
        object.__setattr__(self, "title", title)
        object.__setattr__(self, "channels", channels)


@dataclass(frozen=True, slots=True)
class DeliveryCount:
    """How an enterprise's messages outside the console fared."""

    pending: int = 0
    sent: int = 0
    failed: int = 0
    sending: int = 0  # handed to the SMS provider, its answer not yet recorded
    unknown: int = 0  # the provider's answer was lost: not sent again, awaiting its report


@dataclass(frozen=True, slots=True)
class Receipt:
    """One recipient enterprise and what it has done with the notice."""

    enterprise_id: int
    enterprise_name: str
    read_at: datetime | None
    read_by: str | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    reminders: int
    deliveries: DeliveryCount


def _not_found(notice_id: int) -> NotFound:
    return NotFound(N_("no notice {notice}"), code="notice_not_found", notice=notice_id)


def _clean_filename(name: str) -> str:
    # Only the last path part, without control characters: it is shown and sent back as is.
    base = re.split(r"[\\/]", name)[-1]
    return "".join(ch for ch in base if ch.isprintable()).strip()[:255] or "attachment"


def _snapshot(notice: Notice) -> dict[str, object]:
    return {"title": notice.title, "status": notice.status, "audience": notice.audience_kind,
            "refs": notice.audience_refs[:50], "channels": notice.channels,
            "require_ack": notice.require_ack,
            "publish_at": notice.publish_at.isoformat() if notice.publish_at else None}  # fmt: skip


class NoticeService:
    """Notices as the bureau writes and follows them (bureau and admin write, auditors read)."""

    def __init__(self, session: AsyncSession, clock: Clock | None = None) -> None:
        self.session = session
        self.clock = clock or SystemClock()

    async def create(self, actor: Principal, draft: NoticeDraft) -> Notice:
        """Write a new draft."""
        actor.require_role(Role.BUREAU)
        now = self.clock.now()
        notice = Notice(
            title=draft.title, body=draft.body, status=Status.DRAFT,
            require_ack=draft.require_ack, audience_kind=draft.audience.kind,
            audience_refs=list(draft.audience.refs), channels=list(draft.channels),
            created_by=actor.name, created_at=now, updated_at=now,
        )  # fmt: skip
        self.session.add(notice)
        await self.session.flush()
        await record_audit(self.session, actor, "notice.create", "notice", notice.id,
                           after=_snapshot(notice), at=now)  # fmt: skip
        return notice

    async def update(self, actor: Principal, notice_id: int, draft: NoticeDraft) -> Notice:
        """Rewrite a draft (a published notice is withdrawn and written anew instead)."""
        actor.require_role(Role.BUREAU)
        notice = await self._draft(notice_id)
        before = _snapshot(notice)
        notice.title, notice.body, notice.require_ack = draft.title, draft.body, draft.require_ack
        notice.audience_kind, notice.audience_refs = draft.audience.kind, list(draft.audience.refs)
        notice.channels, notice.updated_at = list(draft.channels), self.clock.now()
        await self.session.flush()
        await record_audit(self.session, actor, "notice.update", "notice", notice.id,
                           before=before, after=_snapshot(notice), at=self.clock.now())  # fmt: skip
        return notice

    async def get(self, actor: Principal, notice_id: int) -> Notice:
        """A notice for the staff roles (enterprise users open theirs through the inbox)."""
        actor.require_role(Role.BUREAU, Role.AUDITOR)
        notice = await self.session.get(Notice, notice_id)
        if notice is None:
            raise _not_found(notice_id)
        return notice

    async def recent(self, actor: Principal, status: str | None = None) -> list[Notice]:
        """Notices, newest first (staff roles)."""
        actor.require_role(Role.BUREAU, Role.AUDITOR)
        query = sa.select(Notice).order_by(Notice.id.desc()).limit(500)
        if status:
            query = query.where(Notice.status == status)
        return list(await self.session.scalars(query))

    async def _draft(self, notice_id: int) -> Notice:
        notice = await self.session.get(Notice, notice_id, with_for_update=True)
        if notice is None:
            raise _not_found(notice_id)
        if notice.status != Status.DRAFT:
            raise Conflict(N_("notice {notice} is {status}, not a draft"), code="notice_not_draft",
                           notice=notice_id, status=notice.status)  # fmt: skip
        return notice

    # -- attachments ---------------------------------------------------------------------------

    async def attach(
        self, actor: Principal, notice_id: int, filename: str, content: bytes, content_type: str
    ) -> NoticeAttachment:
        """Attach a file to a draft (at most ``MAX_ATTACHMENT`` bytes, ten per notice)."""
        actor.require_role(Role.BUREAU)
        notice = await self._draft(notice_id)
        if not content or len(content) > MAX_ATTACHMENT:
            raise InvalidInput(N_("an attachment needs 1 byte to {mb} MB"), code="bad_attachment",
                               mb=MAX_ATTACHMENT // (1024 * 1024))  # fmt: skip
        count = await self.session.scalar(
            sa.select(sa.func.count()).where(NoticeAttachment.notice_id == notice.id)
        )
        if (count or 0) >= _MAX_ATTACHMENTS:
            raise Conflict(N_("a notice has at most {limit} attachments"),
                           code="too_many_attachments", limit=_MAX_ATTACHMENTS)  # fmt: skip
        row = NoticeAttachment(
            notice_id=notice.id, filename=_clean_filename(filename),
            content_type=(content_type or "application/octet-stream")[:100], size=len(content),
            sha256=hashlib.sha256(content).hexdigest(), content=content,
            uploaded_at=self.clock.now(),
        )  # fmt: skip
        self.session.add(row)
        await self.session.flush()
        await record_audit(self.session, actor, "notice.attach", "notice", notice.id,
                           after={"attachment": row.id, "file": row.filename, "size": row.size,
                                  "sha256": row.sha256}, at=self.clock.now())  # fmt: skip
        return row

    async def attachments(self, notice_id: int) -> list[NoticeAttachment]:
        """A notice's attachments without their bytes (the caller has checked who reads)."""
        rows = await self.session.scalars(
            sa.select(NoticeAttachment).where(NoticeAttachment.notice_id == notice_id)
            .order_by(NoticeAttachment.id).options(sa.orm.defer(NoticeAttachment.content))
        )  # fmt: skip
        return list(rows)

    async def attachment(self, notice_id: int, attachment_id: int) -> NoticeAttachment:
        """One attachment with its bytes (the caller has checked who reads)."""
        row = await self.session.get(NoticeAttachment, attachment_id)
        if row is None or row.notice_id != notice_id:
            raise NotFound(N_("no attachment {attachment} in notice {notice}"),
                           code="attachment_not_found", attachment=attachment_id,
                           notice=notice_id)  # fmt: skip
        return row

    # -- publishing ----------------------------------------------------------------------------

    async def publish(self, actor: Principal, notice_id: int, at: datetime | None = None) -> Notice:
        """Publish a draft now, or schedule it when ``at`` is still ahead."""
        actor.require_role(Role.BUREAU)
        notice = await self._draft(notice_id)
        now = self.clock.now()
        if at is not None and at.tzinfo is None:
            raise InvalidInput(N_("give the publishing time with its time zone"),
                               code="bad_publish_at")  # fmt: skip
        if at is not None and at > now:
            before = _snapshot(notice)
            notice.publish_at, notice.updated_at = at, now
            await record_audit(self.session, actor, "notice.schedule", "notice", notice.id,
                               before=before, after=_snapshot(notice), at=now)  # fmt: skip
            return notice
        return await self._publish(actor, notice)

    async def _publish(self, actor: Principal, notice: Notice) -> Notice:
        audience = Audience(notice.audience_kind, tuple(notice.audience_refs))
        enterprise_ids = await resolve_audience(self.session, audience)
        if not enterprise_ids:
            raise InvalidInput(N_("the audience holds no enterprise; nothing to publish"),
                               code="empty_audience")  # fmt: skip
        before, now = _snapshot(notice), self.clock.now()
        self.session.add_all(
            NoticeRecipient(notice_id=notice.id, enterprise_id=e) for e in enterprise_ids
        )
        queued = await self._queue(notice, enterprise_ids, "notice")
        notice.status, notice.published_at, notice.updated_at = Status.PUBLISHED, now, now
        await self.session.flush()
        await record_audit(self.session, actor, "notice.publish", "notice", notice.id,
                           before=before, after={**_snapshot(notice),
                                                 "recipients": len(enterprise_ids),
                                                 "deliveries": queued}, at=now)  # fmt: skip
        return notice

    async def _queue(self, notice: Notice, enterprise_ids: list[int], purpose: str) -> int:
        """Outbox rows for the e-mail and SMS channels of the enterprises' contacts; how many."""
        channels = [c for c in notice.channels if c != "console"]
        if not channels or not enterprise_ids:
            return 0
        contacts = list(await self.session.scalars(
            sa.select(NoticeContact).where(NoticeContact.enterprise_id.in_(enterprise_ids))
            .order_by(NoticeContact.id)
        ))  # fmt: skip
        now, rows = self.clock.now(), []
        for contact in contacts:
            for channel in channels:
                address = contact.email if channel == "email" else contact.phone
                if channel == "sms" and (contact.consent_at is None or contact.sms_opt_out_at):
                    continue  # no SMS without recorded consent, nor after opting out (退订)
                if address:
                    rows.append(NoticeDelivery(
                        notice_id=notice.id, enterprise_id=contact.enterprise_id,
                        channel=channel, purpose=purpose, address=address, status="pending",
                        attempts=0, next_attempt_at=now, created_at=now,
                        idempotency_key=uuid.uuid4().hex if channel == "sms" else None,
                    ))  # fmt: skip
        self.session.add_all(rows)
        return len(rows)

    async def withdraw(self, actor: Principal, notice_id: int) -> Notice:
        """Withdraw a notice (it leaves the inboxes; messages not yet sent are not sent)."""
        actor.require_role(Role.BUREAU)
        notice = await self.session.get(Notice, notice_id, with_for_update=True)
        if notice is None:
            raise _not_found(notice_id)
        if notice.status == Status.WITHDRAWN:
            raise Conflict(N_("notice {notice} is withdrawn already"), code="notice_withdrawn",
                           notice=notice_id)  # fmt: skip
        before, now = _snapshot(notice), self.clock.now()
        notice.status, notice.withdrawn_at, notice.updated_at = Status.WITHDRAWN, now, now
        await self.session.execute(
            sa.update(NoticeDelivery)
            .where(NoticeDelivery.notice_id == notice.id, NoticeDelivery.status == "pending")
            .values(status="failed", last_error="withdrawn")
        )
        await record_audit(self.session, actor, "notice.withdraw", "notice", notice.id,
                           before=before, after=_snapshot(notice), at=now)  # fmt: skip
        return notice

    # -- following up --------------------------------------------------------------------------

    async def receipts(self, actor: Principal, notice_id: int) -> list[Receipt]:
        """Each recipient with its read and acknowledgement receipts and deliveries, by name."""
        await self.get(actor, notice_id)
        counts: dict[int, dict[str, int]] = {}
        for enterprise_id, status, n in await self.session.execute(
            sa.select(NoticeDelivery.enterprise_id, NoticeDelivery.status, sa.func.count())
            .where(NoticeDelivery.notice_id == notice_id)
            .group_by(NoticeDelivery.enterprise_id, NoticeDelivery.status)
        ):  # fmt: skip
            counts.setdefault(enterprise_id, {})[status] = int(n)
        rows = await self.session.execute(
            sa.select(NoticeRecipient, Enterprise.name)
            .join(Enterprise, Enterprise.id == NoticeRecipient.enterprise_id)
            .where(NoticeRecipient.notice_id == notice_id).order_by(Enterprise.name)
        )  # fmt: skip
        return [
            Receipt(
                r.enterprise_id,
                name,
                r.read_at,
                r.read_by,
                r.acknowledged_at,
                r.acknowledged_by,
                r.reminders,
                DeliveryCount(**counts.get(r.enterprise_id, {})),
            )
            for r, name in rows
        ]

    async def remind(self, actor: Principal, notice_id: int) -> int:
        """Remind the recipients who have not read (or not acknowledged, where asked); how many."""
        actor.require_role(Role.BUREAU)
        notice = await self.get(actor, notice_id)
        if notice.status != Status.PUBLISHED:
            raise Conflict(N_("notice {notice} is {status}, not published"),
                           code="notice_not_published", notice=notice_id,
                           status=notice.status)  # fmt: skip
        waiting = NoticeRecipient.acknowledged_at if notice.require_ack else NoticeRecipient.read_at
        rows = list(await self.session.scalars(
            sa.select(NoticeRecipient)
            .where(NoticeRecipient.notice_id == notice.id, waiting.is_(None))
            .order_by(NoticeRecipient.enterprise_id)
        ))  # fmt: skip
        now = self.clock.now()
        for row in rows:
            row.reminders += 1
            row.reminded_at = now
        queued = await self._queue(notice, [r.enterprise_id for r in rows], "reminder")
        await self.session.flush()
        await record_audit(self.session, actor, "notice.remind", "notice", notice.id,
                           after={"enterprise_ids": [r.enterprise_id for r in rows][:500],
                                  "deliveries": queued}, at=now)  # fmt: skip
        return len(rows)
