"""One client socket's datagrams spread over the workers of an SO_REUSEPORT group (Linux)."""

from __future__ import annotations

import logging
import select
import socket
import sys
from collections.abc import Iterator

import pytest

from taihu.identifiers.server import spread as spread_module
from taihu.identifiers.server import spread_datagrams

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="SO_ATTACH_REUSEPORT_CBPF is Linux's"
)


def _member(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", port))
    return sock


@pytest.fixture
def group() -> Iterator[list[socket.socket]]:
    """The supervisor's socket (bound first) and two workers' on the same port."""
    first = _member(0)
    port = first.getsockname()[1]
    sockets = [first, _member(port), _member(port)]
    yield sockets
    for sock in sockets:
        sock.close()


def _send_and_count(sockets: list[socket.socket], count: int) -> list[int]:
    """Send ``count`` datagrams from one client socket, one at a time; how many each socket got."""
    port = sockets[0].getsockname()[1]
    got = [0] * len(sockets)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
        for n in range(count):
            client.sendto(b"%d" % n, ("127.0.0.1", port))
            ready, _, _ = select.select(sockets, [], [], 10)
            assert ready, f"datagram {n} reached no socket"
            for sock in ready:
                sock.recv(64)
                got[sockets.index(sock)] += 1
    return got


def test_random_spreads_one_client_over_the_workers_only(group: list[socket.socket]) -> None:
    assert spread_datagrams(group[0], 2, "random")
    got = _send_and_count(group, 200)
    # The supervisor (index 0) gets none; a worker missing all 200 has odds of 2**-200.
    assert got[0] == 0, got
    assert got[1] > 0, got
    assert got[2] > 0, got
    assert sum(got) == 200


def test_without_the_program_one_client_reaches_one_socket(group: list[socket.socket]) -> None:
    assert not spread_datagrams(group[0], 2, "hash")
    got = _send_and_count(group, 50)
    assert sorted(got) == [0, 0, 50], got


def test_a_worker_gone_loses_nothing(group: list[socket.socket]) -> None:
    assert spread_datagrams(group[0], 2, "random")
    group.pop(1).close()  # the last socket takes its place; index 2 is past the end now
    got = _send_and_count(group, 200)
    assert sum(got) == 200, got  # those the program names past the end go by the hash
    assert got[1] > 0, got


def test_cpu_keeps_one_client_on_one_worker_at_a_time(group: list[socket.socket]) -> None:
    assert spread_datagrams(group[0], 2, "cpu")
    got = _send_and_count(group, 50)
    assert got[0] == 0, got  # never the supervisor
    assert sum(got) == 50


def test_elsewhere_than_linux_the_hash_stays_and_the_log_says_so(
    group: list[socket.socket], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(spread_module.sys, "platform", "darwin")
    with caplog.at_level(logging.INFO, logger="taihu.identifiers.handle"):
        assert not spread_datagrams(group[0], 2, "random")
    assert "needs Linux" in caplog.text
