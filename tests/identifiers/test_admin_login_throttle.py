"""HTTP Basic ``300:PREFIX/ADMIN`` logins: repeated failures lock the admin out, as on the wire."""

from __future__ import annotations

from datetime import timedelta

import httpx
import sqlalchemy as sa

from taihu.accounts import AuditEntry
from taihu.core import Database
from tests.conftest import World
from tests.identifiers.conftest import ADMIN, PREFIX, basic

BODY = {"values": [{"index": 1, "type": "URL", "data": "https://lift.example/T"}]}
WRONG = basic(f"300:{PREFIX}/ADMIN", "wrong-secret")
LIMIT = 3  # login_max_failures of the test settings


async def _put(client: httpx.AsyncClient, suffix: str, headers: dict[str, str]) -> httpx.Response:
    return await client.put(f"/api/handles/{PREFIX}/{suffix}", json=BODY, headers=headers)


async def test_failed_basic_logins_lock_out_then_expire(
    client: httpx.AsyncClient, db: Database, world: World, prefixes: int
) -> None:
    for attempt in range(LIMIT):
        wrong = await _put(client, f"T{attempt}", WRONG)
        assert (wrong.status_code, wrong.json()["responseCode"]) == (403, 403)
    locked = await _put(client, "RIGHT-BUT-LOCKED", ADMIN)
    # the wrong-key answer (403, responseCode 403), which pyhandle raises with its body
    assert (locked.status_code, locked.json()["responseCode"]) == (403, 403)
    assert int(locked.headers["retry-after"]) > 0
    assert "too many" in locked.json()["message"]
    async with db.session() as session:
        entries = list(
            await session.scalars(
                sa.select(AuditEntry).where(AuditEntry.action == "handle.auth_locked")
            )
        )
    assert [e.entity_id for e in entries] == [f"{PREFIX}/ADMIN"]
    world.clock.advance(timedelta(seconds=301))
    assert (await _put(client, "AFTER", ADMIN)).status_code == 201


async def test_the_lock_is_per_admin(client: httpx.AsyncClient, prefixes: int) -> None:
    for attempt in range(LIMIT):
        await _put(client, f"T{attempt}", WRONG)
    other = basic("300:88.118/ADMIN", "wrong-too")  # another identity, same address
    response = await _put(client, "OTHER", other)
    assert "too many" not in response.json()["message"]
