"""Handle challenges and sessions answered by whichever resolver process the answer reaches.

Two Handle servers on one database stand for two ``taihu serve --role resolver`` processes,
each with its own resolver, dispatcher and sockets, with TAIHU_HANDLE_SHARED_STATE=database
(PostgreSQL's default; SQLite can use it too, on one machine). A request goes to one, its
challenge's answer to the other.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Literal

import pytest
import sqlalchemy as sa

from taihu.core import Database, FrozenClock
from taihu.identifiers import HandleServer, HandleValue, Resolver, bind_handle, handle_server_for
from taihu.identifiers.registration import SecretKeyBox
from taihu.identifiers.server.shared_state import DatabaseChallenges, DatabaseSessions
from taihu.identifiers.wire import (
    Envelope,
    HandleClient,
    Header,
    Message,
    OpCode,
    ResponseCode,
    ValuesRequest,
)
from taihu.settings import Settings
from tests.conftest import TEST_SECRET
from tests.identifiers.wire.conftest import PREFIX, Node
from tests.identifiers.wire.hdl_session_client import (
    CERT,
    CHALLENGE_RESPONSE,
    SESSION_TERMINATE,
    SessionClient,
    blob,
    read_blob,
    utf8,
)
from tests.identifiers.wire.test_sessions import ADD, ADMIN, CREATE, add_body, create_body

Transport = Literal["tcp", "udp"]
URL = HandleValue(index=1, type="URL", data=b"https://example.cn/shared")


@pytest.fixture
async def pair(
    node: Node, db: Database, settings: Settings, clock: FrozenClock
) -> AsyncIterator[tuple[int, int]]:
    """The ports of two Handle servers sharing challenges and sessions through the database."""
    shared = settings.model_copy(
        update={"handle": settings.handle.model_copy(update={"shared_state": "database"})}
    )
    servers: list[tuple[HandleServer, Resolver]] = []
    ports: list[int] = []
    try:
        for _ in range(2):
            resolver = Resolver(db, clock)
            tcp, udp = bind_handle("127.0.0.1", 0)
            ports.append(tcp.getsockname()[1])
            server = handle_server_for(shared, db, clock, resolver, ports[-1])
            assert isinstance(server.dispatcher.challenges, DatabaseChallenges)
            await server.start(tcp, udp)
            servers.append((server, resolver))
        yield ports[0], ports[1]
    finally:
        for server, resolver in servers:
            await server.stop()
            await resolver.aclose()


async def _resolved_url(node: Node, handle: str) -> bytes:
    async with HandleClient(node.host, node.port) as client:
        reply = await client.resolve(handle)
    return next(v.data for v in reply.values if v.index == 1)


@pytest.mark.parametrize("transport", ["tcp", "udp"])
async def test_a_challenge_from_one_process_is_answered_at_the_other(
    node: Node, pair: tuple[int, int], transport: Transport
) -> None:
    first, second = pair
    handle = f"{PREFIX}/SHARED-{transport.upper()}"
    request = Message(Envelope(7001), Header(OpCode.CREATE_HANDLE), ValuesRequest(handle, (URL,)))
    asker = HandleClient(node.host, first, transport=transport, identity=node.admin)
    answerer = HandleClient(node.host, second, transport=transport, identity=node.admin)
    async with asker, answerer:
        challenge = await asker._roundtrip(request)
        assert challenge.header.response_code is ResponseCode.AUTHEN_NEEDED
        done = await answerer._answer(request, challenge)
        assert done.header.response_code is ResponseCode.SUCCESS
        # Answered once: the same answer again, anywhere, finds nothing pending.
        again = await asker._answer(request, challenge)
        assert again.header.response_code is ResponseCode.AUTHEN_TIMEOUT
    assert await _resolved_url(node, handle) == URL.data


@pytest.mark.parametrize("transport", ["tcp", "udp"])
async def test_a_session_set_up_at_one_process_continues_at_the_other(
    node: Node, db: Database, pair: tuple[int, int], transport: Transport
) -> None:
    first, second = pair
    client = SessionClient(node.host, first, transport)
    await client.setup(ADMIN.handle, ADMIN.index)
    assert client.session is not None
    handle = f"{PREFIX}/SS-{transport.upper()}"
    # The request in the session reaches the second process; it challenges (the session has
    # proven nobody yet) and the answer goes to the first, which binds the admin.
    client.port = second
    challenged, _ = await client.call(CREATE, create_body(handle, "https://s"), CERT)
    assert challenged.code == 402
    nonce, _ = read_blob(challenged.body, 33)
    kind, proof = ADMIN.answer(nonce, challenged.body[1:33])
    answer = utf8(kind) + utf8(ADMIN.handle) + (300).to_bytes(4, "big") + blob(proof)
    client.port = first
    created, _ = await client.call(
        CHALLENGE_RESPONSE, answer, CERT, session=challenged.session_id, sign=False
    )
    assert created.code == 1
    # Proven once: the next request, with its MAC only, is run by either process.
    client.port = second
    added = await client.admin(ADD, add_body(handle, 2, "https://s2"), ADMIN)
    assert added.code == 1
    assert client.challenges == 0
    assert len(client.session.server_counters) >= 2  # replies MAC-signed by both processes
    # A counter used at one process is a replay at the other.
    client.port = first
    ok, _ = await client.call(ADD, add_body(handle, 3, "https://s3"), counter=900)
    assert ok.code == 1
    client.port = second
    replayed, _ = await client.call(ADD, add_body(handle, 4, "https://s4"), counter=900)
    assert replayed.code == 505  # SESSION_MESSAGE_REJECTED
    # The key is not kept in clear.
    async with db.engine.connect() as conn:
        sealed = await conn.scalar(
            sa.text("SELECT sealed_key FROM id_handle_sessions WHERE id = :id"),
            {"id": client.session.id},
        )
    assert sealed is not None
    assert client.session.key not in bytes(sealed)
    # Terminated at one process: gone at the other.
    client.port = first
    ended, _ = await client.call(SESSION_TERMINATE, utf8("/"))
    assert ended.code == 1
    client.port = second
    gone = await client.admin(ADD, add_body(handle, 5, "https://s5"), ADMIN)
    assert gone.code == 500  # SESSION_TIMEOUT


async def test_expired_challenges_and_sessions_are_deleted(db: Database) -> None:
    box = SecretKeyBox(TEST_SECRET)
    sessions = DatabaseSessions(db, box)
    session = await sessions.open(b"k" * 32, (ADMIN.handle, 300), 60)
    assert await sessions.get(session.id) is not None
    later = DatabaseSessions(db, box, clock=lambda: sessions.clock() + 3600)
    assert await later.get(session.id) is None  # expired for a process an hour later
    await later.open(b"j" * 32, (ADMIN.handle, 300), 60)  # its cleanup runs first
    async with db.engine.connect() as conn:
        ids = set((await conn.execute(sa.text("SELECT id FROM id_handle_sessions"))).scalars())
    assert session.id not in ids
