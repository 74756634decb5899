"""Jinja2 environment of the console: gettext, dates in the node's zone, language per request."""

from __future__ import annotations

from datetime import datetime
from importlib import resources

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Receive, Scope, Send

from taihu.settings import Settings
from taihu.web.i18n import LANGUAGES, current_language, gettext_, ngettext_, pick_language

__all__ = ["LANGUAGE_COOKIE", "LanguageMiddleware", "build_templates"]

LANGUAGE_COOKIE = "taihu_lang"


def build_templates(settings: Settings) -> Jinja2Templates:
    """The console's template renderer."""
    folder = resources.files("taihu.web") / "templates"
    env = Environment(
        loader=FileSystemLoader(str(folder)),
        autoescape=select_autoescape(default=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(gettext_, ngettext_, newstyle=True)  # type: ignore[attr-defined]
    zone = settings.console.zone

    def local_time(value: datetime | None) -> str:
        if value is None:
            return "—"
        return value.astimezone(zone).strftime("%Y-%m-%d %H:%M")

    env.filters["local_time"] = local_time
    env.globals["languages"] = LANGUAGES
    env.globals["current_language"] = current_language.get
    return Jinja2Templates(env=env)


class LanguageMiddleware:
    """Pick the language of each request from its cookie, before any page is rendered."""

    def __init__(self, app: ASGIApp, *, default: str) -> None:
        self.app = app
        self.default = default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection in the language its cookie asks for."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cookie = None
        for name, value in scope["headers"]:
            if name == b"cookie":
                for part in value.decode("latin-1").split(";"):
                    key, _, val = part.strip().partition("=")
                    if key == LANGUAGE_COOKIE:
                        cookie = val
        token = current_language.set(pick_language(cookie, self.default))
        try:
            await self.app(scope, receive, send)
        finally:
            current_language.reset(token)
