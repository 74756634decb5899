"""Three live nodes on loopback: one top-level, two secondaries, each on its own database.

Prefixes are filed upward over the wire (challenge-response), a client resolves handles of both
secondaries through the top-level node (referrals, and the top-level's recursive mode) over UDP
and TCP, a stopped secondary gives a timely error, and a revocation unfiles.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from taihu.accounts import Principal
from taihu.core import Database, FrozenClock
from taihu.enterprises import EnterpriseService
from taihu.identifiers import (
    ApplicationService,
    HandleServer,
    HandleValue,
    HierarchyService,
    IdentifierService,
    Resolver,
    bind_handle,
    handle_server_for,
    parse_handle,
)
from taihu.identifiers.hierarchy.service import prefix_record, run_filings
from taihu.identifiers.registration import seckeys_for
from taihu.identifiers.resolution import LocalPrefixes
from taihu.identifiers.resolution.referrals import (
    HierarchyLocator,
    RecursiveResolver,
    ResolutionFailed,
    WireTransport,
)
from taihu.identifiers.wire import (
    HandleClient,
    OpCode,
    OpFlag,
    ReferralBody,
    ResolutionRequest,
    ResolutionResponse,
    ResponseCode,
)
from taihu.settings import DatabaseSettings, NodeSettings, SecuritySettings, Settings
from tests.conftest import CODE_A, CODE_B

SYSTEM = Principal.system("test")
TIMEOUT = 2.0


@dataclass
class LiveNode:
    """A node: its settings, database and running Handle server."""

    name: str
    settings: Settings
    db: Database
    clock: FrozenClock
    port: int = 0
    server: HandleServer | None = None
    resolver: Resolver | None = None

    async def start(self) -> None:
        """Serve the Handle protocol on a free loopback port."""
        self.resolver = Resolver(self.db, self.clock)
        tcp, udp = bind_handle("127.0.0.1", 0)
        self.port = tcp.getsockname()[1]
        self.server = handle_server_for(self.settings, self.db, self.clock, self.resolver,
                                        self.port)  # fmt: skip
        await self.server.start(tcp, udp)

    async def stop(self) -> None:
        """Stop serving (the database stays)."""
        if self.server is not None:
            await self.server.stop()
            self.server = None
        if self.resolver is not None:
            await self.resolver.aclose()
            self.resolver = None

    def service(self, session: object) -> IdentifierService:
        """The identifier service of this node in ``session``."""
        seckeys = seckeys_for(self.settings)
        return IdentifierService(session, self.clock, seckeys=seckeys)  # type: ignore[arg-type]


NodeFactory = Callable[[str, NodeSettings], "contextlib.AbstractAsyncContextManager[LiveNode]"]


@pytest.fixture
def make_node(node_urls: dict[str, str], tmp_path: Path, clock: FrozenClock) -> NodeFactory:
    """Builds live nodes, each on its own database, stopped and disposed of afterwards."""

    @contextlib.asynccontextmanager
    async def _make(name: str, node: NodeSettings) -> AsyncIterator[LiveNode]:
        url = node_urls[name]
        settings = Settings(
            env="test",
            data_dir=tmp_path / name,
            database=DatabaseSettings(url=url),
            security=SecuritySettings(secret_key=f"{name}-secret-key-" + "y" * 32),
            node=node,
        )
        live = LiveNode(name, settings, Database(url), clock)
        await live.start()
        try:
            yield live
        finally:
            await live.stop()
            await live.db.dispose()

    return _make


async def _secondary(node: LiveNode, top: LiveNode, node_prefix: str, code: str) -> int:
    """Node prefix and an enterprise; joined to ``top``; the enterprise's id."""
    async with node.db.session() as session:
        await node.service(session).create_prefix(SYSTEM, node_prefix)
        enterprise = await EnterpriseService(session).create(
            SYSTEM, f"Enterprise of {node.name}", code
        )
        await HierarchyService(session, node.clock).join(
            SYSTEM, f"127.0.0.1:{top.port}", f"300:0.NA/{node_prefix}", f"127.0.0.1:{node.port}"
        )
        return enterprise.id


