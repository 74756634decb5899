"""`taihu serve` answers the Handle protocol next to HTTP; `taihu id resolve --wire` asks it."""

from __future__ import annotations

import asyncio
import os
import re
import socket
from pathlib import Path

import pytest

from taihu.identifiers import HandleValue
from taihu.identifiers.wire import (
    ChallengeAnswer,
    Envelope,
    HandleClient,
    HandleRequest,
    Header,
    Message,
    OpCode,
    ResolutionRequest,
    ResponseCode,
    SecretKey,
    decode_message,
    encode_message,
)
from tests.processes import DEADLINE, run, running

HANDLE_PORT = re.compile(r"Handle protocol on 127\.0\.0\.1:(\d+)")
PREFIX = "88.118.5"
SECRET = "wire-secret-key-1"
NEW_SECRET = "wire-secret-key-2"


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> dict[str, str]:
    """The environment of a `taihu` process on the test's database, every port free."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAIHU_")}
    env.pop("FORCE_COLOR", None)
    env.update(
        TAIHU_ENV="test", TAIHU_DATABASE_URL=database_url, TAIHU_DATA_DIR=str(tmp_path / "var"),
        TAIHU_SECRET_KEY="k" * 40, TAIHU_HTTP_PORT="0", TAIHU_MQTT_PORT="0",
        TAIHU_HANDLE_PORT="0", PYTHONUNBUFFERED="1", NO_COLOR="1", COLUMNS="200",
    )  # fmt: skip
    return env


def test_serve_answers_over_udp_and_tcp_and_admins_log_in(
    env: dict[str, str], tmp_path: Path
) -> None:
    created = run(
        "id", "prefix", "create", PREFIX, "--admin-password", SECRET, env=env, cwd=tmp_path
    )
    assert created.returncode == 0, created.stdout
    reset = run(
        "id", "prefix", "reset-key", PREFIX, "--admin-password", NEW_SECRET, env=env, cwd=tmp_path
    )
    assert reset.returncode == 0, reset.stdout
    with running("serve", env=env, cwd=tmp_path) as server:
        port = int(server.wait_for(HANDLE_PORT).group(1))
        server.url()  # HTTP is up too
        # Both ports are bound before the application starts; they answer once startup
        # completes, and the clients below wait a few seconds for an answer.
        server.wait_for("Application startup complete")

        async def _admin() -> None:
            identity = SecretKey(f"{PREFIX}/ADMIN", 300, NEW_SECRET.encode())
            async with HandleClient("127.0.0.1", port, transport="tcp", identity=identity,
                                    timeout=60) as c:  # fmt: skip
                value = HandleValue(index=1, type="URL", data=b"https://example.cn/p1")
                await c.create_handle(f"{PREFIX}/P1", (value,))

        asyncio.run(_admin())
        for wire in ("udp", "tcp"):
            shown = run(
                "id", "resolve", f"{PREFIX}/P1", "--wire", wire, "--server", f"127.0.0.1:{port}",
                "--type", "URL", "--timeout", "60", env=env, cwd=tmp_path,
            )  # fmt: skip
            assert shown.returncode == 0, shown.stdout
            assert "https://example.cn/p1" in shown.stdout
            assert "HS_ADMIN" not in shown.stdout  # filtered by --type
        missing = run(
            "id", "resolve", f"{PREFIX}/NOPE", "--wire", "udp", "--server", f"127.0.0.1:{port}",
            env=env, cwd=tmp_path,
        )  # fmt: skip
        assert missing.returncode != 0
        assert "HANDLE_NOT_FOUND (100)" in missing.stdout
        assert "Traceback" not in server.output


def test_resolve_against_a_stopped_server_fails_in_time(
    env: dict[str, str], tmp_path: Path
) -> None:
    result = run(
        "id", "resolve", f"{PREFIX}/P1", "--wire", "udp", "--server", "127.0.0.1:9",
        "--timeout", "1", env=env, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode != 0
    assert "127.0.0.1:9" in result.stdout
    assert "Traceback" not in result.stdout


UDP_TOOK = re.compile(r"Handle UDP in process (\d+) took (\d+) datagrams")
WORKER = re.compile(r"Started server process \[(\d+)\]")


def udp_exchange(port: int, message: Message) -> Message:
    """One request over UDP from a socket of its own (so a source port of its own)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(DEADLINE)
        sock.sendto(encode_message(message), ("127.0.0.1", port))
        return decode_message(sock.recv(65535))


