"""Alarm notifications by SMS: the notices' gateway, registered as the alarms' SMS channel."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa

from taihu.accounts import Principal, Role
from taihu.alarms import AlarmDelivery, AlarmEngine, AlarmNotification, SubscriptionService
from taihu.core import Database, FrozenClock, InvalidInput
from taihu.notices import AlarmSmsSender
from taihu.notices.smpp import SmppSms
from taihu.settings import Settings
from taihu.web import alarm_delivery_for
from tests.alarms.test_engine import HOT, _profile_rule
from tests.conftest import World
from tests.devices.conftest import make_device  # noqa: F401 - fixture
from tests.notices.smpp_standin import SmppStandIn
from tests.notices.test_smpp import smpp_settings

TEMPLATE = "告警${name}(${severity})在设备${device}${event}: ${value}"


@pytest.fixture
async def smsc() -> AsyncIterator[SmppStandIn]:
    async with SmppStandIn() as s:
        yield s


async def test_an_alarm_reaches_the_phone_of_its_subscriber(
    db: Database,
    world: World,
    clock: FrozenClock,
    make_device: Any,  # noqa: F811 - the fixture imported above
    smsc: SmppStandIn,
) -> None:
    dev = await make_device()
    user = await world.user("ops", Role.ADMIN)
    async with db.session() as session:
        sub = await SubscriptionService(session, clock).subscribe(
            Principal("ops", Role.ADMIN, user.id), channel="sms", min_severity="major",
            target="+86 139-0000-0001",
        )  # fmt: skip
    assert sub.target == "13900000001"  # as providers take it
    await _profile_rule(db, dev.id, **HOT)
    engine = AlarmEngine(db, clock=clock)
    await engine.reload()
    engine.stored([(dev.id, "t", int(clock.now().timestamp() * 1000), 2, 90.0, None)])
    await engine.flush()
    delivery = AlarmDelivery(db, clock=clock)
    gateway = SmppSms(smpp_settings(smsc, template_alarm=TEMPLATE))
    try:
        delivery.register("sms", AlarmSmsSender(gateway, TEMPLATE))
        assert await delivery.round() == (1, 0)
    finally:
        await gateway.aclose()
    [message] = smsc.log
    assert message.phone == "13900000001"
    assert message.text == f"【吴江工信局】告警hot(major)在设备{dev.id}raised: 90"
    async with db.session() as session:
        [note] = list(await session.scalars(sa.select(AlarmNotification)))
    assert (note.channel, note.status, note.attempts) == ("sms", "sent", 1)


@pytest.mark.parametrize("target", ["", "12345", "0512-6000000", "139000000011"])
async def test_an_sms_subscription_needs_a_mobile_number(
    db: Database, world: World, clock: FrozenClock, target: str
) -> None:
    user = await world.user("ops", Role.ADMIN)
    async with db.session() as session:
        with pytest.raises(InvalidInput, match="mobile number"):
            await SubscriptionService(session, clock).subscribe(
                Principal("ops", Role.ADMIN, user.id), channel="sms", target=target
            )


def test_the_sms_channel_is_offered_where_an_alarm_template_is_set(
    db: Database, clock: FrozenClock
) -> None:
    assert "sms" not in alarm_delivery_for(Settings(), db, clock).senders
    configured = Settings.model_validate({"sms": {"template_alarm": TEMPLATE}})
    assert "sms" in alarm_delivery_for(configured, db, clock).senders
