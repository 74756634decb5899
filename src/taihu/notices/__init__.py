"""Notices to enterprises (通知): console inbox, read receipts, acknowledgements, e-mail, SMS.

``service`` is the bureau's side (drafts, publishing, receipts, reminders), ``inbox`` the
enterprise's, ``audience`` resolves who a notice is for, ``body`` renders Markdown safely,
``channels`` holds the mail and SMS interfaces and ``jobs`` the delivery job with its outbox;
``survey_reminders`` reminds enterprises of overdue surveys through their inbox.
"""

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
from taihu.notices.jobs import DeliveryRound, NoticeJobs, deliver_due, publish_due, remind_surveys
from taihu.notices.models import (
    Notice,
    NoticeAttachment,
    NoticeContact,
    NoticeDelivery,
    NoticeRecipient,
    SurveyReminder,
)
from taihu.notices.service import (
    CHANNELS,
    MAX_ATTACHMENT,
    NoticeDraft,
    NoticeService,
    Receipt,
    Status,
)
from taihu.notices.survey_reminders import ReminderRound, remind_overdue_surveys

__all__ = [
    "AUDIENCE_KINDS",
    "CHANNELS",
    "MAX_ATTACHMENT",
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
    "ReminderRound",
    "SmsGateway",
    "SmtpMailer",
    "Status",
    "SurveyReminder",
    "deliver_due",
    "publish_due",
    "remind_overdue_surveys",
    "remind_surveys",
    "render_body",
    "resolve_audience",
]
