"""Notices to enterprises (通知): console inbox, read receipts, acknowledgements, e-mail, SMS.

``service`` is the bureau's side (drafts, publishing, receipts, reminders), ``inbox`` the
enterprise's, ``audience`` resolves who a notice is for, ``body`` renders Markdown safely,
``channels`` holds the mail interface, ``sms`` the SMS one with its provider adapters
(``aliyun``, ``tencent``, the ``smpp`` package), ``jobs`` the delivery job and ``outbox`` the
SMS outbox;
``survey_reminders`` reminds enterprises of overdue surveys through their inbox.
"""

from taihu.notices.alarm_mail import AlarmMailSender
from taihu.notices.alarm_sms import AlarmSmsSender
from taihu.notices.aliyun import AliyunSms, aliyun_reports
from taihu.notices.api import receipts_out
from taihu.notices.audience import AUDIENCE_KINDS, Audience, resolve_audience
from taihu.notices.body import render_body
from taihu.notices.channels import DeliveryError, Mailer, OutgoingMail, SmtpMailer, sms_gateway
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
from taihu.notices.outbox import SmsRound, deliver_sms, record_reports, recover_stale
from taihu.notices.service import (
    CHANNELS,
    MAX_ATTACHMENT,
    NoticeDraft,
    NoticeService,
    Receipt,
    Status,
)
from taihu.notices.smpp import SmppSms
from taihu.notices.sms import (
    DeliveryReport,
    LoggingSmsGateway,
    RateLimiter,
    SmsBatch,
    SmsGateway,
    SmsOutcome,
    SmsReceiver,
    SmsRetry,
    SmsUncertain,
)
from taihu.notices.survey_reminders import ReminderRound, remind_overdue_surveys
from taihu.notices.tencent import TencentSms, tencent_reports

__all__ = [
    "AUDIENCE_KINDS",
    "CHANNELS",
    "MAX_ATTACHMENT",
    "AlarmMailSender",
    "AlarmSmsSender",
    "AliyunSms",
    "Audience",
    "Contacts",
    "DeliveryError",
    "DeliveryReport",
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
    "RateLimiter",
    "Receipt",
    "ReminderRound",
    "SmppSms",
    "SmsBatch",
    "SmsGateway",
    "SmsOutcome",
    "SmsReceiver",
    "SmsRetry",
    "SmsRound",
    "SmsUncertain",
    "SmtpMailer",
    "Status",
    "SurveyReminder",
    "TencentSms",
    "aliyun_reports",
    "deliver_due",
    "deliver_sms",
    "publish_due",
    "receipts_out",
    "record_reports",
    "recover_stale",
    "remind_overdue_surveys",
    "remind_surveys",
    "render_body",
    "resolve_audience",
    "sms_gateway",
    "tencent_reports",
]
