"""The notices API and console: the bureau publishes, an enterprise reads only its own notices."""

from __future__ import annotations

import httpx

from taihu.accounts import Role
from taihu.core import Database, FrozenClock
from tests.conftest import PASSWORD, World
from tests.monitor.helpers import code
from tests.notices.helpers import HENGSHAN, district


async def test_publish_read_acknowledge_and_receipts_over_http(
    client: httpx.AsyncClient, world: World, db: Database, clock: FrozenClock
) -> None:
    d = await district(world, db, clock)
    bureau = await world.bearer("analyst", Role.BUREAU)
    mine = await world.bearer("c-user", Role.ENTERPRISE, enterprises=(d.c,))
    other = await world.bearer("a-user", Role.ENTERPRISE, enterprises=(d.a,))
    draft = {
        "title": "复工通知",
        "body": "<script>x()</script> **请确认**",
        "audience_kind": "township",
        "audience_refs": [HENGSHAN],
        "require_ack": True,
    }
    created = await client.post("/api/notices", json=draft, headers=bureau)
    assert created.status_code == 201, created.text
    notice_id = created.json()["id"]
    assert "<script" not in created.json()["body_html"]
    refused = await client.post("/api/notices", json=draft, headers=mine)
    assert refused.status_code == 403
    bad = await client.post("/api/notices", json={**draft, "audience_refs": ["1"]}, headers=bureau)
    assert (bad.status_code, bad.json()["error"]) == (400, "bad_audience")
    upload = await client.post(f"/api/notices/{notice_id}/attachments", headers=bureau,
                               files={"file": ("计划.txt", b"plan", "text/plain")})  # fmt: skip
    assert upload.status_code == 201, upload.text
    published = await client.post(f"/api/notices/{notice_id}/publish", headers=bureau)
    assert published.json()["status"] == "published"

    assert (await client.get("/api/inbox", headers=mine)).json()["unread"] == 1
    assert (await client.get("/api/inbox", headers=other)).json() == {"unread": 0, "items": []}
    assert (await client.get(f"/api/inbox/{notice_id}", headers=other)).status_code == 404
    attachment = f"/api/notices/{notice_id}/attachments/{upload.json()['id']}"
    assert (await client.get(attachment, headers=other)).status_code == 404
    got = await client.get(attachment, headers=mine)
    assert (got.status_code, got.content) == (200, b"plan")

    opened = await client.get(f"/api/inbox/{notice_id}", headers=mine)
    assert opened.status_code == 200
    ack = await client.post(f"/api/inbox/{notice_id}/acknowledge", headers=mine)
    assert ack.json()["acknowledged"] is True
    receipts = (await client.get(f"/api/notices/{notice_id}/receipts", headers=bureau)).json()
    assert (receipts["recipients"], receipts["read"], receipts["acknowledged"]) == (2, 1, 1)
    assert (await client.get(f"/api/notices/{notice_id}/receipts", headers=mine)).status_code == 403
    reminded = await client.post(f"/api/notices/{notice_id}/remind", headers=bureau)
    assert reminded.json() == {"reminded": 1}
    contact = await client.post("/api/notice-contacts", headers=mine, json={
        "enterprise_id": d.c, "name": "张敏", "phone": "139 1234 5678"})  # fmt: skip
    assert contact.json()["phone"] == "13912345678"
    foreign = await client.post("/api/notice-contacts", headers=mine, json={
        "enterprise_id": d.a, "name": "张敏", "email": "x@example.cn"})  # fmt: skip
    assert foreign.status_code == 403


async def _sign_in(client: httpx.AsyncClient, username: str) -> None:
    page = await client.get("/login")
    token = page.text.split('name="csrf" value="')[1].split('"')[0]
    signed = await client.post("/login", data={"username": username, "password": PASSWORD,
                                               "csrf": token, "next": "/"})  # fmt: skip
    assert signed.status_code == 303


