"""Notices to enterprises (通知): console inbox, read receipts, acknowledgements, e-mail, SMS.

``service`` is the bureau's side (drafts, publishing, receipts, reminders), ``inbox`` the
enterprise's, ``audience`` resolves who a notice is for, ``body`` renders Markdown safely,
``channels`` holds the mail and SMS interfaces and ``jobs`` the delivery job with its outbox.
"""

from taihu.notices.alarm_mail import AlarmMailSender
from taihu.notices.audience import AUDIENCE_KINDS, Audience, resolve_audience
from taihu.notices.body import render_body
from taihu.notices.channels import (
    DeliveryError,
    LoggingSmsGateway,
    Mailer,
    OutgoingMail,
    SmsGateway,
    SmtpMailer,
)
from taihu.notices.contacts import Contacts
from taihu.notices.inbox import Inbox, InboxItem
from taihu.notices.jobs import DeliveryRound, NoticeJobs, deliver_due, publish_due
from taihu.notices.models import (
    Notice,
    NoticeAttachment,
    NoticeContact,
    NoticeDelivery,
    NoticeRecipient,
)
from taihu.notices.service import (
    CHANNELS,
    MAX_ATTACHMENT,
    NoticeDraft,
    NoticeService,
    Receipt,
    Status,
)

__all__ = [
    "AUDIENCE_KINDS",
    "CHANNELS",
    "MAX_ATTACHMENT",
    "AlarmMailSender",
    "Audience",
    "Contacts",
    "DeliveryError",
    "DeliveryRound",
    "Inbox",
    "InboxItem",
    "LoggingSmsGateway",
    "Mailer",
    "Notice",
    "NoticeAttachment",
    "NoticeContact",
    "NoticeDelivery",
    "NoticeDraft",
    "NoticeJobs",
    "NoticeRecipient",
    "NoticeService",
    "OutgoingMail",
    "Receipt",
    "SmsGateway",
    "SmtpMailer",
    "Status",
    "deliver_due",
    "publish_due",
    "render_body",
    "resolve_audience",
]
