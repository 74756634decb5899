"""Worker slots: each of a server's worker processes holds a distinct number while it lives.

A slot is an exclusive ``flock`` on ``slot-N.lock`` in a directory of the data dir. The kernel
drops the lock when its process dies, however it dies, so a worker that the supervisor starts
again in place of a dead one finds that slot free; two live workers never hold the same one.
"""

from __future__ import annotations

import fcntl
import os
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["WorkerSlot", "claim_slot"]


@dataclass
class WorkerSlot:
    """A slot this process holds until ``release`` (or its end)."""

    index: int
    count: int
    _fd: int

    def release(self) -> None:
        """Give the slot back."""
        if self._fd >= 0:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = -1


def claim_slot(directory: Path, count: int, *, within: float = 30.0) -> WorkerSlot:
    """Hold the first free of ``count`` slots, waiting up to ``within`` seconds for one."""
    directory.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + within
    while True:
        for index in range(count):
            fd = os.open(directory / f"slot-{index}.lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            return WorkerSlot(index, count, fd)
        if time.monotonic() >= deadline:
            raise RuntimeError(
                f"all {count} worker slots in {directory} are held by running processes: "
                "is another server running on this data directory?"
            )
        # A worker started in place of one that is still exiting: its lock goes with it.
        time.sleep(0.1)
