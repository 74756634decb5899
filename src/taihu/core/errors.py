"""Domain errors: each carries a stable machine code and the HTTP status it maps to.

TaihuError
├── InvalidInput        400  bad or inconsistent input
├── Unauthenticated     401  missing or bad credentials
├── PermissionDenied    403  a role or enterprise the caller lacks
├── NotFound            404
├── Conflict            409  the thing exists already / state forbids it
└── TooManyRequests     429  rate limited
"""

from __future__ import annotations

from typing import Any, ClassVar

from taihu.core.messages import Message, Translate, render_text

__all__ = [
    "Conflict",
    "InvalidInput",
    "NotFound",
    "PermissionDenied",
    "TaihuError",
    "TooManyRequests",
    "Unauthenticated",
]


class TaihuError(Exception):
    """Base of every error the platform reports to a caller."""

    status: ClassVar[int] = 500
    default_code: ClassVar[str] = "internal_error"

    def __init__(self, message: str | Message, *, code: str | None = None, **details: Any) -> None:
        # ``message`` is a message id (``N_("handle {handle} not found")``) filled from
        # ``details``; the English text is the exception's own, readers get their language.
        # A ``Message`` (a value object's reason) brings its own values.
        if isinstance(message, Message):
            details = {**message.params, **details}
            message = message.id
        self.template = message
        self.code = code or self.default_code
        self.details = details
        self.message = render_text(message, details)
        super().__init__(self.message)

    def text(self, translate: Translate) -> str:
        """The message in the language ``translate`` belongs to."""
        return render_text(self.template, self.details, translate)

    def as_body(self, translate: Translate | None = None) -> dict[str, Any]:
        """The JSON body sent to API clients (``message`` in the caller's language)."""
        message = self.message if translate is None else self.text(translate)
        body: dict[str, Any] = {"error": self.code, "message": message}
        if self.details:
            body["details"] = {k: _plain(v, translate) for k, v in self.details.items()}
        return body


class InvalidInput(TaihuError):
    """The input is malformed or violates a rule."""

    status = 400
    default_code = "invalid_input"


class Unauthenticated(TaihuError):
    """Credentials are missing, wrong, expired or revoked."""

    status = 401
    default_code = "unauthenticated"


class PermissionDenied(TaihuError):
    """The caller is known but lacks the role or enterprise for this."""

    status = 403
    default_code = "forbidden"


class NotFound(TaihuError):
    """The thing asked for does not exist (or is not visible to the caller)."""

    status = 404
    default_code = "not_found"


class Conflict(TaihuError):
    """The thing exists already or its state forbids the change."""

    status = 409
    default_code = "conflict"


class TooManyRequests(TaihuError):
    """The caller is over a rate limit."""

    status = 429
    default_code = "rate_limited"

    def __init__(
        self, message: str | Message, *, retry_after: int, code: str | None = None, **details: Any
    ) -> None:
        super().__init__(message, code=code, retry_after=retry_after, **details)
        self.retry_after = retry_after


def _plain(value: Any, translate: Translate | None) -> Any:
    """A detail as JSON can carry it: a Message as text, a value object (a credit code) as str."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, Message):
        return value.render(translate) if translate else value.render()
    if isinstance(value, list | tuple):
        return [_plain(v, translate) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v, translate) for k, v in value.items()}
    return str(value)
