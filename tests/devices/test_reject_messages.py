"""Why a device message was refused: told to the device in English, kept as a message id with
its values, and shown to each reader in their language (console, REST API's Accept-Language)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Connection

from taihu.accounts import Principal
from taihu.core import Database, FrozenClock, upgrade
from taihu.core.migrate import alembic_config
from taihu.devices import DeviceHub, DeviceService
from taihu.devices.ingest import IngestQueue
from taihu.devices.models import DeviceReject
from taihu.devices.values import BadPayload, parse_json, telemetry_rows
from tests.devices.test_ingest import SlowStore
from tests.monitor.helpers import registry

ZH = {"Accept-Language": "zh-CN"}


async def _post_bad(client: httpx.AsyncClient, token: str, **headers: str) -> httpx.Response:
    return await client.post(
        f"/api/v1/{token}/telemetry", content=b'{"n": oops',
        headers={"content-type": "application/json", **headers},
    )  # fmt: skip


async def test_the_device_is_told_in_english_the_reader_in_their_language(
    client: httpx.AsyncClient, make_device: Any, app: Any, db: Database
) -> None:
    dev = await make_device()
    told = await _post_bad(client, dev.token)
    assert told.status_code == 400
    assert told.json()["error"] == "bad_payload"
    assert told.json()["message"].startswith("payload is not valid JSON: ")
    hub: DeviceHub = app.state.device_hub
    await hub.rejects.flush()
    async with db.session() as session:
        [row] = await session.scalars(sa.select(DeviceReject))
    # Stored as the message id and its values, not as a sentence in one language.
    assert row.detail == "payload is not valid JSON: {error}"
    assert row.params is not None
    assert set(row.params) == {"error"}
    english = (await client.get(f"/api/devices/{dev.id}/rejects", headers=dev.headers)).json()
    chinese = (
        await client.get(f"/api/devices/{dev.id}/rejects", headers={**dev.headers, **ZH})
    ).json()
    [en], [zh] = english["recent"], chinese["recent"]
    assert en["detail"] == told.json()["message"]
    assert zh["detail"].startswith("消息内容不是有效的 JSON：")  # noqa: RUF001 - Chinese colon
    assert zh["message_id"] == en["message_id"] == "payload is not valid JSON: {error}"
    assert zh["params"] == en["params"] == row.params
    # A device that asks for Chinese gets its answer in Chinese, as every API caller.
    assert (await _post_bad(client, dev.token, **ZH)).json()["message"].startswith("消息内容")


async def test_a_store_outage_is_a_503_with_a_code_and_the_callers_language(
    client: httpx.AsyncClient, make_device: Any, app: Any
) -> None:
    hub: DeviceHub = app.state.device_hub
    # Every write fails: after its retries the ingest queue gives the senders up.
    hub.ingest = IngestQueue(SlowStore(hub.store, delay=0, failures=1_000), linger=0)  # type: ignore[arg-type]
    dev = await make_device()
    told = await client.post(f"/api/v1/{dev.token}/telemetry", json={"kw": 1})
    # What a device acts on: the status, Retry-After and the stable code (ThingsBoard's
    # clients only look at the status); the sentence defaults to English.
    assert told.status_code == 503
    assert told.headers["retry-after"] == "1"
    assert told.json()["error"] == "not_stored"
    assert told.json()["message"] == "not stored: disk unavailable (simulated)"
    assert told.json()["details"]["error"] == "disk unavailable (simulated)"
    # A person reading the API in Chinese gets the sentence in Chinese, the cause as it came.
    chinese = await client.post(f"/api/v1/{dev.token}/telemetry", json={"kw": 2}, headers=ZH)
    assert chinese.status_code == 503
    assert chinese.json()["error"] == "not_stored"
    assert chinese.json()["message"] == "未存储：disk unavailable (simulated)"  # noqa: RUF001 - Chinese colon
    await hub.rejects.flush()
    rejects = (
        await client.get(f"/api/devices/{dev.id}/rejects", headers={**dev.headers, **ZH})
    ).json()
    assert [r["detail"] for r in rejects["recent"]] == ["未存储：disk unavailable (simulated)"] * 2  # noqa: RUF001


async def test_a_refusal_over_mqtt_keeps_its_values(
    client: httpx.AsyncClient, make_device: Any, hub: DeviceHub
) -> None:
    dev = await make_device()
    auth = await hub.authenticate(dev.token)
    assert auth is not None
    ack = hub.reject_topic(
        auth, "v1/devices/me/nowhere", "{topic} is not a topic of the device API"
    )
    assert ack.message == "'v1/devices/me/nowhere' is not a topic of the device API"
    await hub.rejects.flush()
    body = (
        await client.get(f"/api/devices/{dev.id}/rejects", headers={**dev.headers, **ZH})
    ).json()
    [reject] = body["recent"]
    assert reject["detail"] == "'v1/devices/me/nowhere' 不是设备 API 的主题"
    assert reject["params"] == {"topic": "'v1/devices/me/nowhere'"}


def test_payload_errors_are_messages_with_values() -> None:
    with pytest.raises(BadPayload) as refused:
        telemetry_rows({"t": float("inf")}, 1_764_057_600_000, 1)
    assert refused.value.message.id == "{key}: {value} is not a finite number"
    assert refused.value.message.params == {"key": "t", "value": "inf"}
    assert str(refused.value) == "t: inf is not a finite number"
    with pytest.raises(BadPayload) as too_big:
        parse_json(b"x" * 20, limit=10)
    assert too_big.value.message.params == {"size": 20, "limit": 10}


async def test_rows_from_before_the_migration_are_shown_as_written(
    client: httpx.AsyncClient, make_device: Any, db: Database
) -> None:
    dev = await make_device()
    async with db.session() as session:
        session.add(DeviceReject(device_id=dev.id, at=datetime.now(UTC), reason="malformed",
                                 code=0x99, transport="mqtt", topic="t",
                                 detail="not valid JSON: {oops}", params=None))  # fmt: skip
    body = (
        await client.get(f"/api/devices/{dev.id}/rejects", headers={**dev.headers, **ZH})
    ).json()
    [reject] = body["recent"]
    assert reject["detail"] == "not valid JSON: {oops}"
    assert reject["params"] == {}


async def test_the_migration_down_writes_the_english_sentence_back(
    empty_database_url: str, clock: FrozenClock
) -> None:
    db = Database(empty_database_url)
    try:
        await upgrade(db)
        ids = await registry(db, clock, n=1)
        async with db.session() as session:
            issued = await DeviceService(session, clock).create(
                Principal.system("test"), next(iter(ids.values())), "m"
            )
            session.add(DeviceReject(device_id=issued.device.id, at=clock.now(),
                                     reason="malformed", code=0x99, transport="mqtt", topic="t",
                                     detail="{key}: null is not a value",
                                     params={"key": "temp"}))  # fmt: skip

        def _down(conn: Connection) -> None:
            command.downgrade(alembic_config(conn), "devices_0005")

        async with db.engine.begin() as conn:
            await conn.run_sync(_down)
            detail = await conn.scalar(sa.text("SELECT detail FROM device_rejects"))
        assert detail == "temp: null is not a value"
        await upgrade(db)
    finally:
        await db.dispose()
