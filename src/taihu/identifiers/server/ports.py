"""The Handle port a running server bound, for the commands run beside it (``taihu node site``).

``TAIHU_HANDLE_PORT=0``, ``--handle-port`` or a busy port make the bound port differ from the
one another process reads in its settings. The server writes the port it bound to
``DATA_DIR/run/handle.port`` and holds a lock on that file while it runs; a reader trusts the
file only while the lock is held, so a server that stopped leaves nothing misleading behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

__all__ = ["record_bound_port", "running_port"]

_FILE = "handle.port"
_held: list[int] = []  # the locked files, open for the life of the process


def _path(data_dir: Path) -> Path:
    return data_dir / "run" / _FILE


def record_bound_port(data_dir: Path, port: int) -> None:
    """Note ``port`` as this server's Handle port (unless another live server noted its own)."""
    path = _path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:  # another server on this data directory: its port stays
        os.close(fd)
        return
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{port}\n".encode("ascii"), 0)
    _held.append(fd)


def running_port(data_dir: Path) -> int | None:
    """The Handle port of the server running on this data directory; ``None`` if none runs."""
    try:
        fd = os.open(_path(data_dir), os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:  # held: the server that wrote it runs
            with contextlib.suppress(ValueError):
                return int(os.pread(fd, 16, 0).strip())
        return None  # not held: left by a server that stopped
    finally:
        os.close(fd)
