"""Alarm notifications by SMS: the alarms context's ``sms`` channel, sent by notices' gateway.

Providers in mainland China send approved templates only, so an alarm goes out as the template
``TAIHU_SMS_ALARM_TEMPLATE`` with its variables (name, severity, event, device, value), one number
per call. The assembly registers it with the alarm delivery, as it does e-mail.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from taihu.alarms import Outgoing
from taihu.notices.sms import SmsBatch, SmsGateway, SmsUncertain

__all__ = ["AlarmSmsSender", "SmsNotSent"]

log = logging.getLogger("taihu.notices")
_VALUE_CHARS = 20  # providers cap each template variable (Alibaba: 20 characters by default)


class SmsNotSent(RuntimeError):
    """The provider did not take the message for this number (the delivery tries again)."""


class AlarmSmsSender:
    """Writes an alarm notification as the approved template's variables and sends it."""

    def __init__(
        self, gateway: SmsGateway, template: str, translate: Callable[[str], str] = lambda s: s
    ) -> None:
        self.gateway, self.template, self._ = gateway, template, translate

    async def send(self, outgoing: Outgoing) -> None:
        """Send, or raise (``SmsRetry``, ``SmsNotSent``): the delivery retries with backoff."""
        p = outgoing.payload
        event = {"created": self._("raised"), "escalated": self._("escalated"),
                 "cleared": self._("cleared")}.get(str(p["event"]), str(p["event"]))  # fmt: skip
        raw = p.get("value")
        value = "" if raw is None else f"{raw:g}" if isinstance(raw, int | float) else str(raw)
        params = {
            "name": str(p["name"])[:_VALUE_CHARS], "severity": str(p["severity"]),
            "event": event, "device": str(p["device_id"]), "value": value[:_VALUE_CHARS],
        }  # fmt: skip
        batch = SmsBatch(self.template, params, [outgoing.target], f"alarm-{outgoing.delivery_id}")
        try:
            (outcome,) = await self.gateway.send(batch)
        except SmsUncertain as exc:
            # The provider may have sent it: sending again could page someone twice. Counted
            # as sent; its delivery report, if any, is the provider's record.
            log.warning("alarm SMS %s may not have gone out: %s", outgoing.delivery_id, exc)
            return
        if outcome.status != "sent":
            raise SmsNotSent(f"{outcome.status}: {outcome.code or ''} {outcome.message or ''}")
