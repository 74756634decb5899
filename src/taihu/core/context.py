"""Per-request context carried implicitly (request id), so audit entries can name the request."""

from __future__ import annotations

import itertools
import os
import secrets
from contextvars import ContextVar

__all__ = ["current_request_id", "new_request_id", "request_id_var"]

request_id_var: ContextVar[str | None] = ContextVar("taihu_request_id", default=None)


_ids = itertools.count()
_id_base = ("", -1)  # (random 8 hex digits, pid they were drawn in)


def new_request_id() -> str:
    """A fresh, URL-safe request id: 16 hex digits, unique within the process."""
    # A random per-process half and a counter: ids need to be unique, not secret, and drawing
    # from the system's random source for every request cost a system call on the hot path.
    global _id_base  # noqa: PLW0603 - redrawn after a fork
    base, pid = _id_base
    if pid != os.getpid():
        base, pid = secrets.token_hex(4), os.getpid()
        _id_base = (base, pid)
    return f"{base}{next(_ids) & 0xFFFFFFFF:08x}"


def current_request_id() -> str | None:
    """The id of the request being served, if any."""
    return request_id_var.get()
