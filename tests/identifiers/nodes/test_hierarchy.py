"""Filing prefixes upward (queue, retries, state) and the referral locator of a top-level node."""

from __future__ import annotations

import asyncio
import socket
from datetime import timedelta

import httpx
import pytest

from taihu.accounts import Principal, Role
from taihu.core import Database, InvalidInput, PermissionDenied
from taihu.identifiers import ApplicationService
from taihu.identifiers.hierarchy.service import (
    Filer,
    HierarchyService,
    prefix_record,
    run_filings,
    site_value,
)
from taihu.identifiers.registration import IdentifierService
from taihu.identifiers.resolution.referrals import (
    HierarchyLocator,
    RecursiveResolver,
    referral_site,
)
from taihu.identifiers.server import site_for
from taihu.identifiers.wire import (
    Envelope,
    ErrorBody,
    Header,
    Message,
    OpCode,
    OpFlag,
    ReferralBody,
    ResolutionRequest,
    ResolutionResponse,
    ResponseCode,
)
from taihu.settings import NodeSettings
from tests.conftest import World
from tests.identifiers.conftest import NODE, PREFIX
from tests.identifiers.nodes.stub import stub_node
from tests.web.test_console import sign_in

SYSTEM = Principal.system("test")


def _closed_port() -> int:
    """A loopback TCP port nobody listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _resolution(handle: str, *, recursive: bool = False, recursion: int = 0) -> Message:
    flags = OpFlag.RECU if recursive else OpFlag.NONE
    header = Header(OpCode.RESOLUTION, flags=flags, recursion=recursion)
    return Message(Envelope(1), header, ResolutionRequest(handle))


async def _apply(db: Database, world: World, enterprise_id: int, prefix: str) -> int:
    async with db.session() as session:
        row = await ApplicationService(session, world.clock).apply(
            SYSTEM, enterprise_id, contact="王工 0512", industry_class="3435", prefix=prefix
        )
        return row.id


async def test_approval_before_joining_queues_nothing(
    db: Database, world: World, prefixes: int
) -> None:
    application = await _apply(db, world, prefixes, "88.118.20")
    async with db.session() as session:
        await ApplicationService(session, world.clock).approve(SYSTEM, application)
        assert await HierarchyService(session).filings() == []


async def test_join_queues_everything_and_a_down_upstream_is_retried(
    db: Database, world: World, prefixes: int
) -> None:
    port = _closed_port()
    async with db.session() as session:
        queued = await HierarchyService(session, world.clock).join(
            SYSTEM, f"127.0.0.1:{port}", "300:0.NA/88.118", "127.0.0.1:2641"
        )
    assert queued == [NODE, PREFIX]
    settings = NodeSettings(secret="node-secret", retry_seconds=10, timeout=1)
    results = await run_filings(db, settings, world.clock)
    assert {(r.prefix, r.state) for r in results} == {(NODE, "failed"), (PREFIX, "failed")}
    assert all(f"127.0.0.1:{port}" in (r.error or "") for r in results)
    # Not due again until the pause is over; then the second failure doubles the pause.
    assert await run_filings(db, settings, world.clock) == []
    world.clock.advance(timedelta(seconds=11))
    assert len(await run_filings(db, settings, world.clock)) == 2
    async with db.session() as session:
        rows = await HierarchyService(session).filings()
    assert [(r.attempts, r.next_try_at - world.clock.now()) for r in rows] == [
        (2, timedelta(seconds=20))
    ] * 2


async def test_approval_and_revocation_after_joining_are_queued(
    db: Database, world: World, prefixes: int
) -> None:
    async with db.session() as session:
        await HierarchyService(session, world.clock).join(
            SYSTEM, "127.0.0.1:9", "300:0.NA/88.118", "127.0.0.1:2641"
        )
    application = await _apply(db, world, prefixes, "88.118.21")
    async with db.session() as session:
        await ApplicationService(session, world.clock).approve(SYSTEM, application)
    async with db.session() as session:
        await ApplicationService(session, world.clock).set_status(SYSTEM, PREFIX, "revoked")
    async with db.session() as session:
        rows = {r.prefix: (r.action, r.state) for r in await HierarchyService(session).filings()}
    assert rows == {
        NODE: ("file", "pending"),
        PREFIX: ("unfile", "pending"),
        "88.118.21": ("file", "pending"),
    }
    results = await run_filings(db, NodeSettings(), world.clock)  # no secret configured
    assert all("TAIHU_NODE_SECRET" in (r.error or "") for r in results)


async def test_join_is_for_admins_with_valid_input(db: Database, world: World) -> None:
    async with db.session() as session:
        service = HierarchyService(session, world.clock)
        with pytest.raises(PermissionDenied):
            await service.join(
                Principal("b", Role.BUREAU), "127.0.0.1:1", "300:0.NA/1", "127.0.0.1:2"
            )
        with pytest.raises(InvalidInput, match="INDEX:HANDLE"):
            await service.join(SYSTEM, "127.0.0.1:1", "0.NA/1", "127.0.0.1:2")
        with pytest.raises(InvalidInput, match="port"):
            await service.join(SYSTEM, "127.0.0.1:x", "300:0.NA/1", "127.0.0.1:2")


async def _top_level(db: Database, world: World, port: int) -> None:
    """A top-level node: 88.118 admitted, its record carrying an HS_SITE on ``port``."""
    async with db.session() as session:
        hierarchy = HierarchyService(session, world.clock)
        await hierarchy.admit(SYSTEM, NODE, "node-secret-key")
        site = site_for("127.0.0.1", port)
        await IdentifierService(session, world.clock).put(
            SYSTEM, prefix_record(NODE), [site_value(site)], indexes=[1]
        )


async def test_top_level_refers_to_the_filed_site_and_answers_301_otherwise(
    db: Database, world: World
) -> None:
    await _top_level(db, world, 2641)
    locator = HierarchyLocator(db)
    assert await locator.locate("0.NA", _resolution("0.NA/88.118")) is None  # served here
    answer = await locator.locate("88.118.8", _resolution(f"{PREFIX}/X"))
    assert answer is not None
    assert answer.code is ResponseCode.SERVICE_REFERRAL
    assert isinstance(answer.body, ReferralBody)
    assert answer.body.handle == "0.NA/88.118"
    assert referral_site(answer.body.values) == site_for("127.0.0.1", 2641)
    assert not any(v.type == "HS_SECKEY" for v in answer.body.values)
    other = await locator.locate("77.1", _resolution("77.1/X"))
    assert other is not None
    assert other.code is ResponseCode.SERVER_NOT_RESP


async def test_admit_refuses_weak_keys_and_repeats(db: Database, world: World) -> None:
    async with db.session() as session:
        hierarchy = HierarchyService(session, world.clock)
        with pytest.raises(InvalidInput):
            await hierarchy.admit(SYSTEM, NODE, "short")
        await hierarchy.admit(SYSTEM, NODE, "node-secret-key")
        with pytest.raises(Exception, match="exists already"):
            await hierarchy.admit(SYSTEM, NODE, "node-secret-key")


async def test_recursive_mode_follows_its_own_record_and_bounds_recursion(
    db: Database, world: World
) -> None:
    def answer(request: Message) -> tuple[ResponseCode, ResolutionResponse]:
        assert isinstance(request.body, ResolutionRequest)
        return ResponseCode.SUCCESS, ResolutionResponse(request.body.handle, ())

    async with stub_node(answer) as secondary:
        await _top_level(db, world, secondary.port)
        recursive = RecursiveResolver(None, timeout=1.0)
        locator = HierarchyLocator(db, recursive, max_recursion=3)
        got = await locator.locate(PREFIX, _resolution(f"{PREFIX}/X", recursive=True))
        assert got is not None
        assert got.code is ResponseCode.SUCCESS
        assert secondary.requests[0].header.recursion == 1
        plain = await locator.locate(PREFIX, _resolution(f"{PREFIX}/X"))  # no RECU: a referral
        assert plain is not None
        assert plain.code is ResponseCode.SERVICE_REFERRAL
        deep = await locator.locate(PREFIX, _resolution(f"{PREFIX}/X", recursive=True,
                                                        recursion=3))  # fmt: skip
        assert deep is not None
        assert deep.code is ResponseCode.RECUR_LIMIT_EXCEEDED
        unknown = await locator.locate("77.1", _resolution("77.1/X", recursive=True))
        assert unknown is not None
        assert unknown.code is ResponseCode.SERVER_NOT_RESP
        assert isinstance(unknown.body, ErrorBody)
        assert "upstream" in unknown.body.message


async def test_the_console_shows_the_upstream_state(
    client: httpx.AsyncClient, db: Database, world: World, prefixes: int
) -> None:
    async with db.session() as session:
        await HierarchyService(session, world.clock).join(
            SYSTEM, f"127.0.0.1:{_closed_port()}", "300:0.NA/88.118", "127.0.0.1:2641"
        )
    await run_filings(db, NodeSettings(), world.clock)
    await world.user("auditor", Role.AUDITOR)
    await sign_in(client, "auditor")
    page = await client.get("/identifiers")
    assert "已向上级节点备案" in page.text
    assert "file · failed · no secret key to file with" in page.text


async def test_a_joined_recursive_node_starts_at_the_node_above(db: Database, world: World) -> None:
    def answer(request: Message) -> tuple[ResponseCode, ResolutionResponse]:
        assert isinstance(request.body, ResolutionRequest)
        return ResponseCode.SUCCESS, ResolutionResponse(request.body.handle, ())

    async with stub_node(answer) as above:
        async with db.session() as session:
            await HierarchyService(session, world.clock).join(
                SYSTEM, f"127.0.0.1:{above.port}", "300:0.NA/88.118", "127.0.0.1:2641"
            )
        locator = HierarchyLocator(db, RecursiveResolver(None, timeout=1.0))
        got = await locator.locate("77.1", _resolution("77.1/X", recursive=True))
        assert got is not None
        assert got.code is ResponseCode.SUCCESS
        assert len(above.requests) == 1


async def test_bad_admit_and_join_input_is_refused(db: Database, world: World) -> None:
    async with db.session() as session:
        service = HierarchyService(session, world.clock)
        for bad in ("0.NA", "88/118", ""):
            with pytest.raises(InvalidInput):
                await service.admit(SYSTEM, bad, "node-secret-key")
        with pytest.raises(InvalidInput, match="IP address"):
            await service.join(SYSTEM, "127.0.0.1:1", "300:0.NA/1", "node.example.cn:2641")
        with pytest.raises(InvalidInput):
            await service.join(SYSTEM, "127.0.0.1:1", "300:no-slash", "127.0.0.1:2641")


async def test_the_filer_sends_in_the_background_until_stopped(
    db: Database, world: World, prefixes: int
) -> None:
    async with db.session() as session:
        await HierarchyService(session, world.clock).join(
            SYSTEM, f"127.0.0.1:{_closed_port()}", "300:0.NA/88.118", "127.0.0.1:2641"
        )
    filer = Filer(db, NodeSettings(secret="node-secret", timeout=1), world.clock, interval=0.05)
    filer.start()
    try:
        async with asyncio.timeout(30):  # a bound on the wait, not an expectation of speed
            while True:
                async with db.session() as session:
                    rows = await HierarchyService(session).filings()
                if all(r.state == "failed" for r in rows):
                    break
                await asyncio.sleep(0.05)
    finally:
        await filer.stop()
    assert {r.prefix for r in rows} == {NODE, PREFIX}
    assert all(r.attempts == 1 for r in rows)  # not due again before the pause is over
