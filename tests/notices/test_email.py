"""Notice e-mail goes to a real SMTP server (aiosmtpd, on a local port), with retries."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
from collections.abc import Awaitable, Iterator
from datetime import timedelta
from email.message import Message as MailMessage
from typing import Any

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from taihu.accounts import Principal, Role
from taihu.core import Database, FrozenClock
from taihu.notices import (
    Audience,
    Inbox,
    LoggingSmsGateway,
    NoticeDelivery,
    NoticeService,
    SmtpMailer,
    deliver_due,
)
from taihu.settings import NoticeSettings
from tests.conftest import World
from tests.notices.helpers import BUREAU, SONGLING, add_contact, district, published
from tests.processes import DEADLINE, refused_port


class Mailbox:
    """An SMTP handler that keeps what it receives and refuses the first ``refuse`` messages."""

    def __init__(self, refuse: int = 0) -> None:
        self.refuse = refuse
        self.received: list[MailMessage] = []

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's hook name
        if self.refuse:
            self.refuse -= 1
            return "451 4.3.0 try again later"
        self.received.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)
        )
        return "250 OK"


class SmtpServer(Controller):
    """aiosmtpd's threaded server on a socket bound when made, so no other process can take its
    port before it serves (as between choosing a free port and binding it)."""

    def __init__(self, handler: Mailbox) -> None:
        self.listening = socket.create_server(("127.0.0.1", 0))
        port = self.listening.getsockname()[1]
        # Its thread answers a first connection within ready_timeout (5 s unless told).
        super().__init__(handler, hostname="127.0.0.1", port=port, ready_timeout=DEADLINE)

    def _create_server(self) -> Awaitable[asyncio.AbstractServer]:
        return self.loop.create_server(self._factory_invoker, sock=self.listening)


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    """A running SMTP server on a free local port that refuses the first message once."""
    box = Mailbox(refuse=1)
    controller = SmtpServer(box)
    controller.start()
    try:
        yield box, controller.port
    finally:
        controller.stop()


def _html(message: MailMessage) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/html":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode(part.get_content_charset() or "utf-8")
    raise AssertionError("no HTML part")


async def test_a_notice_reaches_the_smtp_server_after_a_retry(
    world: World, db: Database, clock: FrozenClock, mailbox: tuple[Mailbox, int]
) -> None:
    box, port = mailbox
    d = await district(world, db, clock)
    await add_contact(db, clock, d.a, "a@example.cn")
    await add_contact(db, clock, d.b, "b@example.cn")
    await add_contact(db, clock, d.c, "c@example.cn")  # not in the audience
    settings = NoticeSettings(smtp_host="127.0.0.1", smtp_port=port, sender="gxj@example.gov.cn",
                              retry_seconds=60, console_url="https://taihu.example")  # fmt: skip
    notice_id = await published(
        db,
        clock,
        Audience("township", (SONGLING,)),
        channels=("email",),
        body="复工 <script>alert(1)</script>",
    )

    async def round_() -> tuple[int, int, int]:
        done = await deliver_due(db, clock, settings, mailer=SmtpMailer(settings),
                                 sms=LoggingSmsGateway(), translate=str)  # fmt: skip
        return done.sent, done.retrying, done.failed

    assert await round_() == (1, 1, 0)  # the server refused the first message once
    assert await round_() == (0, 0, 0)  # the retry is not due yet
    clock.advance(timedelta(seconds=60))
    assert await round_() == (1, 0, 0)
    assert sorted(m["To"] for m in box.received) == ["a@example.cn", "b@example.cn"]
    message = box.received[0]
    assert message["From"] == "gxj@example.gov.cn"
    assert message["Subject"] == "复工通知"
    page = _html(message)
    assert "&lt;script&gt;" in page
    assert "<script" not in page
    assert f"https://taihu.example/inbox/{notice_id}" in page
    async with db.session() as session:
        rows = list(await session.scalars(sa.select(NoticeDelivery).order_by(NoticeDelivery.id)))
        receipts = await NoticeService(session, clock).receipts(BUREAU, notice_id)
    assert [(r.status, r.attempts) for r in rows] == [("sent", 2), ("sent", 1)]
    assert {r.enterprise_id: r.deliveries.sent for r in receipts} == {d.a: 1, d.b: 1}


async def test_a_message_that_keeps_failing_is_marked_failed(
    world: World, db: Database, clock: FrozenClock
) -> None:
    d = await district(world, db, clock)
    await add_contact(db, clock, d.a, "a@example.cn")
    # Nothing listens on this port: every attempt fails to connect.
    with refused_port() as port:
        settings = NoticeSettings(smtp_host="127.0.0.1", smtp_port=port, max_attempts=2,
                                  retry_seconds=1, smtp_timeout=5)  # fmt: skip
        await published(db, clock, Audience("all"), channels=("email",))
        mailer = SmtpMailer(settings)
        first = await deliver_due(db, clock, settings, mailer=mailer, sms=LoggingSmsGateway(),
                                  translate=str)  # fmt: skip
        clock.advance(timedelta(seconds=1))
        second = await deliver_due(db, clock, settings, mailer=mailer, sms=LoggingSmsGateway(),
                                   translate=str)  # fmt: skip
    assert (first.retrying, second.failed) == (1, 1)
    async with db.session() as session:
        row = await session.scalar(sa.select(NoticeDelivery))
    assert row is not None
    assert (row.status, row.attempts) == ("failed", 2)
    assert "ConnectionRefusedError" in (row.last_error or "")


async def test_reminders_go_to_those_who_have_not_read_and_withdrawing_drops_unsent_mail(
    world: World, db: Database, clock: FrozenClock
) -> None:
    box = Mailbox()
    controller = SmtpServer(box)
    controller.start()
    try:
        d = await district(world, db, clock)
        await add_contact(db, clock, d.a, "a@example.cn")
        await add_contact(db, clock, d.b, "b@example.cn")
        settings = NoticeSettings(smtp_host="127.0.0.1", smtp_port=controller.port)
        notice_id = await published(db, clock, Audience("township", (SONGLING,)),
                                    channels=("email",))  # fmt: skip
        mailer, sms = SmtpMailer(settings), LoggingSmsGateway()
        await deliver_due(db, clock, settings, mailer=mailer, sms=sms, translate=str)
        reader = Principal("a-user", Role.ENTERPRISE, enterprise_ids=frozenset({d.a}))
        async with db.session() as session:
            await Inbox(session, clock).open(reader, notice_id)
            assert await NoticeService(session, clock).remind(BUREAU, notice_id) == 1
        await deliver_due(db, clock, settings, mailer=mailer, sms=sms, translate=str)
        reminders = [m for m in box.received if m["Subject"].startswith("Reminder: ")]
        assert [m["To"] for m in reminders] == ["b@example.cn"]
        async with db.session() as session:
            await NoticeService(session, clock).remind(BUREAU, notice_id)
            await NoticeService(session, clock).withdraw(BUREAU, notice_id)
        done = await deliver_due(db, clock, settings, mailer=mailer, sms=sms, translate=str)
        assert done.sent == 0
        assert len(box.received) == 3
    finally:
        controller.stop()
