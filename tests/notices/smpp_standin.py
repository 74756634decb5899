"""A local SMSC stand-in speaking SMPP 3.4 on a real socket, written from the specification.

An asyncio TCP server (port 0). It decodes each PDU itself (16-octet header: command_length,
command_id, command_status, sequence_number; C-octet strings; TLVs), apart from smpplib, so a
wrong adapter fails here. It checks system_id and password on bind_transmitter /
bind_transceiver, answers submit_sm with a message id, puts concatenated parts back together
(UDH ``05 00 03 ref total n``), decodes UCS2, answers enquire_link and unbind, and sends
deliver_sm receipts (appendix B text with the receipted_message_id and message_state TLVs) to a
transceiver bind when asked, keeping those not answered 0. Knobs: throttle the next submit_sm
(ESME_RTHROTTLED), drop the connection on the n-th submit_sm (unanswered, not taken), hold the
n-th submit_sm after taking it (so a test can kill the client in that window).
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from dataclasses import dataclass, field
from typing import Any

BIND_RECEIVER, BIND_TRANSMITTER, SUBMIT_SM, DELIVER_SM = 0x01, 0x02, 0x04, 0x05
UNBIND, BIND_TRANSCEIVER, ENQUIRE_LINK, GENERIC_NACK = 0x06, 0x09, 0x15, 0x80000000
RESP = 0x80000000
ROK, RINVCMDID, RINVBNDSTS, RINVPASWD, RINVSYSID = 0x00, 0x03, 0x04, 0x0E, 0x0F
RTHROTTLED = 0x58
SYSTEM_ID, PASSWORD = "taihu", "s3cret"


class _Body:
    """A cursor over a PDU body."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def cstring(self) -> str:
        end = self.data.index(b"\0", self.pos)
        text = self.data[self.pos : end].decode("latin-1")
        self.pos = end + 1
        return text

    def u8(self) -> int:
        self.pos += 1
        return self.data[self.pos - 1]

    def octets(self, n: int) -> bytes:
        self.pos += n
        return self.data[self.pos - n : self.pos]

    def tlvs(self) -> dict[int, bytes]:
        found = {}
        while self.pos + 4 <= len(self.data):
            tag, length = struct.unpack_from(">HH", self.data, self.pos)
            self.pos += 4
            found[tag] = self.octets(length)
        return found


def pdu(command_id: int, status: int, sequence: int, body: bytes = b"") -> bytes:
    """A PDU with its header."""
    return struct.pack(">IIII", 16 + len(body), command_id, status, sequence) + body


def _c(text: str) -> bytes:
    return text.encode("latin-1") + b"\0"


@dataclass
class Message:
    """A message as the handset would show it (parts put together)."""

    phone: str  # without the 86 in front
    text: str
    message_id: str  # the id answered for the part that asked for a receipt (or the last)
    data_coding: int
    parts: int
    source: str


@dataclass
class _Session:
    writer: asyncio.StreamWriter
    system_id: str = ""
    mode: int = 0
    answers: dict[int, asyncio.Future[int]] = field(default_factory=dict)