def test_serve_with_two_workers_answers_udp_in_both_and_keeps_challenges_whole(
    env: dict[str, str], tmp_path: Path
) -> None:
    created = run(
        "id", "prefix", "create", PREFIX, "--admin-password", SECRET, env=env, cwd=tmp_path
    )
    assert created.returncode == 0, created.stdout
    with running("serve", "--workers", "2", env=env, cwd=tmp_path) as server:
        port = int(server.wait_for(HANDLE_PORT).group(1))
        for _ in "12":  # a worker joins the UDP port before its startup completes
            server.wait_for("Application startup complete")
        # Each client from a port of its own: the kernel spreads them over the processes.
        for n in range(1, 97):
            request = Message(Envelope(n), Header(OpCode.RESOLUTION), ResolutionRequest("0.NA/x"))
            assert udp_exchange(port, request).envelope.request_id == n
        # The Handle.Net client answers a challenge from a new socket, which may reach another
        # process than its request did: the challenge is still found there, so a wrong key is
        # refused as a wrong key (403), not as "no challenge is pending" (405).
        for n in range(1, 13):
            delete = Message(
                Envelope(n), Header(OpCode.DELETE_HANDLE), HandleRequest(f"{PREFIX}/UDP-{n}")
            )
            challenge = udp_exchange(port, delete)
            assert challenge.header.response_code is ResponseCode.AUTHEN_NEEDED, challenge
            answer = Message(
                Envelope(1000 + n, session_id=challenge.envelope.session_id),
                Header(OpCode.CHALLENGE_RESPONSE),
                ChallengeAnswer("HS_SECKEY", f"{PREFIX}/ADMIN", 300, b"\x00" * 32),
            )
            refused = udp_exchange(port, answer)
            assert refused.header.response_code is ResponseCode.AUTHEN_FAILED, refused
        workers = {int(pid) for pid in WORKER.findall(server.output)}
        code = server.interrupt()
    assert code == 0, server.output
    took = {int(pid): int(count) for pid, count in UDP_TOOK.findall(server.output)}
    assert len(workers) == 2, server.output
    assert all(took.get(pid, 0) > 0 for pid in workers), took


def test_serve_with_two_workers_spreads_one_client_socket_over_both(
    env: dict[str, str], tmp_path: Path
) -> None:
    env["TAIHU_HANDLE_UDP_SOURCE_BYTES_PER_SECOND"] = "0"  # one source asks 200 times
    with running("serve", "--workers", "2", env=env, cwd=tmp_path) as server:
        port = int(server.wait_for(HANDLE_PORT).group(1))
        server.wait_for("Handle UDP datagrams spread over the 2 workers")
        for _ in "12":  # a worker joins the UDP port before its startup completes
            server.wait_for("Application startup complete")
        # One socket, so one source address and port: the kernel's hash alone would pick one
        # process for all of them. Each request waits for its answer: none may be lost.
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(DEADLINE)
            for n in range(1, 201):
                request = Message(
                    Envelope(n), Header(OpCode.RESOLUTION), ResolutionRequest("0.NA/x")
                )
                sock.sendto(encode_message(request), ("127.0.0.1", port))
                assert decode_message(sock.recv(65535)).envelope.request_id == n
        workers = {int(pid) for pid in WORKER.findall(server.output)}
        code = server.interrupt()
    assert code == 0, server.output
    took = {int(pid): int(count) for pid, count in UDP_TOOK.findall(server.output)}
    assert len(workers) == 2, server.output
    # At random, a worker missing all 200 has odds of 2**-200; the two took every datagram.
    assert all(took.get(pid, 0) > 0 for pid in workers), took
    assert sum(took.get(pid, 0) for pid in workers) == 200, took
