"""Console translations: gettext catalogs (Babel ``.po`` files) chosen per request.

Message ids are English; ``locale/zh_CN/LC_MESSAGES/messages.po`` translates them. The ``.po`` file
is compiled in memory at start-up, so there is no build step and no stale ``.mo`` to forget.
"""

from __future__ import annotations

import gettext
import io
from contextvars import ContextVar
from importlib import resources
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from taihu.core import N_, Message, TaihuError

__all__ = [
    "API_PREFIXES",
    "LANGUAGES",
    "N_",
    "Catalogs",
    "accepted_language",
    "current_language",
    "gettext_",
    "ngettext_",
    "pick_language",
    "render",
]

# The language codes offered in the console, with their own names.
LANGUAGES: dict[str, str] = {"zh_CN": "中文", "en": "English"}

current_language: ContextVar[str] = ContextVar("taihu_language", default="zh_CN")


class Catalogs:
    """Every shipped catalog, loaded once."""

    def __init__(self) -> None:
        self._by_language: dict[str, gettext.NullTranslations] = {"en": gettext.NullTranslations()}
        root = resources.files("taihu.web") / "locale"
        for language in LANGUAGES:
            po = root / language / "LC_MESSAGES" / "messages.po"
            if language == "en" or not po.is_file():
                continue
            with po.open("rb") as fh:
                catalog = read_po(fh, locale=language)
            buffer = io.BytesIO()
            write_mo(buffer, catalog)
            buffer.seek(0)
            self._by_language[language] = gettext.GNUTranslations(buffer)

    def get(self, language: str) -> gettext.NullTranslations:
        """The translations of a language (English when unknown)."""
        return self._by_language.get(language, self._by_language["en"])


_catalogs: Catalogs | None = None


def catalogs() -> Catalogs:
    """The process-wide catalogs."""
    global _catalogs  # noqa: PLW0603 - loaded lazily once per process, read-only afterwards
    if _catalogs is None:
        _catalogs = Catalogs()
    return _catalogs


def gettext_(message: str) -> str:
    """Translate a message into the current request's language."""
    return catalogs().get(current_language.get()).gettext(message)


def ngettext_(singular: str, plural: str, n: int) -> str:
    """Translate a message with a plural form into the current request's language."""
    return catalogs().get(current_language.get()).ngettext(singular, plural, n)


# Paths answered to programs, not people in the console: their language comes from
# Accept-Language (English when it names no language we have), not from the console's default.
API_PREFIXES = ("/api/", "/hrls/", "/identity", "/snms/", "/metrics", "/healthz", "/readyz", "/v1/")


def render(value: Any) -> str:
    """A ``Message`` or ``TaihuError`` in the current request's language; anything else as text."""
    if isinstance(value, Message):
        return value.render(gettext_)
    if isinstance(value, TaihuError):
        return value.text(gettext_)
    return "" if value is None else str(value)


def accepted_language(header: str | None) -> str | None:
    """The first of our languages an ``Accept-Language`` header asks for (q-values honoured)."""
    if not header:
        return None
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                quality = float(params[2:])
            except ValueError:
                quality = 0.0
        ranked.append((-quality, position, tag.strip().lower()))
    for negative_quality, _, tag in sorted(ranked):
        if negative_quality >= 0:  # q=0 means "not this one"
            continue
        primary = tag.split("-")[0].split("_")[0]
        if primary == "zh":
            return "zh_CN"
        if primary == "en":
            return "en"
    return None


def pick_language(
    cookie: str | None, default: str, *, api: bool = False, accept: str | None = None
) -> str:
    """The language for a request: the user's choice (cookie), else a default.

    Console pages fall back on the node's default (zh_CN): the browser's Accept-Language is
    deliberately not consulted, a district console is Chinese first and English is an explicit
    choice that the cookie remembers. API answers go to programs: their ``Accept-Language``
    decides, English when it names neither of our languages.
    """
    if cookie in LANGUAGES:
        return cookie
    if api:
        return accepted_language(accept) or "en"
    return default
