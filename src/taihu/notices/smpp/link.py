"""One SMPP 3.4 session over smpplib: bind, submit_sm, receipts, enquire_link; no domain here.

smpplib is synchronous. A link binds in a worker thread, then one reader thread owns every read
and answers the SMSC's own requests; writers share a lock and a thread-safe sequence. The
asyncio side awaits the futures the reader resolves, so the event loop never blocks::

    ESME (this link)                           SMSC
    bind_transceiver / bind_transmitter ──▶
                                        ◀── bind_*_resp (status: 0, or 0x0E wrong password …)
    submit_sm (sequence n, UCS2, UDH)   ──▶
                                        ◀── submit_sm_resp (n, message_id) | generic_nack
                                        ◀── deliver_sm (esm_class: receipt, "id:… stat:…")
    deliver_sm_resp (0, or 0x64: not recorded now, deliver it again later) ──▶
    enquire_link (after an idle interval) ◀──▶ enquire_link_resp
    unbind                              ◀──▶ unbind_resp

An idle read times out after the keep-alive interval and sends ``enquire_link``; a second
interval without a word from the SMSC ends the link (the adapter reconnects).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import smpplib.client
import smpplib.consts
import smpplib.exceptions
import smpplib.gsm
import smpplib.smpp

__all__ = [
    "ESME_RTHROTTLED",
    "ESME_RX_T_APPN",
    "Receipt",
    "SmppBindError",
    "SmppError",
    "SmppLink",
    "SmppLost",
    "SmppNotSent",
    "SubmitResult",
    "encode_text",
    "parse_receipt",
    "status_text",
]

log = logging.getLogger("taihu.notices.smpp")

ESME_ROK: int = smpplib.consts.SMPP_ESME_ROK
ESME_RTHROTTLED: int = smpplib.consts.SMPP_ESME_RTHROTTLED
ESME_RX_T_APPN: int = smpplib.consts.SMPP_ESME_RX_T_APPN
_RECEIPT_TYPE = 0x04  # esm_class bits 2-5: SMSC delivery receipt (SMPP 3.4, 5.2.12)
_TON_INTERNATIONAL, _NPI_ISDN = 1, 1


class SmppError(Exception):
    """Something went wrong on an SMPP session."""


class SmppBindError(SmppError):
    """The SMSC refused the bind (wrong system_id or password, bind not allowed)."""

    def __init__(self, status: int) -> None:
        super().__init__(f"SMPP bind refused: {status_text(status)}")
        self.status = status


class SmppNotSent(SmppError):
    """The PDU never left (no connection, or it broke before the write): nothing was sent."""


class SmppLost(SmppError):
    """The PDU left but its answer did not come (connection lost, timeout): it may have gone."""


def status_text(status: int) -> str:
    """``0x00000058 Throttling error …``: a command_status with the specification's words."""
    return f"0x{status:08X} {smpplib.consts.DESCRIPTIONS.get(status, 'unknown status')}"


@dataclass(frozen=True, slots=True)
class SubmitResult:
    """The SMSC's answer to one submit_sm."""

    status: int
    message_id: str | None


@dataclass(frozen=True, slots=True)
class Receipt:
    """A delivery receipt (deliver_sm with the receipt esm_class), as the SMSC wrote it."""

    message_id: str
    source_addr: str  # the handset the message went to
    stat: str  # DELIVRD, EXPIRED, DELETED, UNDELIV, ACCEPTD, UNKNOWN, REJECTD
    err: str
    done_at: datetime | None  # the SMSC's local time, as written (no zone in the receipt)


_FIELD = re.compile(r"(id|sub|dlvrd|submit date|done date|stat|err|text):")


def parse_receipt(text: str, source_addr: str, receipted_message_id: str | None) -> Receipt:
    """A receipt from its ``short_message`` (SMPP 3.4 appendix B) and optional TLVs."""
    marks = list(_FIELD.finditer(text))
    fields: dict[str, str] = {}
    for mark, after in zip(marks, [*marks[1:], None], strict=True):
        end = after.start() if after else len(text)
        fields[mark.group(1)] = text[mark.end() : end].strip()
    message_id = receipted_message_id or fields.get("id", "")
    if not message_id:
        raise ValueError("a delivery receipt without a message id")
    done = None
    raw = fields.get("done date", "")
    pattern = {10: "%y%m%d%H%M", 12: "%y%m%d%H%M%S"}.get(len(raw))  # strptime would guess
    if pattern and raw.isdigit():
        with contextlib.suppress(ValueError):
            done = datetime.strptime(raw, pattern)  # noqa: DTZ007 - no zone in a receipt
    return Receipt(message_id, source_addr, fields.get("stat", "UNKNOWN")[:7] or "UNKNOWN",
                   fields.get("err", ""), done)  # fmt: skip


def encode_text(text: str) -> tuple[list[bytes], int, int]:
    """The ``short_message`` parts, data_coding and esm_class of a text.

    smpplib's rule: the GSM default alphabet where it fits, else UCS2 (data_coding 8, every
    Chinese text); longer than one message, parts of 134 octets each behind a concatenation UDH
    (``05 00 03 ref total n``, esm_class UDHI).
    """
    parts, coding, esm_class = smpplib.gsm.make_parts(text)
    return list(parts), int(coding), int(esm_class)


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return str(value or "")


