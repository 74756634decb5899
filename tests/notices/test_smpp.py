"""SMS over SMPP 3.4 (smpplib) against a local SMSC stand-in written from the specification."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from functools import partial

import pytest
import sqlalchemy as sa
from pydantic import SecretStr

from taihu.accounts import AuditEntry
from taihu.core import Database, FrozenClock
from taihu.notices import Audience, NoticeJobs, SmppSms, deliver_sms, record_reports
from taihu.notices.smpp import encode_text, parse_receipt, render_template
from taihu.settings import NoticeSettings, SmsSettings
from tests.conftest import World
from tests.notices.helpers import SONGLING, district, published
from tests.notices.smpp_standin import PASSWORD, SYSTEM_ID, SmppStandIn
from tests.notices.test_sms import PHONES, contacts, rows

NOTICES = NoticeSettings(retry_seconds=60, max_attempts=3)
TEMPLATE = "您有一条新通知《${title}》请登录平台查看。"
TEXT = "【吴江工信局】您有一条新通知《复工通知》请登录平台查看。"


def smpp_settings(smsc: SmppStandIn, **extra: object) -> SmsSettings:
    """Settings pointing the SMPP adapter at the stand-in."""
    values: dict[str, object] = {
        "provider": "smpp", "smpp_host": "127.0.0.1", "smpp_port": smsc.port,
        "smpp_system_id": SYSTEM_ID, "smpp_password": SecretStr(PASSWORD),
        "smpp_source_addr": "1069000", "sign_name": "吴江工信局", "template_notice": TEMPLATE,
        "batch_size": 2, "rate_per_second": 1000, "timeout": 10,
    }  # fmt: skip
    values.update(extra)
    return SmsSettings.model_validate(values)


@pytest.fixture
async def smsc() -> AsyncIterator[SmppStandIn]:
    async with SmppStandIn() as s:
        yield s


@contextlib.asynccontextmanager
async def receiving(gateway: SmppSms, db: Database, clock: FrozenClock) -> AsyncIterator[None]:
    """The adapter's receipt loop, as the notices job runs it, for the block's duration."""
    task = asyncio.create_task(gateway.receive(partial(record_reports, db, clock, "smpp")))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await gateway.aclose()


def test_protocol_pieces() -> None:
    assert render_template(TEMPLATE, {"title": "复工通知"}, "吴江工信局") == TEXT
    with pytest.raises(ValueError, match="name"):
        render_template("${name}", {"title": "x"})
    parts, coding, esm_class = encode_text(TEXT)
    assert (len(parts), coding, esm_class) == (1, 8, 0)  # UCS2, one message
    assert parts[0] == TEXT.encode("utf-16-be")
    parts, coding, esm_class = encode_text("通" * 100)  # 200 octets: two parts behind a UDH
    assert (len(parts), coding, esm_class) == (2, 8, 0x40)
    assert [p[:3] for p in parts] == [b"\x05\x00\x03"] * 2
    assert [p[5] for p in parts] == [1, 2]
    receipt = parse_receipt("id:ABC123 sub:001 dlvrd:001 submit date:2612070900 done date:"
                            "2612070901 stat:UNDELIV err:012 text:hello", "8613900000001",
                            None)  # fmt: skip
    assert (receipt.message_id, receipt.stat, receipt.err) == ("ABC123", "UNDELIV", "012")
    assert receipt.done_at is not None
    assert receipt.done_at.minute == 1
    with pytest.raises(ValueError, match="message id"):
        parse_receipt("stat:DELIVRD", "1", None)


async def test_sends_ucs2_per_number_and_records_receipts(
    world: World, db: Database, clock: FrozenClock, smsc: SmppStandIn
) -> None:
    d = await district(world, db, clock)
    await contacts(db, clock, d)
    await published(db, clock, Audience("all"), channels=("sms",))
    gateway = SmppSms(smpp_settings(smsc))
    async with receiving(gateway, db, clock):
        done = await deliver_sms(db, clock, NOTICES, gateway.settings, gateway)
        assert (done.calls, done.sent, done.failed, done.unknown) == (3, 5, 0, 0)
        assert Counter(smsc.phones()) == Counter(PHONES)  # each number once
        assert {m.text for m in smsc.log} == {TEXT}
        assert {(m.data_coding, m.parts, m.source) for m in smsc.log} == {(8, 1, "1069000")}
        assert {s["ton"] for s in smsc.submits} == {1}  # international: 86…
        state = await rows(db)
        assert {p: state[p].provider_ref for p in PHONES} == {
            m.phone: m.message_id for m in smsc.log
        }
        assert (await deliver_sms(db, clock, NOTICES, gateway.settings, gateway)).calls == 0
        # The receipts come back on the transceiver bind and settle on their rows.
        assert await smsc.push_receipts() == 5
    state = await rows(db)
    assert {(r.status, r.report) for r in state.values()} == {("sent", "DELIVRD")}
    assert all(r.delivered_at is not None for r in state.values())
    assert smsc.binds == 1
    assert smsc.unbinds == 1
    async with db.session() as session:
        audited = Counter(await session.scalars(
            sa.select(AuditEntry.action).where(AuditEntry.action.like("notice.%"))))  # fmt: skip
    assert (audited["notice.sent"], audited["notice.sms_report"]) == (5, 5)


async def test_a_receipt_right_behind_its_answer_is_not_lost(
    world: World, db: Database, clock: FrozenClock, smsc: SmppStandIn
) -> None:
    """The SMSC may report before the outbox has recorded the batch: refused for now, kept."""
    d = await district(world, db, clock)
    await contacts(db, clock, d)
    await published(db, clock, Audience("all"), channels=("sms",))
    smsc.receipts_at_once = True
    gateway = SmppSms(smpp_settings(smsc))
    async with receiving(gateway, db, clock):
        assert (await deliver_sms(db, clock, NOTICES, gateway.settings, gateway)).sent == 5
        smsc.receipts_at_once = False
        # Those refused while their rows were being recorded come again, and settle now.
        await smsc.push_receipts()
        assert smsc.receipts == []
    state = await rows(db)
    assert {(r.status, r.report) for r in state.values()} == {("sent", "DELIVRD")}


async def test_a_long_message_goes_in_parts(
    world: World, db: Database, clock: FrozenClock, smsc: SmppStandIn
) -> None:
    d = await district(world, db, clock)
    await contacts(db, clock, d)
    await published(db, clock, Audience("township", (SONGLING,)), channels=("sms",))
    long = TEMPLATE + "请各企业于本周五前完成复工备案并核对防疫物资、员工健康登记和返岗名单。" * 3
    gateway = SmppSms(smpp_settings(smsc, template_notice=long))
    try:
        done = await deliver_sms(db, clock, NOTICES, gateway.settings, gateway)
    finally:
        await gateway.aclose()
    assert done.sent == 3
    text = render_template(long, {"title": "复工通知"}, "吴江工信局")
    assert [m.text for m in smsc.log] == [text] * 3  # put back together by the stand-in
    parts = smsc.log[0].parts
    assert parts == len(encode_text(text)[0]) > 1
    assert {s["esm_class"] for s in smsc.submits} == {0x40}
    # Only each message's last part asks for the receipt; its id is the row's.
    assert [s["registered"] for s in smsc.submits[:parts]] == [0] * (parts - 1) + [1]
    state = await rows(db)
    assert {state[m.phone].provider_ref for m in smsc.log} == {m.message_id for m in smsc.log}


async def test_a_wrong_password_sends_nothing(
    world: World, db: Database, clock: FrozenClock, smsc: SmppStandIn
) -> None:
    d = await district(world, db, clock)
    await contacts(db, clock, d)
    await published(db, clock, Audience("township", (SONGLING,)), channels=("sms",))
    settings = smpp_settings(smsc, smpp_password=SecretStr("wrong"))
    gateway = SmppSms(settings)
    done = await deliver_sms(db, clock, NOTICES, settings, gateway)
    assert (done.calls, done.retrying, done.sent) == (1, 2, 0)  # the round stops
    assert (smsc.refused_binds, smsc.log) == (1, [])
    state = await rows(db)
    assert {r.status for r in state.values()} == {"pending"}
    assert all("0x0000000E" in (r.last_error or "") for r in state.values() if r.attempts)
    # The corrected password sends them at the next try.
    clock.advance(timedelta(minutes=2))
    gateway = SmppSms(smpp_settings(smsc))
    try:
        assert (await deliver_sms(db, clock, NOTICES, gateway.settings, gateway)).sent == 3
    finally:
        await gateway.aclose()


async def test_throttling_is_retried_with_backoff(
    world: World, db: Database, clock: FrozenClock, smsc: SmppStandIn
) -> None:
    d = await district(world, db, clock)
    await contacts(db, clock, d)
    await published(db, clock, Audience("all"), channels=("sms",))
    gateway = SmppSms(smpp_settings(smsc))
    try:
        smsc.throttle = 1  # once: tried again within the call
        first = await deliver_sms(db, clock, NOTICES, gateway.settings, gateway, max_calls=1)
        assert (first.sent, smsc.throttled) == (2, 1)
        smsc.throttle = 100  # for good: the round stops, the rows wait for the outbox's backoff
        second = await deliver_sms(db, clock, NOTICES, gateway.settings, gateway)
        assert (second.calls, second.sent, second.retrying) == (1, 0, 2)
        assert smsc.throttled == 5  # the first try and three more
        smsc.throttle = 0
        clock.advance(timedelta(minutes=2))
        third = await deliver_sms(db, clock, NOTICES, gateway.settings, gateway)
        assert third.sent == 3
    finally:
        await gateway.aclose()
    assert Counter(smsc.phones()) == Counter(PHONES)


async def test_a_dropped_connection_is_made_again(
    world: World, db: Database, clock: FrozenClock, smsc: SmppStandIn
) -> None:
    d = await district(world, db, clock)
    await contacts(db, clock, d)
    await published(db, clock, Audience("all"), channels=("sms",))
    gateway = SmppSms(smpp_settings(smsc, smpp_enquire_link_seconds=1))
    async with receiving(gateway, db, clock):
        await asyncio.wait_for(smsc.wait_binds(1), 30)
        await asyncio.wait_for(smsc.enquired.wait(), 30)  # an idle bind keeps itself alive
        smsc.drop_on_submit = 2  # the connection breaks under the second number
        done = await deliver_sms(db, clock, NOTICES, gateway.settings, gateway)
        assert (done.sent, done.unknown) == (4, 1)
        assert smsc.binds >= 2
        assert Counter(smsc.phones()) == Counter(p for p in PHONES if p != PHONES[1])
        # Dropped while idle: the receipt loop binds again by itself.
        binds = smsc.binds
        await smsc.drop_all()
        await asyncio.wait_for(smsc.wait_binds(binds + 1), 30)
    state = await rows(db)
    assert state[PHONES[1]].status == "unknown"  # it may have gone: never sent again
    assert Counter(smsc.phones())[PHONES[1]] == 0


async def test_the_notices_job_keeps_a_bind_for_receipts(
    world: World, db: Database, clock: FrozenClock, smsc: SmppStandIn
) -> None:
    """The server's job binds at start, records receipts between rounds and unbinds at stop."""
    d = await district(world, db, clock)
    await contacts(db, clock, d)
    await published(db, clock, Audience("township", (SONGLING,)), channels=("sms",))
    gateway = SmppSms(smpp_settings(smsc))
    jobs = NoticeJobs(db, NoticeSettings(job_seconds=3600), clock, mailer=None, sms=gateway,
                      translate=str, sms_settings=gateway.settings)  # fmt: skip
    jobs.start()
    try:
        await asyncio.wait_for(smsc.wait_binds(1), 30)
        async with asyncio.timeout(60):  # the first round runs at start
            while {r.status for r in (await rows(db)).values()} != {"sent"}:  # noqa: ASYNC110 - a row has no event
                await asyncio.sleep(0.05)
        assert len(smsc.log) == 3
        assert await smsc.push_receipts() == 3
    finally:
        await jobs.stop()
    assert (smsc.binds, smsc.unbinds) == (1, 1)
    assert {r.report for r in (await rows(db)).values()} == {"DELIVRD"}
