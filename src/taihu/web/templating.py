"""Jinja2 environment of the console: gettext, dates in the node's zone, language per request.

Filters beside gettext: ``local_time`` (a date or time in the district's zone, in the page
language's one format), ``msg`` (a ``Message`` or ``TaihuError`` in the page language),
``msg_data`` (the same as HTML, its text values marked ``translate="no"``) and
``term`` (a stored key such as ``active`` or ``20M-100M``, see ``web/terms.py``).
"""

from __future__ import annotations

from datetime import date, datetime
from importlib import resources

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Receive, Scope, Send

from taihu.core import translating
from taihu.settings import Settings
from taihu.web.clock_format import SAMPLE_DAY, when
from taihu.web.i18n import (
    API_PREFIXES,
    LANGUAGES,
    current_language,
    gettext_,
    ngettext_,
    pick_language,
    render,
)
from taihu.web.terms import message_html, term

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

    def local_time(value: datetime | date | str | None) -> str:
        return when(value, zone, current_language.get())

    env.filters["local_time"] = local_time
    env.filters["msg"] = render
    env.filters["term"] = term
    env.filters["msg_data"] = message_html
    env.globals["zone_name"] = settings.console.timezone
    env.globals["sample_day"] = SAMPLE_DAY  # the example of templates/_date_input.html
    env.globals["languages"] = LANGUAGES
    env.globals["current_language"] = current_language.get
    return Jinja2Templates(env=env)


class LanguageMiddleware:
    """Pick the language of each request before anything is rendered.

    The console's language cookie first (a signed-in user's choice, also for the console's own
    API calls); then console pages take the node's default and API calls their Accept-Language.
    """

    def __init__(self, app: ASGIApp, *, default: str) -> None:
        self.app = app
        self.default = default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection in the language its cookie asks for."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cookie = accept = None
        for name, value in scope["headers"]:
            if name == b"cookie":
                for part in value.decode("latin-1").split(";"):
                    key, _, val = part.strip().partition("=")
                    if key == LANGUAGE_COOKIE:
                        cookie = val
            elif name == b"accept-language":
                accept = value.decode("latin-1")
        api = scope["path"].startswith(API_PREFIXES)
        language = pick_language(cookie, self.default, api=api, accept=accept)
        token = current_language.set(language)
        try:
            with translating(gettext_):  # for routes that build their own answers
                await self.app(scope, receive, send)
        finally:
            current_language.reset(token)
