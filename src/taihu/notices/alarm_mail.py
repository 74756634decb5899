"""Alarm notifications by e-mail: the alarms context's ``email`` channel, sent by notices' mailer.

Notices sits above alarms, so the bridge lives here and the assembly registers it with the
alarm delivery (``AlarmDelivery.register("email", AlarmMailSender(mailer))``).
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape

from taihu.alarms import Outgoing
from taihu.notices.channels import Mailer, OutgoingMail

__all__ = ["AlarmMailSender"]


class AlarmMailSender:
    """Writes an alarm notification as a short e-mail and hands it to the mailer."""

    def __init__(self, mailer: Mailer, translate: Callable[[str], str] = lambda s: s) -> None:
        self.mailer, self._ = mailer, translate

    async def send(self, outgoing: Outgoing) -> None:
        """Send, or raise the mailer's ``DeliveryError`` (the delivery retries it)."""
        p = outgoing.payload
        event = {"created": self._("raised"), "escalated": self._("escalated"),
                 "cleared": self._("cleared")}.get(str(p["event"]), str(p["event"]))  # fmt: skip
        subject = f"[{p['severity']}] {p['name']} {event}"
        text = self._("Alarm {name} on device {device} {event} at {at}, value {value}.").format(
            name=p["name"], device=p["device_id"], event=event, at=p["at"], value=p["value"]
        )
        await self.mailer.send(
            OutgoingMail(outgoing.target, subject, text, f"<p>{escape(text)}</p>")
        )
