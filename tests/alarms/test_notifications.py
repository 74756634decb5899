"""Notifications: signed webhooks to a real HTTP server, the outbox across restarts, rate limits."""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import orjson
import pytest
import sqlalchemy as sa

from taihu.accounts import Principal, Role
from taihu.alarms import AlarmDelivery, AlarmEngine, AlarmNotification, SubscriptionService
from taihu.core import Database, FrozenClock
from taihu.settings import AlarmSettings
from tests.alarms.test_engine import HOT, _profile_rule, _send
from tests.conftest import CODE_B, World


class Receiver(ThreadingHTTPServer):
    """A webhook receiver that checks the signature as a subscriber would, with its own code."""

    secret = ""
    failures_left = 0  # answer 500 to this many requests first
    received: list[tuple[str, dict[str, Any]]]
    rejected = 0


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        stamp = self.headers["X-Taihu-Timestamp"]
        mac = hmac.new(self.server.secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256)
        if not hmac.compare_digest(self.headers["X-Taihu-Signature"], f"sha256={mac.hexdigest()}"):
            self.server.rejected += 1
            self.send_response(401)
        elif self.server.failures_left > 0:
            self.server.failures_left -= 1
            self.send_response(500)
        else:
            self.server.received.append((self.headers["X-Taihu-Delivery"], orjson.loads(body)))
            self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver(("127.0.0.1", 0), _Handler)
    server.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


async def _person(world: World, name: str, role: Role, *enterprises: int) -> Principal:
    user = await world.user(name, role, enterprises=enterprises)
    return Principal(name, role, user.id, frozenset(enterprises))


async def _outbox(db: Database) -> list[AlarmNotification]:
    async with db.session() as session:
        statement = sa.select(AlarmNotification).order_by(AlarmNotification.id)
        return list(await session.scalars(statement))


async def test_signed_webhook_retried_and_not_sent_twice_after_a_restart(
    db: Database, world: World, clock: FrozenClock, engine: AlarmEngine, port: int,
    make_device: Any, receiver: Receiver,
) -> None:  # fmt: skip
    dev = await make_device()
    admin = await _person(world, "ops", Role.ADMIN)
    url = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
    async with db.session() as session:
        sub = await SubscriptionService(session, clock).subscribe(
            admin, channel="webhook", min_severity="major", target=url
        )
        receiver.secret = sub.secret
    await _profile_rule(db, dev.id, **HOT)
    await engine.reload()
    await _send(port, dev.token, 90, 60)  # raised, then cleared
    await engine.flush()
    assert [(n.event, n.status) for n in await _outbox(db)] == [
        ("created", "pending"),
        ("cleared", "pending"),
    ]
    settings = AlarmSettings(delivery_backoff=30)
    receiver.failures_left = 1
    assert await AlarmDelivery(db, settings, clock=clock).round() == (1, 1)
    failed = (await _outbox(db))[0]
    assert (failed.status, failed.attempts, failed.error) == ("pending", 1, "HTTP 500")
    # A new delivery (as after a restart) sends nothing sent already, nor what is not yet due.
    assert await AlarmDelivery(db, settings, clock=clock).round() == (0, 0)
    clock.advance(timedelta(seconds=31))
    assert await AlarmDelivery(db, settings, clock=clock).round() == (1, 0)
    assert await AlarmDelivery(db, settings, clock=clock).round() == (0, 0)
    assert receiver.rejected == 0
    events = sorted((p["event"], p["value"], p["device_id"]) for _, p in receiver.received)
    assert events == [("cleared", 60.0, dev.id), ("created", 90.0, dev.id)]
    assert len({delivery for delivery, _ in receiver.received}) == 2
    assert {n.status for n in await _outbox(db)} == {"sent"}


async def test_a_wrong_secret_fails_and_ends_failed(
    db: Database, world: World, clock: FrozenClock, engine: AlarmEngine, port: int,
    make_device: Any, receiver: Receiver,
) -> None:  # fmt: skip
    dev = await make_device()
    admin = await _person(world, "ops", Role.ADMIN)
    url = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
    async with db.session() as session:
        await SubscriptionService(session, clock).subscribe(admin, channel="webhook", target=url)
    receiver.secret = "not-the-subscription-secret"
    await _profile_rule(db, dev.id, **HOT)
    await engine.reload()
    await _send(port, dev.token, 90)
    await engine.flush()
    settings = AlarmSettings(delivery_attempts=2, delivery_backoff=1)
    assert await AlarmDelivery(db, settings, clock=clock).round() == (0, 1)
    clock.advance(timedelta(seconds=2))
    assert await AlarmDelivery(db, settings, clock=clock).round() == (0, 1)
    [note] = await _outbox(db)
    assert (note.status, note.attempts, note.error) == ("failed", 2, "HTTP 401")
    assert receiver.rejected == 2
    assert receiver.received == []


async def test_subscriptions_filter_by_enterprise_and_severity_and_are_rate_limited(
    db: Database, world: World, clock: FrozenClock, engine: AlarmEngine, port: int,
    make_device: Any, client: httpx.AsyncClient,
) -> None:  # fmt: skip
    devices = [await make_device(f"m{i}") for i in range(3)]
    mine = devices[0].enterprise_id
    other = await world.enterprise("乙厂", CODE_B)
    headers = devices[0].headers  # alice, a user of the devices' enterprise
    answer = await client.post(
        "/api/alarm-subscriptions", headers=headers,
        json={"channel": "console", "min_severity": "major"},
    )  # fmt: skip
    assert answer.status_code == 201, answer.text
    assert answer.json()["enterprise_id"] == mine
    assert answer.json()["secret"] is None
    refused = await client.post(
        "/api/alarm-subscriptions", headers=headers,
        json={"channel": "console", "enterprise_id": other.id},
    )  # fmt: skip
    assert refused.status_code == 400
    assert refused.json()["error"] == "bad_subscription"
    bureau = await _person(world, "bureau1", Role.BUREAU)
    async with db.session() as session:
        subs = SubscriptionService(session, clock)
        await subs.subscribe(bureau, channel="console", enterprise_id=other.id)
        await subs.subscribe(bureau, channel="console", min_severity="critical")
        await subs.subscribe(bureau, channel="console", min_severity="minor")
    engine.settings = AlarmSettings(notify_limit=2, notify_window=600)
    await _profile_rule(db, devices[0].id, **HOT)  # major, on the devices' shared profile
    await engine.reload()
    for dev in devices:
        await _send(port, dev.token, 90)
    await engine.flush()
    notes = await _outbox(db)
    # alice's (major, her enterprise) and the bureau's minor one hear; the other enterprise's
    # and the critical one do not. Two within the window, the third suppressed.
    assert sorted(n.status for n in notes) == ["sent"] * 4 + ["suppressed"] * 2
    inbox = await client.get("/api/alarm-notifications", headers=headers)
    assert inbox.status_code == 200
    assert [n["event"] for n in inbox.json()] == ["created", "created"]
    assert {n["payload"]["enterprise_id"] for n in inbox.json()} == {mine}
    clock.advance(timedelta(seconds=601))
    await _send(port, devices[0].token, 60)  # cleared: a new window
    await engine.flush()
    latest = (await client.get("/api/alarm-notifications", headers=headers)).json()[0]
    assert (latest["event"], latest["payload"]["value"]) == ("cleared", 60.0)