async def _approve(node: LiveNode, enterprise_id: int, prefix: str, item: str) -> None:
    """Apply for and approve ``prefix``, then register ``prefix/item`` under it."""
    async with node.db.session() as session:
        applications = ApplicationService(session, node.clock)
        row = await applications.apply(
            SYSTEM, enterprise_id, contact="王工 0512", industry_class="3435", prefix=prefix
        )
        await applications.approve(SYSTEM, row.id)
    async with node.db.session() as session:
        url = f"https://{node.name}.example.cn/{item}".encode()
        await node.service(session).put(
            SYSTEM, parse_handle(f"{prefix}/{item}"), [HandleValue(index=1, type="URL", data=url)]
        )


async def _records(top: LiveNode) -> set[str]:
    async with top.db.session() as session:
        rows = await session.scalars(
            sa.text("SELECT handle FROM id_handles WHERE key LIKE '0.NA/%'")
        )
        return set(rows)


def _url(reply: ResolutionResponse) -> str:
    return next(v.text or "" for v in reply.values if v.type == "URL")


async def test_three_nodes(make_node: NodeFactory) -> None:
    async with (
        make_node("top", NodeSettings(role="top-level", recursive=True, timeout=0.5)) as top,
        make_node("wujiang", NodeSettings(secret="wujiang-node-key", timeout=TIMEOUT)) as a,
        make_node("kunshan", NodeSettings(secret="kunshan-node-key", timeout=TIMEOUT)) as b,
    ):
        async with top.db.session() as session:
            hierarchy = HierarchyService(session, top.clock,
                                         seckeys=seckeys_for(top.settings))  # fmt: skip
            await hierarchy.admit(SYSTEM, "88.118", "wujiang-node-key")
            await hierarchy.admit(SYSTEM, "88.119", "kunshan-node-key")

        # Filing upward: the node prefixes at join, enterprise prefixes when approved.
        a_enterprise = await _secondary(a, top, "88.118", CODE_A)
        b_enterprise = await _secondary(b, top, "88.119", CODE_B)
        await _approve(a, a_enterprise, "88.118.8", "ELV-001")
        await _approve(b, b_enterprise, "88.119.3", "PUMP-7")
        for node in (a, b):
            results = await run_filings(node.db, node.settings.node, node.clock)
            assert [r.state for r in results] == ["done", "done"], results
        assert await _records(top) == {
            "0.NA/88.118", "0.NA/88.118.8", "0.NA/88.119", "0.NA/88.119.3",
        }  # fmt: skip

        # The top-level node refers; a client follows over UDP and over TCP.
        async with HandleClient("127.0.0.1", top.port, timeout=TIMEOUT) as client:
            referral = await client.exchange(
                OpCode.RESOLUTION, ResolutionRequest("88.118.8/ELV-001")
            )
        assert referral.header.response_code is ResponseCode.SERVICE_REFERRAL
        assert isinstance(referral.body, ReferralBody)
        assert referral.body.handle == "0.NA/88.118.8"
        transports: tuple[WireTransport, ...] = ("udp", "tcp")
        for transport in transports:
            resolver = RecursiveResolver(("127.0.0.1", top.port), timeout=TIMEOUT)
            for handle, name in (("88.118.8/ELV-001", "wujiang"), ("88.119.3/PUMP-7", "kunshan")):
                reply = await resolver.resolve(handle, transport=transport)
                assert _url(reply) == f"https://{name}.example.cn/{handle.split('/')[1]}"

        # The top-level node's recursive mode (RECU) answers with the values itself.
        for transport in transports:
            async with HandleClient("127.0.0.1", top.port, transport=transport,
                                    timeout=TIMEOUT) as client:  # fmt: skip
                answer = await client.exchange(
                    OpCode.RESOLUTION, ResolutionRequest("88.119.3/PUMP-7"), OpFlag.RECU
                )
            assert answer.header.response_code is ResponseCode.SUCCESS
            assert isinstance(answer.body, ResolutionResponse)
            assert _url(answer.body) == "https://kunshan.example.cn/PUMP-7"

        # A stopped secondary: a clear error within the timeout, from the client's resolver
        # and from the top-level's recursive mode; never a hang.
        await b.stop()
        for transport in transports:
            cold = RecursiveResolver(("127.0.0.1", top.port), timeout=0.5, cache_size=0)
            with pytest.raises(ResolutionFailed, match=f"127.0.0.1:{b.port}") as down:
                await cold.resolve("88.119.3/PUMP-9", transport=transport)
            assert down.value.code is ResponseCode.ERROR
        async with asyncio.timeout(TIMEOUT * 2):
            async with HandleClient("127.0.0.1", top.port, timeout=TIMEOUT) as client:
                failed = await client.exchange(
                    OpCode.RESOLUTION, ResolutionRequest("88.119.3/PUMP-9"), OpFlag.RECU
                )
        assert failed.header.response_code is ResponseCode.ERROR

        # Revocation unfiles: the record goes; the node prefix still refers to wujiang,
        # which no longer serves 88.118.8.
        async with a.db.session() as session:
            await ApplicationService(session, a.clock).set_status(SYSTEM, "88.118.8", "revoked")
        results = await run_filings(a.db, a.settings.node, a.clock)
        assert [(r.prefix, r.action, r.state) for r in results] == [("88.118.8", "unfile", "done")]
        assert prefix_record("88.118.8").text not in await _records(top)
        # The server re-reads its prefixes every second; the test does not wait for that.
        assert a.server is not None
        assert type(a.server.dispatcher.locator) is LocalPrefixes  # a secondary: the fast path
        assert top.server is not None
        assert isinstance(top.server.dispatcher.locator, HierarchyLocator)
        a.server.dispatcher.locator.forget()
        gone = RecursiveResolver(("127.0.0.1", top.port), timeout=TIMEOUT)
        with pytest.raises(ResolutionFailed) as revoked:
            await gone.resolve("88.118.8/ELV-001")
        assert revoked.value.code is ResponseCode.SERVER_NOT_RESP


