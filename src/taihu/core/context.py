"""Per-request context carried implicitly (request id), so audit entries can name the request."""

from __future__ import annotations

import secrets
from contextvars import ContextVar

__all__ = ["current_request_id", "new_request_id", "request_id_var"]

request_id_var: ContextVar[str | None] = ContextVar("taihu_request_id", default=None)


def new_request_id() -> str:
    """A fresh, URL-safe request id."""
    return secrets.token_hex(8)


def current_request_id() -> str | None:
    """The id of the request being served, if any."""
    return request_id_var.get()
