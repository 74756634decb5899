"""A live Handle server on a free loopback port, over the test database, with sealed keys."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from taihu.accounts import Principal
from taihu.core import Database
from taihu.identifiers import (
    HandleServer,
    HandleValue,
    IdentifierService,
    Resolver,
    bind_handle,
    handle_server_for,
    parse_handle,
)
from taihu.identifiers.registration import seckeys_for
from taihu.identifiers.wire import SecretKey
from taihu.settings import Settings
from tests.conftest import CODE_A, World

NODE = "88.118"
PREFIX = "88.118.8"
SECRET = "s3cret-key-of-prefix"
NODE_SECRET = "node-" + SECRET


@dataclass(frozen=True, slots=True)
class Node:
    """Where the test server listens and who may administer it."""

    host: str
    port: int
    admin: SecretKey
    node_admin: SecretKey
    server: HandleServer | None = None  # for tests that reach into it (the session clock)


@pytest.fixture
async def node(db: Database, settings: Settings, world: World) -> AsyncIterator[Node]:
    """Prefixes 88.118 and 88.118.8, handle 88.118.8/W1 and a Handle server on port 0."""
    enterprise = await world.enterprise("Hengli Elevator", CODE_A)
    async with db.session() as session:
        service = IdentifierService(session, world.clock, seckeys=seckeys_for(settings))
        system = Principal.system("test")
        await service.create_prefix(system, NODE, admin_password=NODE_SECRET)
        await service.create_prefix(
            system, PREFIX, enterprise_id=enterprise.id, admin_password=SECRET
        )
        await service.put(
            system,
            parse_handle(f"{PREFIX}/W1"),
            [
                HandleValue(index=1, type="URL", data=b"https://example.cn/w1"),
                HandleValue(index=2, type="EMAIL", data=b"ops@example.cn"),
                HandleValue(index=3, type="SECRET_NOTE", data=b"hidden", public_read=False),
            ],
        )
    resolver = Resolver(db, world.clock)
    tcp, udp = bind_handle("127.0.0.1", 0)
    port = tcp.getsockname()[1]
    server = handle_server_for(settings, db, world.clock, resolver, port)
    await server.start(tcp, udp)
    try:
        yield Node(
            "127.0.0.1",
            port,
            SecretKey(f"{PREFIX}/ADMIN", 300, SECRET.encode()),
            SecretKey(f"{NODE}/ADMIN", 300, NODE_SECRET.encode()),
            server,
        )
    finally:
        await server.stop()
        await resolver.aclose()
