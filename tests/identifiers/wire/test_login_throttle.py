"""Failed secret-key answers on the wire are throttled per admin and address, and audited."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Literal

import pytest
import sqlalchemy as sa

from taihu.accounts import AuditEntry
from taihu.core import Database
from taihu.identifiers import HandleValue
from taihu.identifiers.wire import (
    ErrorBody,
    HandleClient,
    HandleResponseError,
    OpCode,
    ResponseCode,
    SecretKey,
    SecretKeyScheme,
    VerifyRequest,
    VerifyResult,
    secret_key_response,
)
from tests.conftest import World
from tests.identifiers.wire.conftest import PREFIX, SECRET, Node

URL = HandleValue(index=1, type="URL", data=b"https://example.cn/t")
WRONG = SecretKey(f"{PREFIX}/ADMIN", 300, b"not-the-secret")
LIMIT = 3  # login_max_failures of the test settings
WINDOW = timedelta(seconds=300)  # login_window_seconds (default)


async def _create(node: Node, identity: SecretKey, suffix: str) -> HandleResponseError | None:
    async with HandleClient(node.host, node.port, transport="tcp", identity=identity) as client:
        try:
            await client.create_handle(f"{PREFIX}/{suffix}", (URL,))
        except HandleResponseError as exc:
            return exc
    return None


async def _locks(db: Database) -> list[AuditEntry]:
    async with db.session() as session:
        query = sa.select(AuditEntry).where(AuditEntry.action == "handle.auth_locked")
        return list(await session.scalars(query))


async def test_failed_answers_lock_the_admin_out_for_the_window(
    node: Node, db: Database, world: World
) -> None:
    for attempt in range(LIMIT):
        refused = await _create(node, WRONG, f"T{attempt}")
        assert refused is not None
        assert refused.code is ResponseCode.AUTHEN_FAILED
    locked = await _create(node, node.admin, "RIGHT-BUT-LOCKED")  # the right key, too late
    assert locked is not None
    assert locked.code is ResponseCode.AUTHEN_FAILED
    assert "too many" in locked.text
    [entry] = await _locks(db)
    assert entry.entity_id == f"{PREFIX}/ADMIN"
    assert entry.after is not None
    assert entry.after["admin"] == f"300:{PREFIX}/ADMIN"
    assert entry.after["client"] == "127.0.0.1"
    world.clock.advance(WINDOW + timedelta(seconds=1))
    assert await _create(node, node.admin, "AFTER-THE-WINDOW") is None
    assert len(await _locks(db)) == 1


async def test_a_success_clears_the_count(node: Node) -> None:
    for attempt in range(LIMIT - 1):
        assert await _create(node, WRONG, f"A{attempt}") is not None
    assert await _create(node, node.admin, "OK-1") is None
    for attempt in range(LIMIT - 1):  # counting starts again from zero
        assert await _create(node, WRONG, f"B{attempt}") is not None
    assert await _create(node, node.admin, "OK-2") is None


async def test_verify_response_guesses_count_as_failed_logins(node: Node) -> None:
    nonce, digest = b"n" * 16, hashlib.sha256(b"some request").digest()

    def ask(proof: bytes) -> VerifyRequest:
        return VerifyRequest(f"{PREFIX}/ADMIN", 300, nonce, digest, proof)

    right = secret_key_response(SECRET.encode(), nonce, digest, SecretKeyScheme.SHA1)
    async with HandleClient(node.host, node.port, transport="udp") as client:
        good = await client.exchange(OpCode.VERIFY_RESPONSE, ask(right))
        assert good.body == VerifyResult(valid=True)
        for _ in range(LIMIT):
            guess = await client.exchange(OpCode.VERIFY_RESPONSE, ask(b"\x02" + bytes(20)))
            assert guess.header.response_code is ResponseCode.SUCCESS
            assert guess.body == VerifyResult(valid=False)
        locked = await client.exchange(OpCode.VERIFY_RESPONSE, ask(right))
    assert locked.header.response_code is ResponseCode.AUTHEN_FAILED
    assert isinstance(locked.body, ErrorBody)
    assert "too many" in locked.body.message


@pytest.mark.parametrize("transport", ["tcp", "udp"])
async def test_the_right_key_still_works_below_the_limit(
    node: Node, transport: Literal["tcp", "udp"]
) -> None:
    async with HandleClient(node.host, node.port, transport=transport, identity=WRONG) as client:
        with pytest.raises(HandleResponseError):
            await client.create_handle(f"{PREFIX}/W-{transport}", (URL,))
    assert await _create(node, node.admin, f"R-{transport}") is None
