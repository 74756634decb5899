"""The SMS channel's interface: a batch of numbers, one approved template, per-number outcomes.

Providers in mainland China send only pre-approved templates (模板) under an approved sign
(签名): a notice's SMS is a template code and its variables, never free text. A provider call
takes one template for up to its batch size of numbers and answers per number. What a call can
go wrong with decides what the outbox may do next:

- ``SmsRetry``: the provider refused the whole call before sending (throttled, busy, refused
  connection): nothing went out, the numbers may be tried again later.
- ``SmsUncertain``: the call may have gone through (a timeout after the request left, an answer
  that cannot be read): the outbox must not send again; a delivery report settles it.
- a per-number ``SmsOutcome`` that is ``sent`` (with the provider's id), ``transient`` (try that
  number later) or ``permanent`` (an invalid or blocked number: recorded, never retried).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol, runtime_checkable

__all__ = [
    "DeliveryReport",
    "LoggingSmsGateway",
    "RateLimiter",
    "SmsBatch",
    "SmsGateway",
    "SmsOutcome",
    "SmsReceiver",
    "SmsRetry",
    "SmsUncertain",
]

log = logging.getLogger("taihu.notices")


class SmsRetry(Exception):
    """The provider refused the whole call and sent nothing: try again later."""


class SmsUncertain(Exception):
    """The call may have been carried out: do not send again, wait for a delivery report."""


@dataclass(frozen=True, slots=True)
class SmsBatch:
    """One provider call: a template with its variables for some numbers, under one out-id."""

    template: str
    params: dict[str, str]
    phones: list[str]  # 11-digit mainland numbers, distinct
    out_id: str  # echoed by the provider in its reports (OutId / SessionContext)


@dataclass(frozen=True, slots=True)
class SmsOutcome:
    """What became of one number of a batch."""

    phone: str
    status: Literal["sent", "transient", "permanent"]
    provider_ref: str | None = None  # BizId (Alibaba), SerialNo (Tencent)
    code: str | None = None
    message: str | None = None


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """A provider's status report for one message (回执)."""

    phone: str
    delivered: bool
    code: str
    provider_ref: str | None = None
    out_id: str | None = None
    at: datetime | None = None


class SmsGateway(Protocol):
    """An SMS provider's API."""

    name: str
    batch_size: int

    async def send(self, batch: SmsBatch) -> list[SmsOutcome]:
        """Send a batch; one outcome per number, or raise ``SmsRetry``/``SmsUncertain``."""
        ...


@runtime_checkable
class SmsReceiver(Protocol):
    """A gateway whose own connection carries the reports back (an SMPP transceiver bind)."""

    async def receive(
        self, record: Callable[[list[DeliveryReport]], Coroutine[Any, Any, int]]
    ) -> None:
        """Keep the connection up and hand each report to ``record``, until cancelled."""
        ...

    async def aclose(self) -> None:
        """Close the connection."""
        ...


@dataclass
class LoggingSmsGateway:
    """A 'provider' that only logs each message: for development and where none is set."""

    name: str = "log"
    batch_size: int = 100
    sent: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)

    async def send(self, batch: SmsBatch) -> list[SmsOutcome]:
        """Log the batch (and keep it, for whoever looks in-process)."""
        for phone in batch.phones:
            log.info("SMS to %s: template %s %s", phone, batch.template, batch.params)
            self.sent.append((phone, batch.template, batch.params))
        return [SmsOutcome(p, "sent", provider_ref=f"log-{batch.out_id}") for p in batch.phones]


class RateLimiter:
    """At most ``per_second`` calls a second in this process (the provider's QPS limit)."""

    def __init__(self, per_second: float) -> None:
        self.interval = 1.0 / per_second
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        """Wait for the next slot."""
        async with self._lock:
            now = time.monotonic()
            if self._next > now:
                await asyncio.sleep(self._next - now)
            self._next = max(now, self._next) + self.interval