class SmppStandIn:
    """The stand-in SMSC; ``async with`` it, point the adapter at ``port``."""

    def __init__(self) -> None:
        self.port = 0
        self.log: list[Message] = []  # messages taken, in order
        self.submits: list[dict[str, Any]] = []  # every submit_sm taken (each part)
        self.binds = 0
        self.refused_binds = 0
        self.unbinds = 0
        self.enquire_links = 0
        self.throttle = 0  # the next n submit_sm are answered ESME_RTHROTTLED
        self.throttled = 0
        self.drop_on_submit: int | None = None  # 1-based submit_sm to drop the connection on
        self.hold_submit: int | None = None  # 1-based submit_sm to take and not answer yet
        self.holding = asyncio.Event()
        self.release = asyncio.Event()
        self.bound = asyncio.Condition()
        self.enquired = asyncio.Event()
        self.receipts: list[tuple[str, str, str]] = []  # (message_id, phone, source) to send
        self.receipts_at_once = False  # send each receipt right behind its submit_sm_resp
        self.receipts_refused = 0
        self._tasks: set[asyncio.Task[bool]] = set()
        self._submits_seen = 0
        self._next_id = 0
        self._parts: dict[tuple[str, int], dict[int, bytes]] = {}
        self._sessions: list[_Session] = []
        self._server: asyncio.Server | None = None
        self._sequence = 0

    async def __aenter__(self) -> SmppStandIn:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.release.set()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.drop_all()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def phones(self) -> list[str]:
        """The numbers messages were taken for, in order (with repeats, if any)."""
        return [m.phone for m in self.log]

    async def drop_all(self) -> None:
        """Close every connection, as a network failure would."""
        for session in list(self._sessions):
            session.writer.close()
            with contextlib.suppress(OSError, ConnectionError):
                await session.writer.wait_closed()

    async def wait_binds(self, n: int) -> None:
        """Wait until ``n`` binds have succeeded."""
        async with self.bound:
            await self.bound.wait_for(lambda: self.binds >= n)

    async def push_receipts(self) -> int:
        """Send the waiting receipts to a transceiver bind; how many it answered 0."""
        session = next(s for s in reversed(self._sessions) if s.mode == BIND_TRANSCEIVER)
        taken = 0
        for receipt in list(self.receipts):
            taken += await self._deliver(session, receipt)
        return taken

    async def _deliver(self, session: _Session, receipt: tuple[str, str, str]) -> bool:
        """One deliver_sm receipt; whether it was answered 0 (then it is not kept)."""
        message_id, phone, source = receipt
        text = (f"id:{message_id} sub:001 dlvrd:001 submit date:2612070900 "
                f"done date:2612070901 stat:DELIVRD err:000 text:")  # fmt: skip
        body = (_c("") + bytes([1, 1]) + _c(phone) + bytes([0, 1]) + _c(source)
                + bytes([0x04, 0, 0]) + _c("") + _c("") + bytes([0, 0, 0, 0])
                + bytes([len(text)]) + text.encode()
                + struct.pack(">HH", 0x001E, len(message_id) + 1) + _c(message_id)
                + struct.pack(">HHB", 0x0427, 1, 2))  # fmt: skip
        self._sequence += 1
        answer: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        session.answers[self._sequence] = answer
        session.writer.write(pdu(DELIVER_SM, 0, self._sequence, body))
        await session.writer.drain()
        status = await asyncio.wait_for(answer, 30)
        if status != ROK:
            self.receipts_refused += 1
            return False
        if receipt in self.receipts:
            self.receipts.remove(receipt)
        return True

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = _Session(writer)
        self._sessions.append(session)
        try:
            while True:
                head = await reader.readexactly(16)
                length, command_id, status, sequence = struct.unpack(">IIII", head)
                body = await reader.readexactly(length - 16)
                if not await self._handle(session, command_id, status, sequence, body):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the client went away
        finally:
            self._sessions.remove(session)
            writer.close()

    async def _answer(self, session: _Session, data: bytes) -> None:
        with contextlib.suppress(ConnectionError):
            session.writer.write(data)
            await session.writer.drain()

    async def _handle(
        self, session: _Session, command_id: int, status: int, sequence: int, body: bytes
    ) -> bool:
        if command_id in (BIND_TRANSMITTER, BIND_TRANSCEIVER, BIND_RECEIVER):
            cursor = _Body(body)
            system_id, password = cursor.cstring(), cursor.cstring()
            cursor.cstring()  # system_type
            version = cursor.u8()
            refusal = (RINVSYSID if system_id != SYSTEM_ID
                       else RINVPASWD if password != PASSWORD else ROK)  # fmt: skip
            assert version == 0x34, version
            await self._answer(session, pdu(command_id | RESP, refusal, sequence,
                                            _c("STANDIN") if refusal == ROK else b""))  # fmt: skip
            if refusal != ROK:
                self.refused_binds += 1
                return False
            session.system_id, session.mode = system_id, command_id
            async with self.bound:
                self.binds += 1
                self.bound.notify_all()
        elif command_id == SUBMIT_SM:
            return await self._submit(session, sequence, body)
        elif command_id == DELIVER_SM | RESP:
            answer = session.answers.pop(sequence, None)
            if answer is not None and not answer.done():
                answer.set_result(status)
        elif command_id == ENQUIRE_LINK:
            self.enquire_links += 1
            self.enquired.set()
            await self._answer(session, pdu(ENQUIRE_LINK | RESP, ROK, sequence))
        elif command_id == UNBIND:
            self.unbinds += 1
            await self._answer(session, pdu(UNBIND | RESP, ROK, sequence))
            return False
        elif command_id == ENQUIRE_LINK | RESP:
            pass
        else:
            await self._answer(session, pdu(GENERIC_NACK, RINVCMDID, sequence))
        return True

    async def _submit(self, session: _Session, sequence: int, body: bytes) -> bool:
        if session.mode not in (BIND_TRANSMITTER, BIND_TRANSCEIVER):
            await self._answer(session, pdu(SUBMIT_SM | RESP, RINVBNDSTS, sequence))
            return True
        self._submits_seen += 1
        if self._submits_seen == self.drop_on_submit:
            return False  # the connection drops: nothing taken, nothing answered
        if self.throttle:
            self.throttle -= 1
            self.throttled += 1
            await self._answer(session, pdu(SUBMIT_SM | RESP, RTHROTTLED, sequence))
            return True
        c = _Body(body)
        c.cstring()  # service_type
        c.u8(), c.u8()  # source TON, NPI
        source = c.cstring()
        dest_ton, _npi = c.u8(), c.u8()
        destination = c.cstring()
        esm_class, _protocol, _priority = c.u8(), c.u8(), c.u8()
        c.cstring(), c.cstring()  # schedule_delivery_time, validity_period
        registered, _replace, data_coding, _default = c.u8(), c.u8(), c.u8(), c.u8()
        short = c.octets(c.u8())
        self._next_id += 1
        message_id = f"SM{self._next_id:08d}"
        self.submits.append({"to": destination, "ton": dest_ton, "esm_class": esm_class,
                             "registered": registered, "data_coding": data_coding,
                             "message_id": message_id, "octets": len(short)})  # fmt: skip
        total, number, ref = 1, 1, 0
        if esm_class & 0x40:  # UDHI: a user data header before the text
            header, short = short[1 : 1 + short[0]], short[1 + short[0] :]
            assert header[:2] == b"\x00\x03", header  # concatenation, 8-bit reference
            ref, total, number = header[2], header[3], header[4]
        parts = self._parts.setdefault((destination, ref), {})
        parts[number] = short
        if registered & 1:
            self.receipts.append((message_id, destination, source))
        if len(parts) == total:
            del self._parts[(destination, ref)]
            raw = b"".join(parts[i] for i in range(1, total + 1))
            text = raw.decode("utf-16-be") if data_coding == 8 else raw.decode("latin-1")
            self.log.append(Message(destination.removeprefix("86"), text, message_id,
                                    data_coding, total, source))  # fmt: skip
        if self._submits_seen == self.hold_submit:
            self.holding.set()
            await self.release.wait()
        await self._answer(session, pdu(SUBMIT_SM | RESP, ROK, sequence, _c(message_id)))
        if registered & 1 and self.receipts_at_once and session.mode == BIND_TRANSCEIVER:
            task = asyncio.create_task(self._deliver(session, self.receipts[-1]))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return True
