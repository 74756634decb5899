"""A message for the next page, carried in a signed cookie instead of the URL.

After a refused form post the console redirects back (post/redirect/get). The reason used to
travel as ``?error=…``, which any link could set to put words of its own on our page. Now the
message id and its values ride in a short-lived cookie signed with the node's secret key; the
next page shows it in the reader's language and clears it. A forged or stale cookie is ignored.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from taihu.core import Message, TaihuError, sign, verify_signature

__all__ = ["FLASH_COOKIE", "flash", "take_flash"]

FLASH_COOKIE = "taihu_flash"
_LIFETIME_S = 120  # the redirect follows at once; a flash never outlives a stray tab


def flash(request: Request, response: Response, message: Message | TaihuError) -> Response:
    """Remember ``message`` for the page ``response`` redirects to."""
    if isinstance(message, TaihuError):
        message = Message(message.template, **message.details)
    raw = json.dumps(_plain(message), default=str)
    payload = base64.urlsafe_b64encode(raw.encode()).decode()
    key: bytes = request.app.state.runtime.settings.secret_key
    response.set_cookie(
        FLASH_COOKIE,
        f"{payload}.{sign(key, payload)}",
        max_age=_LIFETIME_S,
        httponly=True,
        samesite="strict",
        secure=request.app.state.runtime.settings.security.secure_cookies,
    )
    return response


def take_flash(request: Request) -> Message | None:
    """The message a signed flash cookie carries, if any (the caller clears the cookie)."""
    cookie = request.cookies.get(FLASH_COOKIE)
    if not cookie:
        return None
    payload, _, signature = cookie.rpartition(".")
    key: bytes = request.app.state.runtime.settings.secret_key
    if not payload or not verify_signature(key, payload, signature):
        return None
    try:
        data: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload.encode()))
        return _message(data)
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def _plain(message: Message) -> dict[str, Any]:
    """A message as JSON, its values that are messages (a field's name) kept as messages."""
    params = {
        key: {"message": _plain(value)} if isinstance(value, Message) else value
        for key, value in message.params.items()
    }
    return {"id": message.id, "params": params}


def _message(data: dict[str, Any]) -> Message:
    params = {
        key: _message(value["message"]) if isinstance(value, dict) and "message" in value else value
        for key, value in dict(data.get("params") or {}).items()
    }
    return Message(str(data["id"]), **params)