class _Sequence:
    """smpplib's sequence generator, safe for the reader and the writers together."""

    def __init__(self) -> None:
        self._value = 0
        self._lock = threading.Lock()

    @property
    def sequence(self) -> int:
        return self._value

    def next_sequence(self) -> int:
        with self._lock:
            self._value = self._value % 0x7FFFFFFF + 1
            return self._value


class SmppLink:
    """One bound SMPP session; :meth:`open` it, :meth:`submit` on it, :meth:`close` it."""

    def __init__(
        self, host: str, port: int, *, system_id: str, password: str, system_type: str = "",
        bind: Literal["transceiver", "transmitter"] = "transceiver", keepalive: float = 30.0,
        timeout: float = 10.0, on_receipt: Callable[[Receipt], int] | None = None,
        answered: dict[str, float] | None = None,
    ) -> None:  # fmt: skip
        self.host, self.port, self.bind, self.timeout = host, port, bind, timeout
        self._credentials = {"system_id": system_id, "password": password,
                             "system_type": system_type}  # fmt: skip
        self.keepalive = keepalive
        self.on_receipt = on_receipt
        # message_id -> monotonic time of its submit_sm_resp, written before the next PDU is
        # read: a receipt right behind its answer finds its id here (see the gateway).
        self.answered = answered
        self._client = smpplib.client.Client(
            host, port, timeout=timeout, sequence_generator=_Sequence(),
            logger_name="taihu.notices.smpp.wire", allow_unknown_opt_params=True,
        )  # fmt: skip
        self._write = threading.Lock()
        self._pending: dict[int, concurrent.futures.Future[SubmitResult]] = {}
        self._unbound = threading.Event()
        self._closing = False
        self._ended = False  # set by the reader before it fails the waiting submits
        self._reader: threading.Thread | None = None
        self.closed: asyncio.Event = asyncio.Event()
        self.loop: asyncio.AbstractEventLoop | None = None

    @property
    def alive(self) -> bool:
        """Bound and reading."""
        return self._reader is not None and not self._ended

    async def open(self) -> None:
        """Connect and bind (``SmppNotSent``: no connection; ``SmppBindError``: refused)."""
        self.loop = asyncio.get_running_loop()
        binding = asyncio.ensure_future(asyncio.to_thread(self._bind))
        try:
            await asyncio.shield(binding)
        except asyncio.CancelledError:
            # The thread binds on regardless: let it finish, then close what it opened.
            with contextlib.suppress(SmppError):
                await binding
            await asyncio.to_thread(self._drop)
            raise
        self._reader = threading.Thread(target=self._read_loop, name="smpp-reader", daemon=True)
        self._reader.start()

    def _bind(self) -> None:
        try:
            self._client.connect()
            if self.bind == "transceiver":
                self._client.bind_transceiver(**self._credentials)
            else:
                self._client.bind_transmitter(**self._credentials)
        except smpplib.exceptions.PDUError as exc:
            self._drop()
            status = exc.args[1] if len(exc.args) > 1 else smpplib.consts.SMPP_ESME_RBINDFAIL
            raise SmppBindError(int(status)) from exc
        except (smpplib.exceptions.ConnectionError, OSError) as exc:
            self._drop()
            raise SmppNotSent(f"SMPP connection to {self.host}:{self.port} failed: {exc}") from exc
        sock = self._client._socket  # the idle read's timeout: the keep-alive
        if sock is not None:
            sock.settimeout(self.keepalive)

    def _shutdown(self) -> None:
        """Wake the reader (its read ends); it closes the socket itself."""
        sock = self._client._socket
        if sock is not None:
            with contextlib.suppress(OSError):  # already gone
                sock.shutdown(socket.SHUT_RDWR)

    def _drop(self) -> None:
        self._shutdown()
        sock, self._client._socket = self._client._socket, None
        self._client.state = smpplib.consts.SMPP_CLIENT_STATE_CLOSED
        if sock is not None:
            sock.close()

    def _send(self, command: str, *, sequence: int | None = None, status: int = 0) -> None:
        """Build and write one PDU; an answer carries the sequence of what it answers."""
        with self._write:
            pdu = smpplib.smpp.make_pdu(command, client=self._client, status=status)
            if sequence is not None:  # smpplib keeps its own otherwise
                pdu.sequence = sequence
            self._client.send_pdu(pdu)

    async def submit(
        self, source: str, destination: str, part: bytes, data_coding: int, esm_class: int,
        *, receipt: bool,
    ) -> SubmitResult:  # fmt: skip
        """One submit_sm and its answer; ``SmppNotSent`` or ``SmppLost`` when it breaks."""
        if not self.alive:
            raise SmppNotSent("the SMPP link is closed")
        answer: concurrent.futures.Future[SubmitResult] = concurrent.futures.Future()
        fields: dict[str, Any] = {
            # An alphanumeric sender is TON 5; a service number (106…) goes as it is.
            "source_addr_ton": 5 if source and not source.isdigit() else 0,
            "source_addr_npi": 1, "source_addr": source, "dest_addr_ton": _TON_INTERNATIONAL,
            "dest_addr_npi": _NPI_ISDN, "destination_addr": destination,
            "esm_class": esm_class, "data_coding": data_coding,
            "registered_delivery": 1 if receipt else 0, "short_message": part,
        }  # fmt: skip

        def write() -> None:
            with self._write:  # the sequence is known and registered before the answer can come
                pdu = smpplib.smpp.make_pdu("submit_sm", client=self._client, **fields)
                self._pending[int(pdu.sequence)] = answer
                try:
                    self._client.send_pdu(pdu)
                # AttributeError: the reader dropped the socket meanwhile (it is None).
                except (smpplib.exceptions.ConnectionError, smpplib.exceptions.PDUError,
                        OSError, AttributeError) as exc:  # fmt: skip
                    self._pending.pop(int(pdu.sequence), None)
                    raise SmppNotSent(f"submit_sm not written: {exc}") from exc

        await asyncio.to_thread(write)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(answer), self.timeout)
        except TimeoutError as exc:
            raise SmppLost(f"no submit_sm_resp within {self.timeout:g} s") from exc

    def _read_loop(self) -> None:
        quiet = 0
        why = "closed"
        try:
            while True:
                try:
                    pdu = self._client.read_pdu()
                except TimeoutError:
                    if self._closing:
                        break
                    quiet += 1
                    if quiet > 1:
                        why = "the SMSC did not answer enquire_link"
                        break
                    self._send("enquire_link")
                    continue
                quiet = 0  # any PDU shows the SMSC alive
                if not self._dispatch(pdu):
                    break
        except (smpplib.exceptions.ConnectionError, smpplib.exceptions.PDUError, OSError,
                ValueError, KeyError, AttributeError) as exc:  # fmt: skip
            why = f"connection lost: {type(exc).__name__} {exc}".strip()
        finally:
            self._ended = True
            if not self._closing:
                log.warning("SMPP link to %s:%s ended: %s", self.host, self.port, why)
            self._drop()
            with self._write:
                pending, self._pending = self._pending, {}
            for future in pending.values():
                if not future.done():
                    future.set_exception(SmppLost(f"SMPP link ended: {why}"))
            if self.loop is not None and not self.loop.is_closed():
                self.loop.call_soon_threadsafe(self.closed.set)

    def _dispatch(self, pdu: Any) -> bool:
        """Act on one PDU; False when the session is over."""
        command = pdu.command
        if command in ("submit_sm_resp", "generic_nack"):
            with self._write:
                future = self._pending.pop(int(pdu.sequence), None)
            message_id = _text(getattr(pdu, "message_id", None)) or None
            if message_id and self.answered is not None and int(pdu.status) == ESME_ROK:
                self.answered[message_id] = time.monotonic()
            if future is not None and not future.done():
                future.set_result(SubmitResult(int(pdu.status), message_id))
        elif command == "deliver_sm":
            status = self._receive(pdu)
            self._send("deliver_sm_resp", sequence=int(pdu.sequence), status=status)
        elif command == "enquire_link":
            self._send("enquire_link_resp", sequence=int(pdu.sequence))
        elif command == "unbind":
            self._send("unbind_resp", sequence=int(pdu.sequence))
            return False
        elif command == "unbind_resp":
            self._unbound.set()
            return False
        elif command != "enquire_link_resp":
            log.info("SMPP %s ignored", command)
        return True

    def _receive(self, pdu: Any) -> int:
        """The deliver_sm_resp status of a deliver_sm: receipts go to ``on_receipt``."""
        if (int(pdu.esm_class or 0) & 0x3C) != _RECEIPT_TYPE:
            log.info("SMPP mobile-originated message from %s ignored", _text(pdu.source_addr))
            return ESME_ROK
        try:
            receipt = parse_receipt(_text(pdu.short_message), _text(pdu.source_addr),
                                    _text(pdu.receipted_message_id) or None)  # fmt: skip
        except ValueError:
            log.warning("SMPP receipt unreadable: %r", pdu.short_message)
            return ESME_ROK  # another delivery would not read better
        if self.on_receipt is None:
            return int(ESME_RX_T_APPN)  # nobody records it here: the SMSC keeps it for later
        return self.on_receipt(receipt)

    async def close(self) -> None:
        """Unbind (briefly waiting for the answer) and close; the reader ends."""
        self._closing = True
        if self._reader is None:
            await asyncio.to_thread(self._drop)
            return

        def finish() -> None:
            if not self._ended:
                try:
                    self._send("unbind")
                    self._unbound.wait(self.timeout)
                except (smpplib.exceptions.ConnectionError, smpplib.exceptions.PDUError,
                        OSError, AttributeError):  # fmt: skip
                    pass  # already gone: nothing to unbind
            self._shutdown()  # the reader wakes, closes the socket and ends
            if self._reader is not None:
                self._reader.join(self.timeout)

        await asyncio.to_thread(finish)