class _OvertakenClient(HandleClient):
    """A filer's client that another filer of the same node overtakes before its first add.

    The race of `taihu node join` and the running server's filer: both find the admitted record
    without an HS_SITE, and the other one adds it first. Both talk to the real top-level node.
    """

    overtaken = 0

    async def add_values(self, handle: str, values: tuple[HandleValue, ...]) -> None:
        if not _OvertakenClient.overtaken:
            _OvertakenClient.overtaken += 1
            async with HandleClient(self.host, self.port, transport="tcp", timeout=TIMEOUT,
                                    identity=self.identity) as other:  # fmt: skip
                await other.add_values(handle, values)
        await super().add_values(handle, values)


async def test_a_filing_overtaken_by_another_filer_of_the_node_is_done(
    make_node: NodeFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("taihu.identifiers.hierarchy.service.HandleClient", _OvertakenClient)
    monkeypatch.setattr(_OvertakenClient, "overtaken", 0)
    async with (
        make_node("top", NodeSettings(role="top-level", timeout=0.5)) as top,
        make_node("wujiang", NodeSettings(secret="wujiang-node-key", timeout=TIMEOUT)) as node,
    ):
        async with top.db.session() as session:
            hierarchy = HierarchyService(session, top.clock, seckeys=seckeys_for(top.settings))
            await hierarchy.admit(SYSTEM, "88.118", "wujiang-node-key")
        await _secondary(node, top, "88.118", CODE_A)
        results = await run_filings(node.db, node.settings.node, node.clock)
        assert _OvertakenClient.overtaken == 1
        assert [(r.prefix, r.state, r.error) for r in results] == [("88.118", "done", None)]
        async with HandleClient("127.0.0.1", top.port, timeout=TIMEOUT) as client:
            record = await client.resolve("0.NA/88.118")
        sites = [v for v in record.values if v.type == "HS_SITE"]
        assert len(sites) == 1
