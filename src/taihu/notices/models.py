"""Tables of the notices context: notices, attachments, recipients (receipts), deliveries."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from taihu.core import Base, JSONType, UTCDateTime

__all__ = [
    "Notice",
    "NoticeAttachment",
    "NoticeContact",
    "NoticeDelivery",
    "NoticeRecipient",
    "SurveyReminder",
]


class Notice(Base):
    """A notice from the bureau: Markdown body, audience, channels and its life."""

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text())  # Markdown source, rendered without raw HTML
    status: Mapped[str] = mapped_column(sa.String(16), index=True)  # draft, published, withdrawn
    require_ack: Mapped[bool] = mapped_column(default=False)
    # Who it is for, as asked: a kind (all, township, industry, chain, list, enterprises) and
    # its references; resolved to recipients when published and kept as resolved then.
    audience_kind: Mapped[str] = mapped_column(sa.String(16))
    audience_refs: Mapped[list[str]] = mapped_column(JSONType)
    channels: Mapped[list[str]] = mapped_column(JSONType)  # console always; email, sms
    publish_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None, index=True)
    created_by: Mapped[str] = mapped_column(sa.String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class NoticeAttachment(Base):
    """A file attached to a notice, stored in the database beside it."""

    __tablename__ = "notice_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(
        sa.ForeignKey("notices.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(sa.String(255))
    content_type: Mapped[str] = mapped_column(sa.String(100))
    size: Mapped[int] = mapped_column(sa.Integer())
    sha256: Mapped[str] = mapped_column(sa.String(64))
    content: Mapped[bytes] = mapped_column(sa.LargeBinary())
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class NoticeRecipient(Base):
    """An enterprise a published notice went to, with its read and acknowledgement receipts."""

    __tablename__ = "notice_recipients"
    __table_args__ = (sa.UniqueConstraint("notice_id", "enterprise_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(
        sa.ForeignKey("notices.id", ondelete="CASCADE"), index=True
    )
    enterprise_id: Mapped[int] = mapped_column(
        sa.ForeignKey("enterprises.id", ondelete="CASCADE"), index=True
    )
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    read_by: Mapped[str | None] = mapped_column(sa.String(128), default=None)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    acknowledged_by: Mapped[str | None] = mapped_column(sa.String(128), default=None)
    reminders: Mapped[int] = mapped_column(sa.Integer(), default=0)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class NoticeContact(Base):
    """Where an enterprise receives notices outside the console (e-mail, mobile)."""

    __tablename__ = "notice_contacts"
    __table_args__ = (sa.UniqueConstraint("enterprise_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(
        sa.ForeignKey("enterprises.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(80))
    email: Mapped[str | None] = mapped_column(sa.String(254), default=None)
    phone: Mapped[str | None] = mapped_column(sa.String(20), default=None)
    role: Mapped[str | None] = mapped_column(sa.String(40), default=None)  # 安全员, 负责人…
    # Consent to be sent notices: when, how (written form, phone call, entered themselves), by whom.
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    consent_how: Mapped[str | None] = mapped_column(sa.String(120), default=None)
    consent_by: Mapped[str | None] = mapped_column(sa.String(128), default=None)
    sms_opt_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)  # 退订
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class NoticeDelivery(Base):
    """One message to one address over one channel: the outbox row and its delivery record."""

    __tablename__ = "notice_deliveries"
    __table_args__ = (sa.Index("ix_notice_deliveries_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(
        sa.ForeignKey("notices.id", ondelete="CASCADE"), index=True
    )
    enterprise_id: Mapped[int] = mapped_column(
        sa.ForeignKey("enterprises.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(sa.String(8))  # email, sms
    purpose: Mapped[str] = mapped_column(sa.String(8))  # notice, reminder
    address: Mapped[str] = mapped_column(sa.String(254))
    status: Mapped[str] = mapped_column(sa.String(8))  # pending, sending, sent, unknown, failed
    attempts: Mapped[int] = mapped_column(sa.Integer(), default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(sa.String(300), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    # SMS: the message's own key, the provider call that carried it (OutId / SessionContext),
    # the provider's id for it (BizId / SerialNo) and its delivery report.
    idempotency_key: Mapped[str | None] = mapped_column(
        sa.String(40), default=None, index=True, unique=True
    )
    out_id: Mapped[str | None] = mapped_column(sa.String(40), default=None, index=True)
    provider: Mapped[str | None] = mapped_column(sa.String(16), default=None)
    provider_ref: Mapped[str | None] = mapped_column(sa.String(64), default=None, index=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    report: Mapped[str | None] = mapped_column(sa.String(64), default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class SurveyReminder(Base):
    """A reminder of an overdue survey sent to an enterprise's inbox: one a day at most."""

    __tablename__ = "notice_survey_reminders"
    __table_args__ = (sa.UniqueConstraint("survey_id", "enterprise_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(sa.ForeignKey("survey_forms.id", ondelete="CASCADE"))
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(sa.Date())
    notice_id: Mapped[int] = mapped_column(sa.ForeignKey("notices.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
