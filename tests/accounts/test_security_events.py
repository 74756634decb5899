"""Refused writes and failed sign-ins are security events in the audit log, at a bounded rate."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import sqlalchemy as sa

from taihu.accounts import AuditEntry, Role, SecurityEvent, SecurityLog
from taihu.core import Database, FrozenClock
from tests.conftest import CODE_A, PASSWORD, World
from tests.web.test_console import sign_in


async def _refused(client: httpx.AsyncClient, auditor: dict[str, str], **query: str) -> list[Any]:
    response = await client.get(
        "/api/audit", params={"outcome": "refused", **query}, headers=auditor
    )
    assert response.status_code == 200
    items: list[Any] = response.json()["items"]
    return items


async def test_a_refused_write_is_recorded_for_the_auditor(
    client: httpx.AsyncClient, world: World
) -> None:
    enterprise = await world.enterprise("甲", CODE_A)
    intruder = await world.bearer("li.na", Role.ENTERPRISE)
    auditor = await world.bearer("audit", Role.AUDITOR)
    response = await client.put(
        f"/api/enterprises/{enterprise.id}", json={"name": "乙"}, headers=intruder
    )
    assert response.status_code == 403
    [entry] = await _refused(client, auditor)
    assert entry["action"] == "security.write_refused"
    assert entry["actor"] == "li.na"
    assert entry["actor_user_id"] is not None
    assert entry["entity_type"] == "route"
    assert entry["entity_id"] == "PUT /api/enterprises/{enterprise_id}"
    assert entry["after"]["reason"] == "role_required"
    assert entry["after"]["source"] == "127.0.0.1"
    assert entry["after"]["params"] == {"enterprise_id": str(enterprise.id)}
    assert entry["request_id"] == response.headers["x-request-id"]
    # The ordinary listing still shows the writes done, and "done" leaves the refusals out.
    done = await client.get("/api/audit", params={"outcome": "done"}, headers=auditor)
    assert all(not e["action"].startswith("security.") for e in done.json()["items"])


async def test_anonymous_and_csrf_refusals_are_recorded(
    client: httpx.AsyncClient, world: World
) -> None:
    auditor = await world.bearer("audit", Role.AUDITOR)
    assert (await client.delete("/api/tokens/7")).status_code == 401
    await world.user("admin", Role.ADMIN)
    await sign_in(client, "admin")
    refused = await client.post("/api/enterprises", json={"name": "甲", "credit_code": CODE_A})
    assert refused.status_code == 403
    entries = await _refused(client, auditor, action="security.write_refused")
    assert [(e["actor"], e["after"]["reason"], e["entity_id"]) for e in entries] == [
        ("admin", "csrf_failed", "POST /api/enterprises"),
        ("anonymous", "not_authenticated", "DELETE /api/tokens/{token_id}"),
    ]


async def test_failed_sign_ins_are_recorded_from_the_api_and_the_console(
    client: httpx.AsyncClient, world: World
) -> None:
    await world.user("zhang", Role.BUREAU)
    auditor = await world.bearer("audit", Role.AUDITOR)
    response = await client.post(
        "/api/auth/token", json={"username": "zhang", "password": "wrong-pass"}
    )
    assert response.status_code == 401
    assert (await sign_in(client, "nobody", "wrong-pass")).status_code == 401
    snms = await client.post("/identity/token", json={"username": "Wang", "password": "wrong"})
    assert snms.status_code == 401
    entries = await _refused(client, auditor, action="security.login_failed")
    assert [(e["actor"], e["after"]["reason"], e["after"]["route"]) for e in entries] == [
        ("wang", "bad_credentials", "/identity/token"),
        ("nobody", "bad_credentials", "/login"),
        ("zhang", "bad_credentials", "/api/auth/token"),
    ]
    # A sign-in that works is not a security event.
    ok = await client.post("/api/auth/token", json={"username": "zhang", "password": PASSWORD})
    assert ok.status_code == 201
    assert len(await _refused(client, auditor, action="security.login_failed")) == 3


async def test_the_console_lists_security_events_for_the_auditor(
    client: httpx.AsyncClient, world: World
) -> None:
    await world.user("audit", Role.AUDITOR)
    assert (await client.delete("/api/tokens/7")).status_code == 401
    await sign_in(client, "audit")
    page = await client.get("/audit", params={"outcome": "refused"})
    assert page.status_code == 200
    assert "security.write_refused" in page.text
    assert "not_authenticated" in page.text
    assert 'value="refused" selected' in page.text
    done = await client.get("/audit", params={"outcome": "done"})
    assert "security.write_refused" not in done.text


async def test_a_flood_of_refusals_is_counted_not_written_one_by_one(
    client: httpx.AsyncClient, world: World, db: Database, clock: FrozenClock
) -> None:
    auditor = await world.bearer("audit", Role.AUDITOR)
    for _ in range(50):  # the same refusal again and again
        assert (await client.delete("/api/tokens/7")).status_code == 401
    for n in range(40):  # and refusals of as many different writes from the same address
        response = await client.post(f"/api/monitor/cases/{n + 1}/actions", json={})
        assert response.status_code == 401
    entries = await _refused(client, auditor, page_size="500")
    # One entry for the repeated refusal; the other route once (its ids differ, not its route).
    assert [e["entity_id"] for e in entries] == [
        "POST /api/monitor/cases/{case_id}/actions",
        "DELETE /api/tokens/{token_id}",
    ]
    # The next entry from that address says how many were held back before it.
    assert entries[0]["after"]["suppressed"] == 49
    clock.advance(timedelta(minutes=2))
    assert (await client.delete("/api/tokens/7")).status_code == 401
    latest = (await _refused(client, auditor))[0]
    assert latest["entity_id"] == "DELETE /api/tokens/{token_id}"
    assert latest["after"]["suppressed"] == 39
    async with db.session() as session:
        security = AuditEntry.action.startswith("security.")
        assert await session.scalar(sa.select(sa.func.count()).where(security)) == 3


async def test_one_source_gets_a_bounded_number_of_entries(
    db: Database, clock: FrozenClock
) -> None:
    security_log = SecurityLog(db, clock, per_source=5, overall=8)

    def event(source: str, n: int) -> SecurityEvent:
        return SecurityEvent(
            action="security.login_failed", actor=f"user{n}", source=source,
            entity_type="user", entity_id=f"user{n}", reason="bad_credentials",
        )  # fmt: skip

    written = [await security_log.record(event("10.0.0.1", n)) for n in range(20)]
    assert written.count(True) == 5  # different user names, one address
    others = [await security_log.record(event(f"10.0.1.{n}", n)) for n in range(10)]
    assert others.count(True) == 3  # the process-wide bound (8) is reached
    clock.advance(timedelta(seconds=61))
    assert await security_log.record(event("10.0.0.1", 0))
    assert security_log.admit(event("10.0.0.1", 0)) is None  # same event, same window
