"""Alarm notifications by e-mail: the notices' mailer, registered as the alarms' e-mail channel."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from taihu.accounts import Principal, Role
from taihu.alarms import AlarmDelivery, AlarmEngine, AlarmNotification, SubscriptionService
from taihu.core import Database, FrozenClock
from taihu.notices import AlarmMailSender, SmtpMailer
from taihu.settings import AlarmSettings, NoticeSettings
from tests.alarms.test_engine import HOT, _profile_rule
from tests.conftest import World
from tests.devices.conftest import make_device  # noqa: F401 - fixture
from tests.notices.test_email import Mailbox, mailbox  # noqa: F401 - fixture


async def test_an_alarm_reaches_the_smtp_server_after_a_retry(
    db: Database,
    world: World,
    clock: FrozenClock,
    make_device: Any,  # noqa: F811 - the fixture imported above
    mailbox: tuple[Mailbox, int],  # noqa: F811 - the fixture imported above
) -> None:
    box, port = mailbox  # it refuses the first message once
    dev = await make_device()
    user = await world.user("ops", Role.ADMIN)
    async with db.session() as session:
        await SubscriptionService(session, clock).subscribe(
            Principal("ops", Role.ADMIN, user.id), channel="email", min_severity="major",
            target="ops@example.cn",
        )  # fmt: skip
    await _profile_rule(db, dev.id, **HOT)
    engine = AlarmEngine(db, clock=clock)
    await engine.reload()
    engine.stored([(dev.id, "t", int(clock.now().timestamp() * 1000), 2, 90.0, None)])
    await engine.flush()
    delivery = AlarmDelivery(db, AlarmSettings(delivery_backoff=30), clock=clock)
    mail = NoticeSettings(smtp_host="127.0.0.1", smtp_port=port, sender="alarm@example.cn")
    delivery.register("email", AlarmMailSender(SmtpMailer(mail)))
    assert await delivery.round() == (0, 1)
    clock.advance(timedelta(seconds=31))
    assert await delivery.round() == (1, 0)
    [message] = box.received
    assert message["To"] == "ops@example.cn"
    assert message["Subject"] == "[major] hot raised"
    assert f"on device {dev.id} raised" in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    async with db.session() as session:
        [note] = list(await session.scalars(sa.select(AlarmNotification)))
    assert (note.channel, note.status, note.attempts) == ("email", "sent", 2)