async def test_the_console_inbox_counts_unread_and_records_the_receipt(
    client: httpx.AsyncClient, world: World, db: Database, clock: FrozenClock
) -> None:
    d = await district(world, db, clock)
    bureau = await world.bearer("analyst", Role.BUREAU)
    await world.user("c-user", Role.ENTERPRISE, enterprises=(d.c,))
    created = await client.post("/api/notices", headers=bureau, json={
        "title": "停电通知", "body": "明日停电", "audience_kind": "enterprises",
        "audience_refs": [code(2)]})  # fmt: skip
    await client.post(f"/api/notices/{created.json()['id']}/publish", headers=bureau)
    await _sign_in(client, "c-user")
    home = await client.get("/")
    assert 'href="/inbox"' in home.text
    assert 'href="/notices"' not in home.text
    assert 'data-unread="1"' in (await client.get("/inbox/unread")).text
    assert "停电通知" in (await client.get("/inbox")).text
    assert (await client.get("/notices")).status_code == 403
    page = await client.get(f"/inbox/{created.json()['id']}")
    assert "明日停电" in page.text
    assert (await client.get("/inbox/unread")).text == ""


async def test_the_bureau_schedules_and_attaches_in_the_console(
    client: httpx.AsyncClient, world: World, db: Database, clock: FrozenClock
) -> None:
    await district(world, db, clock)
    await world.user("analyst", Role.BUREAU)
    await _sign_in(client, "analyst")
    page = await client.get("/notices")
    csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
    form = {"csrf": csrf, "title": "周会", "body": "<b>x</b> 周五开会", "audience_kind": "all"}
    created = await client.post("/notices", data=form)
    assert created.status_code == 303
    path = created.headers["location"]
    attached = await client.post(f"{path}/attachments", data={"csrf": csrf},
                                 files={"file": ("议程.txt", b"agenda", "text/plain")})  # fmt: skip
    assert attached.status_code == 303
    # 2026-11-25 20:00 in Shanghai is 12:00 UTC, after the test clock's 08:00 UTC: scheduled.
    scheduled = await client.post(
        f"{path}/publish", data={"csrf": csrf, "day": "2026年11月25日", "time": "20:00"}
    )
    assert scheduled.status_code == 303
    shown = await client.get(path)
    assert "议程.txt" in shown.text
    assert "&lt;b&gt;x&lt;/b&gt;" in shown.text
    assert "2026-11-25 20:00" in shown.text
    bad = await client.post(f"{path}/publish", data={"csrf": csrf, "day": "soon", "time": "25:00"})
    assert bad.status_code == 303  # back to the page with the reason
    assert "soon" in (await client.get(path)).text


async def test_contacts_in_the_console(
    client: httpx.AsyncClient, world: World, db: Database, clock: FrozenClock
) -> None:
    """An enterprise user keeps their own contacts; the page shows consent; others stay out."""
    d = await district(world, db, clock)
    await world.user("c-user", Role.ENTERPRISE, enterprises=(d.c,))
    await _sign_in(client, "c-user")
    page = await client.get("/my-contacts")
    assert page.status_code == 200
    assert (await client.get("/contacts")).status_code == 403
    csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
    form = {"csrf": csrf, "enterprise_id": str(d.c), "name": "李娜", "role": "安全员",
            "phone": "+86 138 0000 0001", "consent": "本人填写"}  # fmt: skip
    saved = await client.post("/my-contacts", data=form)
    assert saved.status_code == 303
    shown = (await client.get("/my-contacts")).text
    assert "13800000001" in shown
    assert "本人填写" in shown
    bad = await client.post("/my-contacts", data={**form, "phone": "23800000001"})
    assert bad.status_code == 303
    assert "23800000001" in (await client.get("/my-contacts")).text  # the flashed refusal
    foreign = await client.post("/my-contacts", data={**form, "enterprise_id": str(d.a)})
    assert foreign.status_code == 403
    nonsense = await client.post("/my-contacts", data={**form, "enterprise_id": "x"})
    assert nonsense.status_code == 303
    contact_id = shown.split('action="/my-contacts/')[1].split("/")[0]
    gone = await client.post(f"/my-contacts/{contact_id}/delete", data={"csrf": csrf})
    assert gone.status_code == 303
    assert "13800000001" not in (await client.get("/my-contacts")).text
