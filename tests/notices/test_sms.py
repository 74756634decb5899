"""SMS through Alibaba and Tencent adapters against a local stand-in that checks each signature."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
import sqlalchemy as sa
from pydantic import SecretStr

from taihu.accounts import AuditEntry, Role
from taihu.core import Database, FrozenClock
from taihu.notices import (
    AliyunSms,
    Audience,
    Contacts,
    NoticeDelivery,
    RateLimiter,
    TencentSms,
    aliyun_reports,
    deliver_sms,
    record_reports,
    recover_stale,
    tencent_reports,
)
from taihu.settings import NoticeSettings, Settings, SmsSettings
from tests.conftest import World
from tests.notices.helpers import BUREAU, HENGSHAN, SONGLING, District, district, published
from tests.notices.sms_standin import KEY_ID, SECRET, StandIn

NOTICES = NoticeSettings(retry_seconds=60, max_attempts=3)
PHONES = ["13900000001", "13900000002", "13900000003", "15800000004", "18600000005"]


def sms_settings(standin: StandIn, **extra: object) -> SmsSettings:
    """Settings pointing an adapter at the stand-in."""
    return SmsSettings(provider=standin.provider, endpoint=standin.url,  # type: ignore[arg-type]
                       access_key_id=KEY_ID, access_key_secret=SecretStr(SECRET),
                       sign_name="苏州吴江工信局", sdk_app_id="1400000001",
                       template_notice="SMS_2710001", template_reminder="SMS_2710002",
                       batch_size=2, rate_per_second=1000, **extra)  # fmt: skip


@pytest.fixture(params=["aliyun", "tencent"])
def standin(request: pytest.FixtureRequest) -> Iterator[StandIn]:
    with StandIn(request.param) as s:
        yield s


def gateway(settings: SmsSettings) -> AliyunSms | TencentSms:
    return AliyunSms(settings) if settings.provider == "aliyun" else TencentSms(settings)


async def contacts(db: Database, clock: FrozenClock, d: District) -> None:
    """Five mobile contacts with consent over enterprises a, b (Songling) and c, d (Hengshan)."""
    owners = [d.a, d.a, d.b, d.c, d.d]
    async with db.session() as session:
        for i, (enterprise, phone) in enumerate(zip(owners, PHONES, strict=True)):
            await Contacts(session, clock).set(BUREAU, enterprise, f"联系人{i}", phone=phone,
                                               role="安全员", consent="书面同意")  # fmt: skip


async def rows(db: Database) -> dict[str, NoticeDelivery]:
    async with db.session() as session:
        return {r.address: r for r in await session.scalars(sa.select(NoticeDelivery))}


async def test_batches_throttling_and_a_bad_number(
    world: World, db: Database, clock: FrozenClock, standin: StandIn
) -> None:
    d = await district(world, db, clock)
    await contacts(db, clock, d)
    settings = sms_settings(standin)
    sms = gateway(settings)
    await published(db, clock, Audience("all"), channels=("sms",))
    standin.throttle = 1
    standin.bad_numbers = {PHONES[3]}
    first = await deliver_sms(db, clock, NOTICES, settings, sms)
    assert (first.calls, first.sent, first.retrying) == (1, 0, 2)  # throttled: the round stops
    assert standin.log == []
    clock.advance(timedelta(minutes=2))
    second = await deliver_sms(db, clock, NOTICES, settings, sms)
    assert (second.sent, second.failed, second.retrying) == (4, 1, 0)
    assert Counter(standin.phones()) == Counter(p for p in PHONES if p != PHONES[3])
    assert standin.refused_signatures == 0
    assert {e["template"] for e in standin.log} == {"SMS_2710001"}
    assert all("复工通知" in e["params"] for e in standin.log)
    state = await rows(db)
    assert state[PHONES[3]].status == "failed"
    assert "IncorrectPhoneNumber" in (state[PHONES[3]].last_error or "") or "ILLEGAL" in (
        state[PHONES[3]].last_error or ""
    )
    assert all(
        state[p].status == "sent" and state[p].provider_ref for p in PHONES if p != PHONES[3]
    )
    keys = {r.idempotency_key for r in state.values()}
    assert len(keys) == 5
    assert None not in keys
    # Nothing more is due, so nothing goes twice.
    assert (await deliver_sms(db, clock, NOTICES, settings, sms)).calls == 0
    async with db.session() as session:
        audited = Counter(await session.scalars(
            sa.select(AuditEntry.action).where(AuditEntry.action.like("notice.%"))))  # fmt: skip
    assert (audited["notice.sent"], audited["notice.failed"]) == (4, 1)

    # Delivery reports in the provider's shape settle on their rows.
    reports = standin.reports()
    parsed = aliyun_reports(reports) if standin.provider == "aliyun" else tencent_reports(reports)
    assert await record_reports(db, clock, standin.provider, parsed) == 4
    assert {r.report for r in (await rows(db)).values() if r.status == "sent"} == {
        "DELIVERED" if standin.provider == "aliyun" else "DELIVRD"
    }


async def test_a_wrong_secret_is_refused_and_retried(
    world: World, db: Database, clock: FrozenClock, standin: StandIn
) -> None:
    d = await district(world, db, clock)
    await contacts(db, clock, d)
    wrong = sms_settings(standin).model_copy(update={"access_key_secret": SecretStr("nope")})
    await published(db, clock, Audience("township", (SONGLING,)), channels=("sms",))
    done = await deliver_sms(db, clock, NOTICES, wrong, gateway(wrong))
    assert standin.refused_signatures == 1
    assert standin.log == []
    assert done.retrying == 2
    assert {r.status for r in (await rows(db)).values()} == {"pending"}


async def test_consent_and_opt_out(world: World, db: Database, clock: FrozenClock) -> None:
    d = await district(world, db, clock)
    async with db.session() as session:
        contacts_ = Contacts(session, clock)
        await contacts_.set(BUREAU, d.c, "无同意", phone="+86 139-0000-0011")
        await contacts_.set(BUREAU, d.c, "已同意", phone="13900000012", consent="电话确认")
        await contacts_.set(BUREAU, d.d, "退订者", phone="13900000013", consent="书面",
                            sms_opt_out=True)  # fmt: skip
        await contacts_.set(BUREAU, d.d, "后退订", phone="13900000014", consent="书面")
    await published(db, clock, Audience("township", (HENGSHAN,)), channels=("sms",))
    assert set(await rows(db)) == {"13900000012", "13900000014"}
    async with db.session() as session:
        await Contacts(session, clock).set(BUREAU, d.d, "后退订", phone="13900000014",
                                           consent="书面", sms_opt_out=True)  # fmt: skip
    with StandIn("aliyun") as standin:
        settings = sms_settings(standin)
        done = await deliver_sms(db, clock, NOTICES, settings, gateway(settings))
        assert standin.phones() == ["13900000012"]
    assert (done.sent, done.failed) == (1, 1)
    assert (await rows(db))["13900000014"].last_error == "opted out (退订)"


async def test_a_batch_left_sending_is_never_sent_again(
    world: World, db: Database, clock: FrozenClock
) -> None:
    """A claim whose process died: unknown after the claim time, settled by a report."""
    d = await district(world, db, clock)
    await contacts(db, clock, d)
    await published(db, clock, Audience("township", (SONGLING,)), channels=("sms",))
    async with db.session() as session:
        await session.execute(sa.update(NoticeDelivery).values(
            status="sending", out_id="deadbeef", claimed_at=clock.now(),
            provider="aliyun"))  # fmt: skip
    with StandIn("aliyun") as standin:
        settings = sms_settings(standin, claim_seconds=60)
        assert (await deliver_sms(db, clock, NOTICES, settings, gateway(settings))).calls == 0
        clock.advance(timedelta(seconds=61))
        assert await recover_stale(db, clock, settings) == 3
        assert (await deliver_sms(db, clock, NOTICES, settings, gateway(settings))).calls == 0
        assert standin.log == []
    report = [{"phone_number": PHONES[0], "success": True, "err_code": "DELIVERED",
               "report_time": "2026-12-07 09:00:00", "biz_id": "1^0",
               "out_id": "deadbeef"}]  # fmt: skip
    assert await record_reports(db, clock, "aliyun", aliyun_reports(report)) == 1
    state = await rows(db)
    assert (state[PHONES[0]].status, state[PHONES[0]].report) == ("sent", "DELIVERED")
    assert state[PHONES[1]].status == "unknown"


async def test_reports_route_needs_the_token(
    client: httpx.AsyncClient, settings: Settings, world: World, db: Database, clock: FrozenClock
) -> None:
    d = await district(world, db, clock)
    await contacts(db, clock, d)
    await published(db, clock, Audience("township", (SONGLING,)), channels=("sms",))
    with StandIn("tencent") as standin:
        sms = sms_settings(standin, callback_token=SecretStr("t0ken"))
        settings.sms = sms
        await deliver_sms(db, clock, NOTICES, sms, gateway(sms), RateLimiter(1000))
        body = standin.reports()
    url = "/api/sms/reports/tencent"
    assert (await client.post(url, params={"token": "x"}, json=body)).status_code == 401
    assert (await client.post("/api/sms/reports/aliyun", params={"token": "t0ken"},
                              json=body)).status_code == 404  # fmt: skip
    bad = await client.post(url, params={"token": "t0ken"}, json=[{"nope": 1}])
    assert (bad.status_code, bad.json()["error"]) == (400, "bad_sms_report")
    ok = await client.post(url, params={"token": "t0ken"}, json=body)
    assert (ok.status_code, ok.json()) == (200, {"result": 0, "errmsg": "OK"})
    assert {r.report for r in (await rows(db)).values()} == {"DELIVRD"}


async def test_contacts_api_validates_and_scopes(
    client: httpx.AsyncClient, world: World, db: Database, clock: FrozenClock
) -> None:
    d = await district(world, db, clock)
    bureau = await world.bearer("analyst", Role.BUREAU)
    mine = await world.bearer("c-user", Role.ENTERPRISE, enterprises=(d.c,))
    made = await client.post("/api/notice-contacts", headers=mine, json={
        "enterprise_id": d.c, "name": "王强", "role": "负责人", "phone": "+8613912345678",
        "consent": "本人填写"})  # fmt: skip
    assert made.status_code == 200, made.text
    assert (made.json()["phone"], made.json()["consent_by"]) == ("13912345678", "c-user")
    bad = await client.post("/api/notice-contacts", headers=mine, json={
        "enterprise_id": d.c, "name": "王强", "phone": "12912345678"})  # fmt: skip
    assert (bad.status_code, bad.json()["error"]) == (400, "bad_contact_phone")
    other = await client.post("/api/notice-contacts", headers=mine, json={
        "enterprise_id": d.a, "name": "x", "phone": "13912345678"})  # fmt: skip
    assert other.status_code == 403
    contact_id = made.json()["id"]
    assert (await client.delete(f"/api/notice-contacts/{contact_id}",
                                headers=await world.bearer("a-user", Role.ENTERPRISE,
                                                           enterprises=(d.a,)))
            ).status_code == 404  # fmt: skip
    gone = await client.delete(f"/api/notice-contacts/{contact_id}", headers=bureau)
    assert gone.status_code == 204
    listed = await client.get("/api/notice-contacts", params={"enterprise_id": d.c}, headers=mine)
    assert listed.json() == []
