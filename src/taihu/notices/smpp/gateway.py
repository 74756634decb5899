"""The SMS gateway over SMPP 3.4: one submit_sm per number, receipts recorded as reports arrive.

Where a provider speaks SMPP, a message is free text: the template setting holds the approved
text itself, with ``${title}`` where the variable goes, and the sign (签名) is put in front as
【sign】 as the carriers require. Each number gets its own submit_sm (all the parts of a long
text), asking for a delivery receipt on the last part, whose message_id is the row's provider
id. What an answer means for the outbox (``outbox.py``):

- submit_sm_resp 0: ``sent`` with the message_id;
- ESME_RTHROTTLED / ESME_RMSGQFUL: the SMSC took nothing; tried again here after a jittered,
  doubling pause, then ``transient`` with the rest of the batch (``SmsRetry`` when it is the
  batch's first number: the round stops and the outbox backs off);
- an invalid destination: ``permanent``; any other refusal: ``transient``;
- no answer (the connection broke after the PDU left, or a timeout): no outcome, so the row
  becomes ``unknown`` and is never sent again; a receipt settles it.

A broken or never-made connection is made again for the next number (and by :meth:`receive`
in the background, with jittered exponential backoff, so a transceiver bind keeps reading
receipts). A refused bind raises ``SmsRetry`` with the SMSC's status (``0x0000000E Invalid
Password``): nothing was sent.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import time
from collections.abc import Callable, Coroutine
from datetime import timedelta, timezone
from typing import Any

import smpplib.consts

from taihu.notices.smpp.link import (
    ESME_RTHROTTLED,
    ESME_RX_T_APPN,
    Receipt,
    SmppBindError,
    SmppError,
    SmppLink,
    SmppLost,
    SmppNotSent,
    encode_text,
    status_text,
)
from taihu.notices.sms import DeliveryReport, RateLimiter, SmsBatch, SmsOutcome, SmsRetry
from taihu.settings import SmsSettings

__all__ = ["ReportSink", "SmppSms", "render_template"]

log = logging.getLogger("taihu.notices")
ReportSink = Callable[[list[DeliveryReport]], Coroutine[Any, Any, int]]

_BUSY: set[int] = {ESME_RTHROTTLED, smpplib.consts.SMPP_ESME_RMSGQFUL}
_BAD_NUMBER: set[int] = {smpplib.consts.SMPP_ESME_RINVDSTADR, 0x50, 0x51}  # address, TON, NPI
_BUSY_TRIES = 3
_BEIJING = timezone(timedelta(hours=8))  # receipts carry the SMSC's local time, no zone
_VARIABLE = re.compile(r"\$\{(\w+)\}")


def render_template(template: str, params: dict[str, str], sign: str = "") -> str:
    """The text of an SMPP message: ``${name}`` filled, the sign in front as 【sign】."""

    def fill(match: re.Match[str]) -> str:
        if match.group(1) not in params:
            raise ValueError(f"the SMS template has no value for ${{{match.group(1)}}}")
        return params[match.group(1)]

    text = _VARIABLE.sub(fill, template)
    return f"【{sign}】{text}" if sign and not text.startswith("【") else text


def _refused(phone: str, number: int, parts: int, status: int | None, why: str) -> SmsOutcome:
    """The outcome of a number whose part ``number`` was refused (or never written)."""
    if number > 1:  # the first parts are on the phone: sending again would repeat them
        return SmsOutcome(phone, "permanent", code="partial",
                          message=f"part {number}/{parts}: {why}"[:200])  # fmt: skip
    if status is None:
        return SmsOutcome(phone, "transient", message=why[:200])
    if status in _BUSY:
        return SmsOutcome(phone, "transient", code="busy", message=why[:200])
    final = status in _BAD_NUMBER
    return SmsOutcome(phone, "permanent" if final else "transient", code=f"0x{status:08X}",
                      message=why[:200])  # fmt: skip


class SmppSms:
    """SMS over an SMPP 3.4 bind (``TAIHU_SMS_SMPP_*``)."""

    name = "smpp"

    def __init__(self, settings: SmsSettings) -> None:
        self.settings = settings
        self.batch_size = min(settings.batch_size or 100, 1000)
        self._limiter = RateLimiter(settings.rate_per_second)  # submit_sm PDUs, not batches
        self._link: SmppLink | None = None
        self._lock = asyncio.Lock()
        self._record: ReportSink | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        # Message ids the SMSC answered lately (the link writes them): a receipt for one that
        # matches no row yet (the outbox records a batch after the call) is refused for now,
        # so the SMSC delivers it again.
        self._recent: dict[str, float] = {}

    async def _bound(self) -> SmppLink:
        """The live link, made (and bound) if there is none."""
        if self._link is not None and self._link.alive:
            return self._link
        s = self.settings
        self._loop = asyncio.get_running_loop()  # receipts may come before open() returns
        link = SmppLink(s.smpp_host, s.smpp_port, system_id=s.smpp_system_id,
                        password=s.smpp_password.get_secret_value(),
                        system_type=s.smpp_system_type, bind=s.smpp_bind,
                        keepalive=s.smpp_enquire_link_seconds, timeout=s.timeout,
                        on_receipt=self._on_receipt, answered=self._recent)  # fmt: skip
        try:
            await link.open()
        except SmppBindError as exc:
            log.error("%s (TAIHU_SMS_SMPP_SYSTEM_ID / _PASSWORD)", exc)
            raise SmsRetry(str(exc)[:300]) from exc
        except SmppError as exc:
            raise SmsRetry(str(exc)[:300]) from exc
        self._link = link
        return link

    async def send(self, batch: SmsBatch) -> list[SmsOutcome]:
        """One submit_sm (all its parts) per number; see the module for what answers mean."""
        try:
            text = render_template(batch.template, batch.params, self.settings.sign_name)
        except ValueError as exc:
            raise SmsRetry(str(exc)) from exc
        parts, coding, esm_class = encode_text(text)
        outcomes: list[SmsOutcome] = []
        async with self._lock:
            link = await self._bound()  # a refused bind: SmsRetry, nothing sent
            for index, phone in enumerate(batch.phones):
                if not link.alive:
                    try:
                        link = await self._bound()
                    except SmsRetry as exc:
                        outcomes += [SmsOutcome(p, "transient", message=str(exc)[:200])
                                     for p in batch.phones[index:]]  # fmt: skip
                        break
                outcome = await self._one(link, phone, parts, coding, esm_class)
                if outcome is not None:
                    outcomes.append(outcome)
                if outcome is not None and outcome.code == "busy":
                    if index == 0:  # nothing went out: the call is refused as a whole
                        raise SmsRetry(outcome.message or "busy")
                    rest = batch.phones[index + 1 :]
                    outcomes += [SmsOutcome(p, "transient", code="busy", message=outcome.message)
                                 for p in rest]  # fmt: skip
                    break
        self._forget_old()
        return outcomes

    async def _one(
        self, link: SmppLink, phone: str, parts: list[bytes], coding: int, esm_class: int
    ) -> SmsOutcome | None:
        """One number's message; None when its fate is unknown (it may have gone)."""
        message_id = None
        for number, part in enumerate(parts, start=1):
            for attempt in range(_BUSY_TRIES + 1):
                await self._limiter.wait()
                try:
                    answer = await link.submit(self.settings.smpp_source_addr, f"86{phone}", part,
                                               coding, esm_class,
                                               receipt=number == len(parts))  # fmt: skip
                except SmppNotSent as exc:
                    return _refused(phone, number, len(parts), None, str(exc))
                except SmppLost as exc:
                    log.warning("SMS to %s: %s; not sent again", phone, exc)
                    return None
                if answer.status not in _BUSY or attempt == _BUSY_TRIES:
                    break
                # Throttled: the SMSC took nothing; a jittered, doubling pause, then again.
                jitter = random.uniform(0.5, 1.5)  # noqa: S311 - jitter, not secrecy
                await asyncio.sleep(0.25 * 2**attempt * jitter)
            if answer.status != 0:
                return _refused(phone, number, len(parts), answer.status,
                                status_text(answer.status))  # fmt: skip
            message_id = answer.message_id
        return SmsOutcome(phone, "sent", provider_ref=message_id)

    def _forget_old(self) -> None:
        horizon = time.monotonic() - self.settings.claim_seconds
        for message_id in [m for m, at in list(self._recent.items()) if at < horizon]:
            self._recent.pop(message_id, None)  # the reader thread may have taken it

    def _on_receipt(self, receipt: Receipt) -> int:
        """In the reader thread: record a receipt through the loop; the deliver_sm_resp status.

        0: recorded, or not ours; 0x64 (ESME_RX_T_APPN): not recorded now, the SMSC keeps it
        and delivers it again.
        """
        record, loop = self._record, self._loop
        if record is None or loop is None or loop.is_closed():
            return ESME_RX_T_APPN
        report = DeliveryReport(
            phone=receipt.source_addr.removeprefix("+").removeprefix("86"),
            delivered=receipt.stat == "DELIVRD", code=receipt.stat,
            provider_ref=receipt.message_id,
            at=receipt.done_at.replace(tzinfo=_BEIJING) if receipt.done_at else None,
        )  # fmt: skip
        try:
            future = asyncio.run_coroutine_threadsafe(record([report]), loop)
            matched = future.result(self.settings.timeout)
        except Exception:  # the database or the loop: the SMSC keeps it and tries again
            log.exception("SMPP receipt for %s not recorded", receipt.message_id)
            return ESME_RX_T_APPN
        if not matched and receipt.message_id in self._recent:
            return ESME_RX_T_APPN  # its row is not marked yet
        self._recent.pop(receipt.message_id, None)
        return 0

    async def receive(self, record: ReportSink) -> None:
        """Keep a bind up and record each receipt through ``record``, until cancelled."""
        self._record = record
        backoff = 1.0
        try:
            while True:
                try:
                    async with self._lock:
                        link = await self._bound()
                    backoff = 1.0
                    await link.closed.wait()
                except SmsRetry as exc:
                    log.warning("SMPP bind for receipts failed: %s", exc)
                await asyncio.sleep(backoff * random.uniform(0.5, 1.5))  # noqa: S311 - jitter
                backoff = min(backoff * 2, 60.0)
        finally:
            self._record = None

    async def aclose(self) -> None:
        """Unbind and close the link, if any."""
        link, self._link = self._link, None
        if link is not None:
            await link.close()
