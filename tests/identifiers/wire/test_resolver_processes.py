"""Acceptance: two ``taihu serve --role resolver`` processes on one database act as one node.

Each process has its own cache, sockets and data directory (as on two machines), both the
test's database with TAIHU_HANDLE_SHARED_STATE=database (PostgreSQL's default; set here so that
SQLite runs the same test). A write through one is resolved at the other (on PostgreSQL pushed
by NOTIFY, on SQLite read from the change log), and a challenge sent by one is answered at the
other, over UDP and TCP.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from pathlib import Path
from typing import Literal

from taihu.accounts import Principal
from taihu.core import Database
from taihu.identifiers import HandleValue, IdentifierService
from taihu.identifiers.registration import seckeys_for
from taihu.identifiers.wire import (
    Envelope,
    HandleClient,
    Header,
    Message,
    OpCode,
    ResponseCode,
    SecretKey,
    ValuesRequest,
)
from taihu.settings import DatabaseSettings, SecuritySettings, Settings
from tests.conftest import TEST_SECRET
from tests.processes import DEADLINE, running

HANDLE_PORT = re.compile(r"Handle protocol on 127\.0\.0\.1:(\d+)")
PREFIX = "88.118.8"
SECRET = "s3cret-key-of-prefix"
# A bound on each answer, never an expectation: two processes share the database on a loaded
# machine (the client's default is 5 s).
ANSWER = 60.0
ADMIN = SecretKey(f"{PREFIX}/ADMIN", 300, SECRET.encode())
HANDLE = f"{PREFIX}/PROC-1"


def _env(database_url: str, data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAIHU_")}
    env.pop("FORCE_COLOR", None)
    env.update(
        TAIHU_ENV="test", TAIHU_DATABASE_URL=database_url, TAIHU_DATA_DIR=str(data_dir),
        TAIHU_SECRET_KEY=TEST_SECRET, TAIHU_HANDLE_SHARED_STATE="database",
        PYTHONUNBUFFERED="1", NO_COLOR="1",
    )  # fmt: skip
    return env


def _seed(database_url: str, tmp_path: Path) -> None:
    """The prefix 88.118.8 with its admin's secret key, sealed as the processes will open it."""
    settings = Settings(
        env="test",
        data_dir=tmp_path / "seed",
        database=DatabaseSettings(url=database_url),
        security=SecuritySettings(secret_key=TEST_SECRET),
    )

    async def _run() -> None:
        db = Database(database_url)
        try:
            async with db.session() as session:
                service = IdentifierService(session, seckeys=seckeys_for(settings))
                system = Principal.system("test")
                await service.create_prefix(system, "88.118", admin_password="node-" + SECRET)
                await service.create_prefix(system, PREFIX, admin_password=SECRET)
        finally:
            await db.dispose()

    asyncio.run(_run())


async def _url_at(port: int) -> bytes:
    async with HandleClient("127.0.0.1", port, timeout=ANSWER) as client:
        reply = await client.resolve(HANDLE)
    return next(v.data for v in reply.values if v.index == 1)


async def _write(port: int, url: bytes, *, create: bool = False) -> None:
    async with HandleClient(
        "127.0.0.1", port, transport="tcp", identity=ADMIN, timeout=ANSWER
    ) as client:
        value = HandleValue(index=1, type="URL", data=url)
        if create:
            await client.create_handle(HANDLE, (value,))
        else:
            await client.modify_values(HANDLE, (value,))


async def _exercise(first: int, second: int) -> None:
    await _write(first, b"https://one.example", create=True)
    assert await _url_at(second) == b"https://one.example"  # cached at the second now
    await _write(first, b"https://two.example")
    deadline = time.monotonic() + DEADLINE  # a bound on the wait, not the coherence bound
    while await _url_at(second) != b"https://two.example":
        assert time.monotonic() < deadline
        await asyncio.sleep(0.01)
    transports: tuple[Literal["udp", "tcp"], ...] = ("udp", "tcp")
    for transport in transports:
        value = HandleValue(index=2, type="EMAIL", data=transport.encode() + b"@example.cn")
        request = Message(Envelope(9000), Header(OpCode.ADD_VALUE), ValuesRequest(HANDLE, (value,)))
        asker = HandleClient(
            "127.0.0.1", first, transport=transport, identity=ADMIN, timeout=ANSWER
        )
        answerer = HandleClient(
            "127.0.0.1", second, transport=transport, identity=ADMIN, timeout=ANSWER
        )
        async with asker, answerer:
            challenge = await asker._roundtrip(request)
            assert challenge.header.response_code is ResponseCode.AUTHEN_NEEDED
            done = await answerer._answer(request, challenge)
            assert done.header.response_code is ResponseCode.SUCCESS, done
            await answerer.remove_values(HANDLE, (2,))


def test_two_resolver_processes_share_writes_and_challenges(
    database_url: str, tmp_path: Path
) -> None:
    _seed(database_url, tmp_path)
    args = ("serve", "--role", "resolver", "--handle-port", "0")
    with (
        running(*args, env=_env(database_url, tmp_path / "a"), cwd=tmp_path) as a,
        running(*args, env=_env(database_url, tmp_path / "b"), cwd=tmp_path) as b,
    ):
        first = int(a.wait_for(HANDLE_PORT).group(1))
        second = int(b.wait_for(HANDLE_PORT).group(1))
        a.wait_for("ready: roles resolver")
        b.wait_for("ready: roles resolver")
        asyncio.run(_exercise(first, second))
        assert a.interrupt() == 0
        assert b.interrupt() == 0
    for process in (a, b):
        assert "Traceback" not in process.output, process.output
