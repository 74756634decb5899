"""Run `taihu` commands as real processes: read their output line by line, stop them for sure.

Each process runs in a session of its own, so ending it also ends any worker processes it
spawned, whatever the test did.
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

# An upper bound on every wait, never an expectation of how fast things are: generous, since a
# machine shared by several test runs can take minutes for what takes seconds alone (`taihu demo
# --no-serve`, 19 s of CPU, took over 60 s with the load average at 10 on two cores).
DEADLINE = 600.0
# Outside CI a machine without nats-server skips the bus tests; CI installs it (.ci/run), so there
# a missing binary fails them instead of hiding the gap.
NO_NATS_SERVER = shutil.which("nats-server") is None and not os.environ.get("CI")
SERVING = re.compile(r"HTTP console and APIs on (http://127\.0\.0\.1:(\d+))")
NATS_LISTENING = re.compile(r"Listening for client connections on 127\.0\.0\.1:(\d+)")


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
        deadline = time.monotonic() + DEADLINE
        while not self._ended:
            try:
                line = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                self._ended = True
                break
            self.lines.append(line)
            if match := re.search(pattern, line):
                return match
        pytest.fail(f"no line matching {pattern!r}; output so far:\n{self.output}")

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
def nats_server(store: Path) -> Iterator[str]:
    """A JetStream-enabled nats-server on a free loopback port; its URL."""
    with subprocess.Popen(
        ["nats-server", "-js", "-a", "127.0.0.1", "-p", "-1", "-sd", str(store)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    ) as process:
        server = Taihu(process)
        try:
            port = server.wait_for(NATS_LISTENING).group(1)
            server.wait_for("Server is ready")
            yield f"nats://127.0.0.1:{port}"
        finally:
            server.finish()
