"""The channels a notice leaves the platform by: e-mail over SMTP and SMS, behind small interfaces.

``Mailer`` and ``SmsGateway`` (``sms.py``) are what the delivery job (``jobs.py``) talks to.
``SmtpMailer`` speaks SMTP with the standard library in a worker thread (one connection per
message: notices are few and a broken connection must not poison the next).
``sms_gateway`` picks the SMS provider adapter of ``TAIHU_SMS_PROVIDER`` (HTTP APIs or SMPP).
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol

from taihu.notices.aliyun import AliyunSms
from taihu.notices.smpp import SmppSms
from taihu.notices.sms import LoggingSmsGateway, SmsGateway
from taihu.notices.tencent import TencentSms
from taihu.settings import NoticeSettings, SmsSettings

__all__ = ["DeliveryError", "Mailer", "OutgoingMail", "SmtpMailer", "sms_gateway"]

log = logging.getLogger("taihu.notices")


class DeliveryError(Exception):
    """A message could not be handed over; the text says why (kept on the delivery record)."""


@dataclass(frozen=True, slots=True)
class OutgoingMail:
    """One e-mail to one address: a plain-text part and its HTML alternative."""

    to: str
    subject: str
    text: str
    html: str


class Mailer(Protocol):
    """Hands an e-mail to a mail server."""

    async def send(self, mail: OutgoingMail) -> None:
        """Send, or raise ``DeliveryError``."""
        ...


class SmtpMailer:
    """E-mail through the SMTP server of ``TAIHU_NOTICES_SMTP_*``."""

    def __init__(self, settings: NoticeSettings) -> None:
        self.settings = settings

    @property
    def configured(self) -> bool:
        """Whether an SMTP server is set."""
        return bool(self.settings.smtp_host)

    async def send(self, mail: OutgoingMail) -> None:
        """Send one message (in a thread: smtplib blocks)."""
        message = EmailMessage()
        message["From"] = self.settings.sender
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message.set_content(mail.text)
        message.add_alternative(mail.html, subtype="html")
        try:
            await asyncio.to_thread(self._send, message)
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}"[:300]) from exc

    def _send(self, message: EmailMessage) -> None:
        s = self.settings
        with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout) as smtp:
            if s.smtp_starttls:
                smtp.starttls()
            if s.smtp_username:
                smtp.login(s.smtp_username, s.smtp_password.get_secret_value())
            smtp.send_message(message)


def sms_gateway(settings: SmsSettings) -> SmsGateway:
    """The adapter of the configured SMS provider (``log`` sends nothing)."""
    if settings.provider == "aliyun":
        return AliyunSms(settings)
    if settings.provider == "tencent":
        return TencentSms(settings)
    if settings.provider == "smpp":
        return SmppSms(settings)
    return LoggingSmsGateway(batch_size=settings.batch_size or 100)
